import { isNoData } from '../model/no-data.ts';
import { readCgroupSnapshot, sampleFromSnapshot } from '../sources/cgroup.ts';
import { readProcSample } from '../sources/proc.ts';
import type { MemorySample } from '../model/sample.ts';
import { errnoCode } from './cgroup-fs.ts';
import { processTree } from './process-tree.ts';
import type { MemoryReader, Reading } from './sampler.ts';

/** Reads a live cgroup directory each time; a cgroup that was removed is "gone" (no data). */
export function cgroupReader(dir: string, version: 1 | 2, description = `cgroup v${version} ${dir}`): MemoryReader {
  return {
    description,
    async read(): Promise<Reading> {
      try {
        const snapshot = await readCgroupSnapshot(dir, version);
        return { kind: 'data', sample: sampleFromSnapshot(snapshot), snapshot };
      } catch (e) {
        const cause = e instanceof Error && e.cause !== undefined ? e.cause : e;
        if (errnoCode(cause) === 'ENOENT' || errnoCode(e) === 'ENOENT') return { kind: 'noData', reason: `cgroup ${dir} is gone` };
        throw e;
      }
    },
  };
}

/**
 * Per-process fallback: /proc/PID/status (and smaps_rollup) of a process and its descendants,
 * summed (src/sources/proc.ts reads each). What it can tell: anonymous memory, the file pages and
 * shared memory the processes map. What it cannot: page cache of files written with write(2) and
 * not mapped, tmpfs files not mapped, kernel memory; so it tells whether the processes' own memory
 * grows, not page-cache growth from a leak by the kernel's accounting.
 */
export function processReader(rootPid: number, procRoot = '/proc'): MemoryReader {
  return {
    description: `process ${rootPid} and its children (per-process data from ${procRoot}/PID/status)`,
    async read(): Promise<Reading> {
      const timestampMs = Date.now();
      const pids = await processTree(rootPid, procRoot);
      const parts: MemorySample[] = [];
      for (const r of await Promise.all(pids.map((p) => readProcSample(p, { procRoot }).catch(() => undefined)))) {
        if (r !== undefined && !isNoData(r)) parts.push(r);
      }
      if (parts.length === 0) return { kind: 'noData', reason: `process ${rootPid} has exited` };
      const sum = (k: 'usageBytes' | 'rssBytes' | 'anonBytes' | 'fileBytes' | 'shmemBytes'): number | undefined =>
        parts.every((p) => p[k] !== undefined) ? parts.reduce((acc, p) => acc + p[k]!, 0) : undefined;
      const sample: MemorySample = { timestampMs, usageBytes: sum('usageBytes')! };
      for (const k of ['rssBytes', 'anonBytes', 'fileBytes', 'shmemBytes'] as const) {
        const v = sum(k);
        if (v !== undefined) sample[k] = v;
      }
      return { kind: 'data', sample };
    },
  };
}
