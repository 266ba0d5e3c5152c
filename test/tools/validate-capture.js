#!/usr/bin/env node
// validate-capture — check a capture stream (llm-capture(5)) line by line.
//
//   node test/tools/validate-capture.js [FILE...]     (no FILE, or "-": stdin)
//
// Every line must be one JSON object, valid UTF-8, matching
// lib/capture.schema.json (Ajv, JSON Schema draft 2020-12, with date-time).
// The files are read as one stream, in the order given (an exchange may run
// on from one file into the next), and these rules across events are checked
// for the kinds request, response, chunk and end (other kinds are skipped):
//   - an exchange id has exactly one request event, and it comes first;
//   - at most one response, and it comes before the chunks;
//   - chunk seq numbers run 0, 1, 2, ... without gaps, in file order (a gap
//     is accepted only when the exchange's end counts at least as many
//     capture_dropped events as there are missing numbers);
//   - at most one end, and nothing of the exchange after it;
//   - the counts agree: the request's body holds body_size bytes (fewer when
//     body_truncated); end.bytes.request equals body_size; end.chunks equals
//     the chunk events seen; and, for a single-attempt exchange with nothing
//     dropped, the chunks' data adds up to end.bytes.upstream_response (an
//     upstream response) or end.bytes.response (a response of the relay's).
// A missing end is not an error (the exchange may still be running).
//
// Output: "validate-capture: N events, M exchanges ok" on stdout, or one
// line per error, "FILE:LINE: message", on stderr (stdin is named "-").
// Exit status: 0 valid, 1 invalid, 100 usage, 111 unable to read or to load
// the schema or Ajv. Lines may be of any length; the last one needs no
// newline. Ajv and ajv-formats come from test/sdk/node_modules (npm ci there).
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const PROG = 'validate-capture';
const ROOT = path.resolve(__dirname, '..', '..');
const SCHEMA = path.join(ROOT, 'lib', 'capture.schema.json');
const KNOWN = new Set(['request', 'response', 'chunk', 'end']);
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i; // enough to follow an exchange

function fatal(code, msg) {
  process.stderr.write(`${PROG}: fatal: ${msg}\n`);
  process.exit(code);
}

function usage() {
  process.stderr.write(`usage: ${PROG} [FILE...]\n`);
  process.exit(100);
}

// Ajv lives in test/sdk/node_modules; fall back to the usual search path.
function load(name) {
  const tries = [createRequire(path.join(ROOT, 'test', 'sdk', 'package.json')), require];
  let first;
  for (const req of tries) {
    try {
      return req(name);
    } catch (e) {
      if (!first) first = e;
    }
  }
  fatal(111, `unable to load ${name}: ${first.message.split('\n')[0]} (run npm ci in test/sdk)`);
}

function compileSchema() {
  const Ajv = load('ajv/dist/2020');
  const addFormats = load('ajv-formats');
  let schema;
  try {
    schema = JSON.parse(fs.readFileSync(SCHEMA, 'utf8'));
  } catch (e) {
    fatal(111, `unable to read ${SCHEMA}: ${e.message}`);
  }
  const ajv = new (Ajv.default || Ajv)({ strict: true, allErrors: true });
  (addFormats.default || addFormats)(ajv);
  return ajv.compile(schema);
}

