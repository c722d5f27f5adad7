#!/usr/bin/env node
// tmpfs-writer.js: writes files to a tmpfs (default /dev/shm) and keeps them, as a program that
// spools to /dev/shm or a memory-backed emptyDir does. The kernel counts tmpfs pages as "cache",
// so this looks like harmless page cache, but it is shared memory that cannot be reclaimed
// (without swap): a leak, of the shmem kind.
//
//   node examples/tmpfs-writer.js [--rate 1m] [--dir /dev/shm] [--file-size 256k] [--keep]
//
//   --rate       bytes written (and kept) per second (k/m suffixes; default 1m)
//   --dir        tmpfs directory (default /dev/shm); files go to DIR/tmpfs-writer-PID/
//   --file-size  bytes per file (default 256k)
//   --max        stop writing after this many bytes, a safety cap (default 1g)
//   --keep       leave the files behind on exit (default: removed on exit and on SIGTERM/SIGINT)
//
// Needs nothing but Node (18.15 or newer). Try it with:
//   ./bin/memaudit run --duration 60s -- node examples/tmpfs-writer.js
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { clearInterval, setInterval } from 'node:timers';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1m' },
    dir: { type: 'string', default: '/dev/shm' },
    'file-size': { type: 'string', default: '256k' },
    max: { type: 'string', default: '1g' },
    keep: { type: 'boolean', default: false },
  },
});
const rate = bytes(values.rate, '--rate');
const fileSize = bytes(values['file-size'], '--file-size');
const max = bytes(values.max, '--max');
const TMPFS_MAGIC = 0x01021994;
if (fs.statfsSync(values.dir).type !== TMPFS_MAGIC) {
  process.stderr.write(`tmpfs-writer: ${values.dir} is not a tmpfs; give --dir a tmpfs directory\n`);
  process.exit(2);
}
const out = path.join(values.dir, `tmpfs-writer-${process.pid}`);
fs.mkdirSync(out, { recursive: true });
const content = Buffer.alloc(fileSize, 'shm-');

let written = 0;
let seq = 0;
const start = Date.now();
const timer = setInterval(() => {
  const due = Math.floor((rate * (Date.now() - start)) / 1000);
  while (written + fileSize <= Math.min(due, max)) {
    fs.writeFileSync(path.join(out, `blob-${String(seq++).padStart(6, '0')}`), content);
    written += fileSize;
  }
}, 100);

let stopped = false;
function stop() {
  if (stopped) return;
  stopped = true;
  clearInterval(timer);
  if (!values.keep) fs.rmSync(out, { recursive: true, force: true });
  process.stdout.write(`tmpfs-writer: wrote ${(written / 1048576).toFixed(1)} MiB to ${out}${values.keep ? '' : ' (removed)'}\n`);
}
process.on('SIGTERM', () => { stop(); process.exit(0); });
process.on('SIGINT', () => { stop(); process.exit(0); });
process.on('exit', stop);
process.stdout.write(`tmpfs-writer: keeping ${(rate / 1048576).toFixed(1)} MiB/s of files in ${out}\n`);

function bytes(text, option) {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)i?b?$/i.exec(String(text).trim());
  if (!m) throw new Error(`${option}: expected bytes like 512k or 2m, got ${text}`);
  return Math.round(Number(m[1]) * { '': 1, k: 1024, m: 1048576, g: 1073741824 }[m[2].toLowerCase()]);
}
