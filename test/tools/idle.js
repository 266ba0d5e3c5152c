#!/usr/bin/env node
// idle.js — open N TCP connections to 127.0.0.1:PORT and hold them idle for
// SECONDS (or until killed). Prints "open K" once K connections are up, then
// "closed-by-server M" at the end. Usage: idle.js PORT N SECONDS
'use strict';
const net = require('net');
const [port, n, secs] = process.argv.slice(2).map(Number);
if (!port || !n) { console.error('usage: idle.js PORT N SECONDS'); process.exit(100); }
let open = 0, closedByServer = 0, reported = false;
const socks = [];
for (let i = 0; i < n; i++) {
  const s = net.connect(port, '127.0.0.1');
  s.on('connect', () => { open++; if (open === n && !reported) { reported = true; console.log('open ' + open); } });
  s.on('end', () => closedByServer++);
  s.on('error', () => {});
  socks.push(s);
}
setTimeout(() => {
  if (!reported) console.log('open ' + open);
  console.log('closed-by-server ' + closedByServer);
  socks.forEach(s => s.destroy());
  process.exit(0);
}, (secs || 10) * 1000);
