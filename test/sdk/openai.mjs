// openai.mjs — drive the relay with the official OpenAI SDK (npm "openai").
//
//   BASE_URL=http://127.0.0.1:PORT/v1 node test/sdk/openai.mjs CASE
//
// CASE: chat, stream, stream-usage, tools, stream-tools, models.
// Environment: BASE_URL (required), API_KEY (default "test-key"),
// MODEL (default "mock-model").
//
// Output: one JSON object per line on stdout, always in this order, so that
// a test can compare lines:
//   chat          {"content":…} {"finish_reason":…} {"usage":…|null}
//   stream        {"content":…} {"finish_reason":…} {"usage":…|null} {"chunks":N}
//   stream-usage  the same, with stream_options.include_usage true
//   tools         {"tool_calls":[{"name":…,"arguments":{…}},…]} {"finish_reason":…}
//   stream-tools  the same, from streamed deltas accumulated by index
//   models        {"models":["id",…]}
// "usage" is {prompt_tokens, completion_tokens, total_tokens} as the response
// said them, or null when the SDK saw none; "chunks" counts the stream's
// chunks as the SDK delivered them.
// Exit status: 0 ok; 1 on any error: the message on stderr and, for an
// error answer from the server, {"error":{"status":…,"type":…,"message":…}}
// on stdout; 100 usage.
import OpenAI from 'openai';

const PROG = 'openai.mjs';
const MODEL = process.env.MODEL || 'mock-model';
const MESSAGES = [{ role: 'user', content: 'Say hello.' }];
const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather in a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' } },
        required: ['city'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'get_time',
      description: 'Local time in a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' } },
        required: ['city'],
      },
    },
  },
];
const TOOL_MESSAGES = [{ role: 'user', content: 'What is the weather in Paris and the time in Tokyo?' }];

const print = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

function usageOf(u) {
  if (!u) return null;
  return { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens };
}

function parseArgs(s) {
  try {
    return JSON.parse(s);
  } catch {
    return s; // not JSON: show what arrived
  }
}

async function chat(client) {
  const r = await client.chat.completions.create({ model: MODEL, messages: MESSAGES });
  const choice = r.choices[0];
  print({ content: choice.message.content });
  print({ finish_reason: choice.finish_reason });
  print({ usage: usageOf(r.usage) });
}

async function stream(client, includeUsage) {
  const params = { model: MODEL, messages: MESSAGES, stream: true };
  if (includeUsage) params.stream_options = { include_usage: true };
  const s = await client.chat.completions.create(params);
  let content = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of s) {
    chunks++;
    for (const c of chunk.choices ?? []) {
      if (c.delta?.content) content += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  print({ content });
  print({ finish_reason: finish });
  print({ usage: usageOf(usage) });
  print({ chunks });
}

const toolCalls = (calls) => calls.map((c) => ({ name: c.function.name, arguments: parseArgs(c.function.arguments) }));

async function tools(client) {
  const r = await client.chat.completions.create({ model: MODEL, messages: TOOL_MESSAGES, tools: TOOLS });
  const choice = r.choices[0];
  print({ tool_calls: toolCalls(choice.message.tool_calls ?? []) });
  print({ finish_reason: choice.finish_reason });
}

async function streamTools(client) {
  const s = await client.chat.completions.create({ model: MODEL, messages: TOOL_MESSAGES, tools: TOOLS, stream: true });
  const calls = [];
  let finish = null;
  for await (const chunk of s) {
    for (const c of chunk.choices ?? []) {
      for (const d of c.delta?.tool_calls ?? []) {
        const call = (calls[d.index] ??= { id: '', function: { name: '', arguments: '' } });
        if (d.id) call.id = d.id;
        if (d.function?.name) call.function.name += d.function.name;
        if (d.function?.arguments) call.function.arguments += d.function.arguments;
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  print({ tool_calls: toolCalls(calls.filter(Boolean)) });
  print({ finish_reason: finish });
}

async function models(client) {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  print({ models: ids });
}

const CASES = {
  chat,
  stream: (c) => stream(c, false),
  'stream-usage': (c) => stream(c, true),
  tools,
  'stream-tools': streamTools,
  models,
};

async function main() {
  const name = process.argv[2];
  if (process.argv.length !== 3 || !CASES[name]) {
    process.stderr.write(`usage: ${PROG} ${Object.keys(CASES).join('|')}\n`);
    process.exit(100);
  }
  if (!process.env.BASE_URL) {
    process.stderr.write(`${PROG}: fatal: BASE_URL is not set\n`);
    process.exit(100);
  }
  const client = new OpenAI({
    apiKey: process.env.API_KEY || 'test-key',
    baseURL: process.env.BASE_URL,
    maxRetries: 0,
    timeout: 20000,
  });
  try {
    await CASES[name](client);
  } catch (e) {
    if (e instanceof OpenAI.APIError && e.status !== undefined) {
      const body = e.error && typeof e.error === 'object' ? e.error : {};
      print({ error: { status: e.status, type: body.type ?? null, message: body.message ?? e.message } });
    }
    process.stderr.write(`${PROG}: ${name}: ${e.message}\n`);
    process.exitCode = 1;
  }
}

main();
