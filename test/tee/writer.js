// writer.js SOCK NAME N [TS] — one writer for the llm-tee tests: N events
// over a unix socket, written in odd-sized pieces so that lines cross
// writes; sizes vary from a few bytes to ~3 KB. Exit 0 when all were sent.
'use strict';
const net = require('net');
const [sock, name, n, ts] = [process.argv[2], process.argv[3], +process.argv[4],
                             process.argv[5] || '2026-11-26T12:00:00.000000Z'];
const s = net.connect(sock);
let i = 0;
function more() {
  while (i < n) {
    let chunk = '';
    while (i < n && chunk.length < 65536) {
      const pad = 'x'.repeat((i * 7919 + name.length * 31) % 3000);
      chunk += JSON.stringify({ v: 1, event: 't', id: name, ts, seq: i, pad }) + '\n';
      i++;
    }
    let off = 0, ok = true;
    while (off < chunk.length) {
      const k = 1 + ((off * 31 + i) % 9000);
      ok = s.write(chunk.slice(off, off + k));
      off += k;
    }
    if (!ok) { s.once('drain', more); return; }
  }
  s.end();
}
s.on('connect', more);
s.on('error', e => { console.error(`writer ${name}: ${e.message}`); process.exit(1); });
