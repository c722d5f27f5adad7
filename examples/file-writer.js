#!/usr/bin/env node
// file-writer.js: a service that saves every message it receives to a file. This is the classic
// false alarm: its cgroup's memory usage climbs steadily (the page cache of the file it writes),
// while the program itself allocates nothing new. The kernel reclaims that cache at the limit.
//
//   node examples/file-writer.js [--rate 2m] [--dir DIR] [--port 8080] [--keep]
//
//   --rate   bytes of messages saved per second (k/m suffixes; default 2m); generated in-process,
//            so no load generator is needed
//   --dir    where messages.log goes (default: a disk-backed temp dir; never tmpfs, which would
//            make this a shared-memory writer instead)
//   --port   also accept messages over HTTP: curl --data-binary @file http://127.0.0.1:PORT/msg
//   --max    stop generating messages after this many bytes, a safety cap (default 4g)
//   --keep   leave the file behind on exit (default: removed on exit and on SIGTERM/SIGINT)
//
// Needs nothing but Node (18.15 or newer). Try it with:
//   ./bin/memaudit run --duration 60s -- node examples/file-writer.js
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { clearInterval, setInterval } from 'node:timers';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '2m' },
    dir: { type: 'string' },
    port: { type: 'string' },
    keep: { type: 'boolean', default: false },
    max: { type: 'string', default: '4g' },
  },
});
const rate = bytes(values.rate, '--rate');
const max = bytes(values.max, '--max');
const TMPFS_MAGIC = 0x01021994;
const isTmpfs = (dir) => {
  try {
    return fs.statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
};
const base = values.dir ?? (isTmpfs(os.tmpdir()) ? path.join(os.homedir(), '.cache', 'memaudit-examples') : os.tmpdir());
fs.mkdirSync(base, { recursive: true });
const dir = values.dir ?? fs.mkdtempSync(path.join(base, 'file-writer-'));
const file = path.join(dir, 'messages.log');
const fd = fs.openSync(file, 'a');

// One preallocated message, rewritten in place: the program's own memory stays flat, only the
// page cache of messages.log grows.
const message = Buffer.alloc(4096, 'm');
message[message.length - 1] = 0x0a;
let saved = 0;
function save(buf) {
  fs.writeSync(fd, buf);
  saved += buf.length;
}

const TICK_MS = 100;
const start = Date.now();
let due = 0;
const timer = setInterval(() => {
  due = Math.min(max, Math.floor((rate * (Date.now() - start)) / 1000));
  while (saved + message.length <= due) {
    message.write(String(saved).padStart(16, '0'), 0, 'latin1');
    save(message);
  }
}, TICK_MS);

let server;
if (values.port !== undefined) {
  server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405).end('POST a message body\n');
      return;
    }
    req.on('data', (chunk) => save(chunk));
    req.on('end', () => res.writeHead(204).end());
  });
  server.listen(Number(values.port), '127.0.0.1');
}

let stopped = false;
function stop() {
  if (stopped) return;
  stopped = true;
  clearInterval(timer);
  server?.close();
  fs.closeSync(fd);
  if (!values.keep) {
    fs.rmSync(values.dir === undefined ? dir : file, { recursive: true, force: true });
  }
  process.stdout.write(`file-writer: saved ${(saved / 1048576).toFixed(1)} MiB to ${file}${values.keep ? '' : ' (removed)'}\n`);
}
process.on('SIGTERM', () => { stop(); process.exit(0); });
process.on('SIGINT', () => { stop(); process.exit(0); });
process.on('exit', stop);
process.stdout.write(`file-writer: saving ${(rate / 1048576).toFixed(1)} MiB/s of messages to ${file}${values.port ? `, listening on 127.0.0.1:${values.port}` : ''}\n`);

function bytes(text, option) {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)i?b?$/i.exec(String(text).trim());
  if (!m) throw new Error(`${option}: expected bytes like 512k or 2m, got ${text}`);
  return Math.round(Number(m[1]) * { '': 1, k: 1024, m: 1048576, g: 1073741824 }[m[2].toLowerCase()]);
}
