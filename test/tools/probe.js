#!/usr/bin/env node
// probe.js — a raw HTTP/1.1 client for hostile-input tests. Sends bytes
// exactly as given and reports what came back.
//   probe.js PORT REQUEST [--trickle MS] [--timeout MS] [--hold MS]
// REQUEST is text with escapes \r \n \t \xHH. --trickle sends one byte every
// MS ms (slowloris). --timeout gives up reading after MS ms. --hold keeps the
// connection open MS ms after sending without reading (a client that never
// reads), then reads.
// Prints one JSON line: {"statuses":[…], "closed":bool, "reset":bool,
// "bytes":N, "head":"first response head", "ms":elapsed, "sent":N}
'use strict';
const net = require('net');
const args = process.argv.slice(2);
if (args.length < 2) { console.error('usage: probe.js PORT REQUEST [--trickle MS] [--timeout MS] [--hold MS]'); process.exit(100); }
const port = +args[0];
const raw = args[1].replace(/\\(r|n|t|x([0-9a-fA-F]{2})|\\)/g, (m, c, h) =>
  c === 'r' ? '\r' : c === 'n' ? '\n' : c === 't' ? '\t' : c === '\\' ? '\\' : String.fromCharCode(parseInt(h, 16)));
const data = Buffer.from(raw, 'latin1');
let trickle = 0, timeout = 5000, hold = 0;
for (let i = 2; i < args.length; i += 2) {
  if (args[i] === '--trickle') trickle = +args[i + 1];
  else if (args[i] === '--timeout') timeout = +args[i + 1];
  else if (args[i] === '--hold') hold = +args[i + 1];
}
const t0 = Date.now();
let got = Buffer.alloc(0), closed = false, reset = false, sent = 0, done = false;
const s = net.connect(port, '127.0.0.1');
function finish() {
  if (done) return; done = true;
  const text = got.toString('latin1');
  const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map(m => +m[1]);
  const head = text.split('\r\n\r\n')[0];
  process.stdout.write(JSON.stringify({ statuses, closed, reset, bytes: got.length, head, ms: Date.now() - t0, sent }) + '\n');
  s.destroy();
  process.exit(0);
}
s.on('data', d => { got = Buffer.concat([got, d]); });
s.on('end', () => { closed = true; finish(); });
s.on('close', () => { closed = true; finish(); });
s.on('error', e => { if (e.code === 'ECONNRESET' || e.code === 'EPIPE') { reset = true; closed = true; } finish(); });
s.on('connect', () => {
  if (hold) s.pause();
  if (!trickle) { s.write(data); sent = data.length; }
  else {
    let i = 0;
    const tick = () => {
      if (done || i >= data.length) return;
      s.write(data.subarray(i, i + 1)); i++; sent = i;
      setTimeout(tick, trickle);
    };
    tick();
  }
  if (hold) setTimeout(() => s.resume(), hold);
  setTimeout(finish, timeout + hold);
});
