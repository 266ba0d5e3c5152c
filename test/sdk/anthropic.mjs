// anthropic.mjs — drive the relay with the official Anthropic SDK
// (npm "@anthropic-ai/sdk").
//
//   BASE_URL=http://127.0.0.1:PORT node test/sdk/anthropic.mjs CASE
//
// CASE: message, stream, tools, stream-tools, count, models.
// Environment: BASE_URL (required), API_KEY (default "test-key"),
// MODEL (default "mock-model").
//
// Output: one JSON object per line on stdout, always in this order, so that
// a test can compare lines:
//   message       {"content":…} {"stop_reason":…} {"usage":…}
//   stream        {"content":…} {"stop_reason":…} {"usage":…} {"text_deltas":N}
//                 (client.messages.stream() and finalMessage())
//   tools         {"content":…} {"tool_use":[{"name":…,"input":{…}},…]} {"stop_reason":…}
//   stream-tools  the same, from the streamed finalMessage()
//   count         {"input_tokens":N}                  (messages.countTokens)
//   models        {"models":["id",…]}
// "content" is the text blocks joined; "usage" is {input_tokens,
// output_tokens} as the response said them.
// Exit status: 0 ok; 1 on any error: the message on stderr and, for an
// error answer from the server, {"error":{"status":…,"type":…,"message":…}}
// on stdout; 100 usage.
import Anthropic from '@anthropic-ai/sdk';

const PROG = 'anthropic.mjs';
const MODEL = process.env.MODEL || 'mock-model';
const MAX_TOKENS = 256;
const MESSAGES = [{ role: 'user', content: 'Say hello.' }];
const TOOLS = [
  {
    name: 'get_weather',
    description: 'Current weather in a city',
    input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
  {
    name: 'get_time',
    description: 'Local time in a city',
    input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
];
const TOOL_MESSAGES = [{ role: 'user', content: 'What is the weather in Paris and the time in Tokyo?' }];

const print = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const text = (msg) => msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
const toolUse = (msg) => msg.content.filter((b) => b.type === 'tool_use').map((b) => ({ name: b.name, input: b.input }));
const usageOf = (u) => (u ? { input_tokens: u.input_tokens, output_tokens: u.output_tokens } : null);

async function message(client) {
  const m = await client.messages.create({ model: MODEL, max_tokens: MAX_TOKENS, messages: MESSAGES });
  print({ content: text(m) });
  print({ stop_reason: m.stop_reason });
  print({ usage: usageOf(m.usage) });
}

async function stream(client) {
  const s = client.messages.stream({ model: MODEL, max_tokens: MAX_TOKENS, messages: MESSAGES });
  let deltas = 0;
  s.on('text', () => { deltas++; });
  const m = await s.finalMessage();
  print({ content: text(m) });
  print({ stop_reason: m.stop_reason });
  print({ usage: usageOf(m.usage) });
  print({ text_deltas: deltas });
}

async function tools(client) {
  const m = await client.messages.create({ model: MODEL, max_tokens: MAX_TOKENS, messages: TOOL_MESSAGES, tools: TOOLS });
  print({ content: text(m) });
  print({ tool_use: toolUse(m) });
  print({ stop_reason: m.stop_reason });
}

async function streamTools(client) {
  const s = client.messages.stream({ model: MODEL, max_tokens: MAX_TOKENS, messages: TOOL_MESSAGES, tools: TOOLS });
  const m = await s.finalMessage();
  print({ content: text(m) });
  print({ tool_use: toolUse(m) });
  print({ stop_reason: m.stop_reason });
}

async function count(client) {
  const r = await client.messages.countTokens({ model: MODEL, messages: MESSAGES });
  print({ input_tokens: r.input_tokens });
}

async function models(client) {
  if (!client.models?.list) throw new Error('this SDK has no models.list');
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  print({ models: ids });
}

const CASES = { message, stream, tools, 'stream-tools': streamTools, count, models };

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
  const client = new Anthropic({
    apiKey: process.env.API_KEY || 'test-key',
    baseURL: process.env.BASE_URL,
    maxRetries: 0,
    timeout: 20000,
  });
  try {
    await CASES[name](client);
  } catch (e) {
    if (e instanceof Anthropic.APIError && e.status !== undefined) {
      // The body is {"type":"error","error":{"type":…,"message":…}}.
      const body = e.error && typeof e.error === 'object' ? (e.error.error ?? e.error) : {};
      print({ error: { status: e.status, type: body.type ?? null, message: body.message ?? e.message } });
    }
    process.stderr.write(`${PROG}: ${name}: ${e.message}\n`);
    process.exitCode = 1;
  }
}

main();
