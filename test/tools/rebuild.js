#!/usr/bin/env node
// rebuild.js — write to stdout the exact bytes of one exchange's response
// body (its chunk events in seq order) or, with --request, its request body,
// from a capture file. Usage: rebuild.js [--request] CAPTURE [ID]
// Without ID: the last exchange in the file. With --client: the bytes the
// client received (withheld chunks left out; for a translated exchange its
// "side":"client" chunks); without: the bytes the upstream sent.
'use strict';
const fs = require('fs');
const args = process.argv.slice(2);
let wantRequest = false, clientView = false;
while (args.length && args[0].startsWith('--')) {
  const a = args.shift();
  if (a === '--request') wantRequest = true;
  else if (a === '--client') clientView = true;
  else { console.error('rebuild: unknown option ' + a); process.exit(100); }
}
if (args.length < 1) { console.error('usage: rebuild.js [--request] CAPTURE [ID]'); process.exit(100); }
const lines = fs.readFileSync(args[0], 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l));
let id = args[1];
if (!id) { const reqs = lines.filter(e => e.event === 'request'); id = reqs.length ? reqs[reqs.length - 1].id : ''; }
const bytes = (s, enc) => enc === 'base64' ? Buffer.from(s, 'base64') : Buffer.from(s, 'utf8');
let out;
if (wantRequest) {
  const r = lines.find(e => e.id === id && e.event === 'request');
  if (!r) { console.error('rebuild: no request ' + id); process.exit(1); }
  out = bytes(r.body, r.body_encoding);
} else {
  const chunks = lines.filter(e => e.id === id && e.event === 'chunk').sort((a, b) => a.seq - b.seq);
  chunks.forEach((c, i) => { if (c.seq !== i) { console.error('rebuild: gap at seq ' + i); process.exit(1); } });
  const translated = chunks.some(c => c.side === 'client');
  const keep = c => clientView ? (translated ? c.side === 'client' : !c.withheld) : c.side !== 'client';
  out = Buffer.concat(chunks.filter(keep).map(c => bytes(c.data, c.data_encoding)));
}
process.stdout.write(out);
