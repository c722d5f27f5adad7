// `memaudit watch`: audit a process or cgroup that is already running. Read-only: it never
// creates, moves, limits or signals anything.
import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isEnvironmentError, UsageError } from '../errors.ts';
import type { HeapProfile, MemorySample, TargetRef } from '../model/sample.ts';
import { cgroupReader } from '../sampling/cgroup.ts';
import { onInterrupt } from '../sampling/interrupt.ts';
import { processReader, processTree } from '../sampling/proc.ts';
import type { MemoryReader } from '../sampling/reader.ts';
import type { CgroupSnapshot } from '../sources/cgroup.ts';
import { sampleLocal, type LocalSamplingOptions } from './sample-local.ts';
import { findMemoryCgroup, isHierarchyRoot } from './cgroup-path.ts';
import { parsePids } from './cgroup-runner.ts';

export interface WatchTarget {
  reader: MemoryReader<CgroupSnapshot>;
  target: TargetRef;
  mode: 'cgroup' | 'process';
  /** Why this data source, for people. */
  notes: string[];
}

export interface ResolveOptions {
  pid?: number;
  cgroup?: string;
  /** Use per-process data even when the process has a memory cgroup of its own. */
  perProcess?: boolean;
  /** Filesystem root (fixtures); default "/". */
  root?: string;
}

export async function resolveWatchTarget(options: ResolveOptions): Promise<WatchTarget> {
  const root = options.root ?? '/';
  const procRoot = path.join(root, 'proc');
  if (options.cgroup !== undefined) return cgroupTarget(options.cgroup, root);
  const pid = options.pid;
  if (pid === undefined) throw new UsageError('give --pid PID or --cgroup PATH');
  try {
    await access(path.join(procRoot, String(pid)));
  } catch {
    throw new UsageError(`no process ${pid}`);
  }
  const comm = (await readFile(path.join(procRoot, String(pid), 'comm'), 'utf8').catch(() => '')).trim();
  const perProcess = (notes: string[]): WatchTarget => ({
    reader: processReader(pid, procRoot),
    target: { kind: 'process', name: comm ? `${comm} (pid ${pid})` : `pid ${pid}` },
    mode: 'process',
    notes,
  });
  if (options.perProcess) return perProcess(['per-process data, as asked (--per-process)']);

  let cg;
  try {
    cg = await findMemoryCgroup({ root, pid });
  } catch (e) {
    if (!isEnvironmentError(e)) throw e;
    return perProcess([`no memory cgroup for process ${pid}: ${e.message}; per-process data instead`]);
  }
  if (isHierarchyRoot(cg)) return perProcess([`process ${pid} is in the root memory cgroup, which accounts the whole machine: per-process data instead`]);
  const inCgroup = parsePids(await readFile(path.join(cg.dir, 'cgroup.procs'), 'utf8').catch(() => ''));
  const tree = new Set(await processTree(pid, procRoot));
  const others = inCgroup.filter((p) => !tree.has(p));
  if (others.length > 0) {
    return perProcess([
      `process ${pid} shares memory cgroup ${cg.path} with ${others.length} other process(es): per-process data for it alone`,
      `to audit the whole cgroup, page cache included: memaudit watch --cgroup ${cg.dir}`,
    ]);
  }
  return {
    reader: cgroupReader(cg.dir, cg.version, `cgroup v${cg.version} ${cg.dir} (the cgroup of process ${pid})`),
    target: { kind: 'cgroup', name: cg.path },
    mode: 'cgroup',
    notes: [`process ${pid} and its children are alone in memory cgroup ${cg.path}: sampling the cgroup (page cache, shmem and kernel memory included)`],
  };
}

async function cgroupTarget(given: string, root: string): Promise<WatchTarget> {
  const candidates = [path.resolve(given)];
  if (!given.startsWith(path.join(root, 'sys')) && path.isAbsolute(given)) {
    // A path as /proc/PID/cgroup prints it ("/system.slice/x.service"): inside memaudit's hierarchy.
    const own = await findMemoryCgroup({ root }).catch(() => undefined);
    if (own) candidates.push(path.join(own.mountPoint, given));
  }
  for (const dir of candidates) {
    const version = await memoryVersion(dir);
    if (version !== undefined) {
      return {
        reader: cgroupReader(dir, version),
        target: { kind: 'cgroup', name: dir },
        mode: 'cgroup',
        notes: [],
      };
    }
  }
  throw new UsageError(`${given} is not a memory cgroup directory (looked for memory.current or memory.usage_in_bytes in ${candidates.join(', ')})`);
}

async function memoryVersion(dir: string): Promise<1 | 2 | undefined> {
  try {
    if (!(await stat(dir)).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  for (const [file, v] of [
    ['memory.current', 2],
    ['memory.usage_in_bytes', 1],
  ] as const) {
    try {
      await access(path.join(dir, file));
      return v;
    } catch {
      // next
    }
  }
  return undefined;
}

export interface WatchOptions extends LocalSamplingOptions {
  target: WatchTarget;
}

export interface WatchResult {
  samples: MemorySample[];
  profiles: HeapProfile[];
  stopReason: 'duration' | 'interrupted' | 'gone';
  goneReason?: string;
  interruptedBy: NodeJS.Signals | null;
}

/** Samples until the duration is over, the target is gone, or Ctrl-C (then: what was collected). */
export async function watchLocal(options: WatchOptions): Promise<WatchResult> {
  const interrupt = onInterrupt({ notice: options.notice });
  try {
    const r = await sampleLocal(options.target.reader, options, interrupt.signal);
    const result: WatchResult = {
      samples: r.samples,
      profiles: r.profiles,
      stopReason: interrupt.interruptedBy !== null ? 'interrupted' : r.stopReason === 'gone' ? 'gone' : 'duration',
      interruptedBy: interrupt.interruptedBy,
    };
    if (r.goneReason !== undefined) result.goneReason = r.goneReason;
    return result;
  } finally {
    interrupt.dispose();
  }
}
