#!/usr/bin/env node
// leaky-service.js: a service with a real leak. It "handles requests" and keeps every request
// body in a cache that is never pruned (a debugging aid someone forgot), so its anonymous memory
// grows for as long as it runs. The kernel cannot reclaim that: at a limit, it OOM-kills.
//
//   node examples/leaky-service.js [--rate 1m] [--size 16k] [--also-write]
//
//   --rate        bytes retained per second (k/m suffixes; default 1m)
//   --size        bytes per retained request body (default 16k)
//   --also-write  also append a log line per request to a file, so page cache grows beside the
//                 leak (the verdict must still be Leak)
//   --max         stop retaining after this many bytes, a safety cap (default 1g)
//
// Needs nothing but Node (18.15 or newer). Try it with:
//   ./bin/memaudit run --duration 60s -- node examples/leaky-service.js
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { setInterval } from 'node:timers';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1m' },
    size: { type: 'string', default: '16k' },
    'also-write': { type: 'boolean', default: false },
    max: { type: 'string', default: '1g' },
  },
});
const rate = bytes(values.rate, '--rate');
const size = bytes(values.size, '--size');
const max = bytes(values.max, '--max');

// The leak: request id -> body, never pruned.
const requestLog = new Map();
let nextId = 0;
let retained = 0;

function handleRequest() {
  // allocUnsafe + fill: the pages are written, so they are resident (calloc'd zero pages are not).
  const body = Buffer.allocUnsafe(size).fill(nextId & 0xff);
  requestLog.set(nextId++, body);
  retained += size;
}

let logFd;
let logDir;
if (values['also-write']) {
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'leaky-service-'));
  logFd = fs.openSync(path.join(logDir, 'requests.log'), 'a');
}
const logLine = Buffer.alloc(4096, 'r');

const start = Date.now();
setInterval(() => {
  const due = Math.floor((rate * (Date.now() - start)) / 1000);
  while (retained + size <= Math.min(due, max)) {
    handleRequest();
    if (logFd !== undefined) fs.writeSync(logFd, logLine);
  }
}, 100);

function stop() {
  if (logDir !== undefined) fs.rmSync(logDir, { recursive: true, force: true });
  logDir = undefined;
}
process.on('SIGTERM', () => { stop(); process.exit(0); });
process.on('SIGINT', () => { stop(); process.exit(0); });
process.on('exit', stop);
process.stdout.write(`leaky-service: retaining ${(rate / 1048576).toFixed(1)} MiB/s in ${size} B request bodies${logDir ? `, logging to ${logDir}` : ''}\n`);

function bytes(text, option) {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)i?b?$/i.exec(String(text).trim());
  if (!m) throw new Error(`${option}: expected bytes like 512k or 2m, got ${text}`);
  return Math.round(Number(m[1]) * { '': 1, k: 1024, m: 1048576, g: 1073741824 }[m[2].toLowerCase()]);
}