// Ajv's errors as short messages; the branches of an anyOf are folded into
// one message, and the "must match then schema" echo of if/then dropped.
function schemaMessages(errors) {
  const used = new Set();
  const out = [];
  const describe = (e) => {
    let m = `${e.instancePath || '/'} ${e.message}`;
    if (e.keyword === 'type' && Array.isArray(e.params.type)) m = `${e.instancePath || '/'} must be ${e.params.type.join(' or ')}`;
    else if (e.keyword === 'enum') m += `: ${e.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    else if (e.keyword === 'const') m += `: ${JSON.stringify(e.params.allowedValue)}`;
    return m;
  };
  // Ajv reports the failed branches of an anyOf just before the anyOf itself.
  const anyOf = new Map();
  errors.forEach((e, i) => {
    if (e.keyword !== 'anyOf') return;
    const subs = [];
    for (let j = i - 1; j >= 0 && !used.has(errors[j]) &&
         errors[j].instancePath.startsWith(e.instancePath); j--) subs.unshift(errors[j]);
    subs.forEach((s) => used.add(s));
    const what = subs.map((s) => describe(s).slice((s.instancePath || '/').length + 1).replace(/^must be /, ''));
    anyOf.set(e, `${e.instancePath || '/'} must be ${what.join(' or ') || 'one of the allowed forms'}`);
  });
  for (const e of errors) {
    if (e.keyword === 'if' || (used.has(e) && !anyOf.has(e))) continue;
    const m = anyOf.get(e) || describe(e);
    if (!out.includes(m)) out.push(m);
  }
  return out;
}

function dataBytes(s, encoding) {
  if (typeof s !== 'string') return 0;
  return encoding === 'base64' ? Buffer.from(s, 'base64').length : Buffer.byteLength(s, 'utf8');
}

const isInt = (x) => Number.isInteger(x);

class Checker {
  constructor(validate) {
    this.validate = validate;
    this.events = 0;
    this.exchanges = new Map();
    this.errors = [];        // {fi, line, msg}
    this.fileIndex = -1;
    this.files = [];
  }

  error(fi, line, msg) {
    this.errors.push({ fi, line, msg });
  }

  where(x) {
    return `${this.files[x.fi]}:${x.line}`;
  }

  startFile(name) {
    this.files.push(name);
    this.fileIndex = this.files.length - 1;
  }

  line(buf, lineno) {
    const fi = this.fileIndex;
    this.events++;
    if (buf.length === 0) return this.error(fi, lineno, 'empty line');
    let text;
    try {
      text = UTF8.decode(buf);
    } catch (e) {
      return this.error(fi, lineno, 'not valid UTF-8');
    }
    let ev;
    try {
      ev = JSON.parse(text);
    } catch (e) {
      return this.error(fi, lineno, `not JSON: ${e.message}`);
    }
    const kind = ev && typeof ev === 'object' && typeof ev.event === 'string' ? ev.event : null;
    if (!this.validate(ev)) {
      for (const m of schemaMessages(this.validate.errors))
        this.error(fi, lineno, kind && KNOWN.has(kind) ? `${kind}: ${m}` : m);
    }
    if (!kind || !KNOWN.has(kind) || typeof ev.id !== 'string' || !UUID.test(ev.id)) return;
    this.cross(ev, kind, fi, lineno);
  }

  cross(ev, kind, fi, line) {
    const here = { fi, line };
    let x = this.exchanges.get(ev.id);
    if (!x) {
      x = {
        first: here, orphan: kind !== 'request', request: null, response: null, end: null,
        nextSeq: 0, chunks: 0, chunkBytes: 0, gaps: [],
      };
      this.exchanges.set(ev.id, x);
      if (x.orphan) return this.error(fi, line, `${kind} event of ${ev.id} before its request`);
    }
    if (x.orphan) return; // reported once; its order cannot be judged
    if (x.end && kind !== 'end')
      return this.error(fi, line, `${kind} event of ${ev.id} after its end (${this.where(x.end.at)})`);

    switch (kind) {
      case 'request':
        if (x.request) return this.error(fi, line, `second request event of ${ev.id} (first at ${this.where(x.request.at)})`);
        x.request = { at: here, body_size: ev.body_size };
        if (typeof ev.body === 'string' && isInt(ev.body_size)) {
          const n = dataBytes(ev.body, ev.body_encoding);
          if (ev.body_truncated === true && n >= ev.body_size)
            this.error(fi, line, `request: body_truncated but body has ${n} bytes of body_size ${ev.body_size}`);
          else if (ev.body_truncated === false && n !== ev.body_size)
            this.error(fi, line, `request: body has ${n} bytes but body_size is ${ev.body_size}`);
        }
        break;
      case 'response':
        if (x.response) return this.error(fi, line, `second response event of ${ev.id} (first at ${this.where(x.response.at)})`);
        if (x.chunks > 0) this.error(fi, line, `response event of ${ev.id} after its chunk events`);
        x.response = { at: here, source: ev.source };
        break;
      case 'chunk': {
        x.chunks++;
        if (ev.side !== 'client') x.chunkBytes += dataBytes(ev.data, ev.data_encoding);
        if (!isInt(ev.seq)) break;
        if (ev.seq === x.nextSeq) {
          x.nextSeq++;
        } else if (ev.seq > x.nextSeq) {
          x.gaps.push({ fi, line, missing: ev.seq - x.nextSeq,
                        msg: `chunk seq ${ev.seq} of ${ev.id}, expected ${x.nextSeq} (gap)` });
          x.nextSeq = ev.seq + 1;
        } else {
          this.error(fi, line, `chunk seq ${ev.seq} of ${ev.id}, expected ${x.nextSeq} (out of order or repeated)`);
        }
        break;
      }
      case 'end': {
        if (x.end) return this.error(fi, line, `second end event of ${ev.id} (first at ${this.where(x.end.at)})`);
        x.end = { at: here };
        const dropped = isInt(ev.capture_dropped) ? ev.capture_dropped : 0;
        const missing = x.gaps.reduce((a, g) => a + g.missing, 0);
        if (missing > dropped) for (const g of x.gaps) this.error(g.fi, g.line, g.msg);
        x.gaps = [];
        const bytes = ev.bytes && typeof ev.bytes === 'object' ? ev.bytes : {};
        if (ev.outcome === 'ok' && isInt(bytes.request) && isInt(x.request.body_size) && bytes.request !== x.request.body_size)
          this.error(fi, line, `end: bytes.request ${bytes.request} but the request's body_size is ${x.request.body_size}`);
        if (dropped > 0) break;
        if (isInt(ev.chunks) && ev.chunks !== x.chunks)
          this.error(fi, line, `end: chunks ${ev.chunks} but ${x.chunks} chunk events of ${ev.id} were seen`);
        if (ev.attempts === 1 && x.response && ev.capture_truncated !== true) {
          const key = x.response.source === 'relay' ? 'response' : x.response.source === 'upstream' ? 'upstream_response' : null;
          if (key && isInt(bytes[key]) && bytes[key] !== x.chunkBytes)
            this.error(fi, line, `end: bytes.${key} ${bytes[key]} but the chunks of ${ev.id} hold ${x.chunkBytes} bytes`);
        }
        break;
      }
    }
  }

  finish() {
    for (const x of this.exchanges.values())
      for (const g of x.gaps) this.error(g.fi, g.line, g.msg);
    this.errors.sort((a, b) => a.fi - b.fi || a.line - b.line);
  }
}

