// Reads a live cgroup directory (v1 memory controller dir or v2 unified dir) once per call. A
// cgroup that was removed is gone; the snapshot rides along so `--record` writes exactly what the
// kernel printed.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode, InputError } from '../errors.ts';
import { parseBytes, parseLimit, parseMemoryEvents, parseMemoryStat, parsePressure, sampleFromSnapshot } from '../sources/cgroup.ts';
import type { CgroupSnapshot } from '../sources/cgroup.ts';
import { data, gone } from './reader.ts';
import type { MemoryReader, Read, Reading } from './reader.ts';

export function cgroupReader(dir: string, version: 1 | 2, description = `cgroup v${version} ${dir}`): MemoryReader<CgroupSnapshot> {
  return {
    description,
    async read(): Promise<Read<Reading<CgroupSnapshot>>> {
      try {
        const snapshot = await readCgroupSnapshot(dir, version);
        return data({ sample: sampleFromSnapshot(snapshot), raw: snapshot });
      } catch (e) {
        const cause = e instanceof Error && e.cause !== undefined ? e.cause : e;
        if (errnoCode(cause) === 'ENOENT' || errnoCode(e) === 'ENOENT') return gone(`cgroup ${dir} is gone`);
        throw e;
      }
    },
  };
}

/** Which cgroup version a directory belongs to, judged by the files it holds. */
async function detectCgroupVersion(dir: string): Promise<1 | 2> {
  for (const [file, version] of [
    ['memory.current', 2],
    ['memory.usage_in_bytes', 1],
  ] as const) {
    try {
      await readFile(path.join(dir, file), 'utf8');
      return version;
    } catch {
      // next
    }
  }
  throw new InputError(dir, 'not a memory cgroup directory: neither memory.current (v2) nor memory.usage_in_bytes (v1) is readable');
}

/** One snapshot of a live cgroup directory; the version is detected when not given. */
export async function readCgroupSnapshot(dir: string, version?: 1 | 2, now: () => number = Date.now): Promise<CgroupSnapshot> {
  const v = version ?? (await detectCgroupVersion(dir));
  const read = (f: string) => readFile(path.join(dir, f), 'utf8');
  const timestampMs = now();
  // The reclaim counters are optional: memory.pressure needs PSI (CONFIG_PSI, psi=1), and a
  // kernel or a delegation may hide any of them. Their absence is "unknown", never an error.
  const optional = (f: string) => read(f).catch(() => undefined);
  if (v === 2) {
    const [stat, current, max, events, pressure] = await Promise.all([read('memory.stat'), read('memory.current'), read('memory.max'), optional('memory.events'), optional('memory.pressure')]);
    const snap: CgroupSnapshot = {
      timestampMs,
      version: 2,
      stat: parseMemoryStat(stat, path.join(dir, 'memory.stat')),
      usageBytes: parseBytes(current, path.join(dir, 'memory.current')),
      limitBytes: parseLimit(max, path.join(dir, 'memory.max')),
    };
    if (events !== undefined) snap.events = parseMemoryEvents(events, path.join(dir, 'memory.events'));
    if (pressure !== undefined && pressure.trim() !== '') snap.pressure = parsePressure(pressure, path.join(dir, 'memory.pressure'));
    return snap;
  }
  const [stat, usage, limit, kmem, failcnt] = await Promise.all([read('memory.stat'), read('memory.usage_in_bytes'), read('memory.limit_in_bytes'), optional('memory.kmem.usage_in_bytes'), optional('memory.failcnt')]);
  const snap: CgroupSnapshot = {
    timestampMs,
    version: 1,
    stat: parseMemoryStat(stat, path.join(dir, 'memory.stat')),
    usageBytes: parseBytes(usage, path.join(dir, 'memory.usage_in_bytes')),
    limitBytes: parseLimit(limit, path.join(dir, 'memory.limit_in_bytes')),
  };
  if (kmem !== undefined) snap.kmemUsageBytes = parseBytes(kmem, path.join(dir, 'memory.kmem.usage_in_bytes'));
  if (failcnt !== undefined) snap.failCount = parseBytes(failcnt, path.join(dir, 'memory.failcnt'));
  return snap;
}
