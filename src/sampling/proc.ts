// Per-process fallback: /proc/PID/status (and smaps_rollup) of a process and its descendants,
// summed. What it can tell: anonymous memory, the file pages and shared memory the processes map.
// What it cannot: page cache of files written with write(2) and not mapped, tmpfs files not
// mapped, kernel memory; so it tells whether the processes' own memory grows, not page-cache
// growth from a leak by the kernel's accounting.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MemorySample } from '../model/sample.ts';
import { isNoData } from '../model/no-data.ts';
import type { NoData } from '../model/no-data.ts';
import { noData } from '../model/no-data.ts';
import { parseProcStatus, parseSmapsRollup, sampleFromProc } from '../sources/proc.ts';
import { data, gone } from './reader.ts';
import type { MemoryReader, Read, Reading } from './reader.ts';

export function processReader(rootPid: number, procRoot = '/proc'): MemoryReader {
  return {
    description: `process ${rootPid} and its children (per-process data from ${procRoot}/PID/status)`,
    async read(): Promise<Read<Reading>> {
      const timestampMs = Date.now();
      const pids = await processTree(rootPid, procRoot);
      const parts: MemorySample[] = [];
      for (const r of await Promise.all(pids.map((p) => readProcSample(p, { procRoot }).catch(() => undefined)))) {
        if (r !== undefined && !isNoData(r)) parts.push(r);
      }
      if (parts.length === 0) return gone(`process ${rootPid} has exited`);
      const sum = (k: 'usageBytes' | 'rssBytes' | 'anonBytes' | 'fileBytes' | 'shmemBytes'): number | undefined =>
        parts.every((p) => p[k] !== undefined) ? parts.reduce((acc, p) => acc + p[k]!, 0) : undefined;
      const sample: MemorySample = { timestampMs, usageBytes: sum('usageBytes')! };
      for (const k of ['rssBytes', 'anonBytes', 'fileBytes', 'shmemBytes'] as const) {
        const v = sum(k);
        if (v !== undefined) sample[k] = v;
      }
      return data({ sample });
    },
  };
}

interface ProcReadOptions {
  /** Root of the proc tree; tests point it at a fixture tree. Default /proc. */
  procRoot?: string;
  now?: () => number;
}

/**
 * Reads one sample of a process. A process that has exited is NoData, not an error (it may be
 * restarting). smaps_rollup is optional: unreadable for other users' processes without
 * CAP_SYS_PTRACE, absent before Linux 4.14.
 */
export async function readProcSample(pid: number | 'self', options: ProcReadOptions = {}): Promise<MemorySample | NoData> {
  const dir = path.join(options.procRoot ?? '/proc', String(pid));
  const now = options.now ?? Date.now;
  let statusText: string;
  try {
    statusText = await readFile(path.join(dir, 'status'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') return noData(`process ${pid} is not running (${dir} is gone)`);
    throw e;
  }
  const timestampMs = now();
  const smapsPath = path.join(dir, 'smaps_rollup');
  const smapsText = await readFile(smapsPath, 'utf8').catch(() => undefined);
  const status = parseProcStatus(statusText, path.join(dir, 'status'));
  const smaps = smapsText === undefined || smapsText === '' ? undefined : parseSmapsRollup(smapsText, smapsPath);
  return sampleFromProc(status, smaps, timestampMs);
}


/**
 * The processes of a tree: a pid and all its descendants, from the ppid field of /proc/PID/stat.
 * The per-process fallback sums the tree, because a command started as `sh -c ...` or a
 * supervisor keeps its memory in children.
 */
export async function processTree(rootPid: number, procRoot = '/proc'): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        const pid = Number(e);
        const ppid = await parentPid(pid, procRoot);
        if (ppid === undefined) return;
        const list = children.get(ppid);
        if (list) list.push(pid);
        else children.set(ppid, [pid]);
      }),
  );
  const tree: number[] = [];
  const alive = entries.includes(String(rootPid));
  const queue = alive ? [rootPid] : [];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    for (const c of children.get(pid) ?? []) queue.push(c);
  }
  return tree;
}

async function parentPid(pid: number, procRoot: string): Promise<number | undefined> {
  try {
    const stat = await readFile(path.join(procRoot, String(pid), 'stat'), 'utf8');
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    return Number.isFinite(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}