// Split a byte stream on LF into Buffers, whatever the line length; the last
// line needs no LF. Lines are not decoded here, so bad UTF-8 is caught per line.
async function eachLine(stream, fn) {
  let pieces = [];
  let lineno = 0;
  for await (const chunk of stream) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        if (start < chunk.length) pieces.push(chunk.subarray(start));
        break;
      }
      const part = chunk.subarray(start, nl);
      let line = part;
      if (pieces.length) {
        pieces.push(part);
        line = Buffer.concat(pieces);
        pieces = [];
      }
      fn(line, ++lineno);
      start = nl + 1;
    }
  }
  if (pieces.length) fn(Buffer.concat(pieces), ++lineno);
}

async function main(argv) {
  let files = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { files.push(...argv.slice(i + 1)); break; }
    if (a.length > 1 && a.startsWith('-')) usage();
    files.push(a);
  }
  if (files.length === 0) files = ['-'];

  const checker = new Checker(compileSchema());
  for (const f of files) {
    checker.startFile(f);
    const stream = f === '-' ? process.stdin : fs.createReadStream(f, { highWaterMark: 1 << 20 });
    try {
      await eachLine(stream, (buf, n) => checker.line(buf, n));
    } catch (e) {
      fatal(111, `unable to read ${f}: ${e.message}`);
    }
  }
  checker.finish();

  process.stdout.on('error', () => {});
  if (checker.errors.length === 0) {
    process.stdout.write(`${PROG}: ${checker.events} events, ${checker.exchanges.size} exchanges ok\n`);
    return 0;
  }
  process.stderr.write(checker.errors.map((e) => `${checker.files[e.fi]}:${e.line}: ${e.msg}\n`).join(''));
  return 1;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; },
                                 (e) => fatal(111, e.stack || String(e)));
