// `memaudit run`: start a command in a memory cgroup of its own (a child of memaudit's), sample
// it until the duration is over or the command exits, then stop it and remove the cgroup, also
// on Ctrl-C, SIGTERM and failures. Where no cgroup can be made, fall back to per-process data and
// say what that cannot see.
import { once } from 'node:events';
import { EnvironmentError, isEnvironmentError } from '../errors.ts';
import type { HeapProfile, MemorySample } from '../model/sample.ts';
import { cgroupReader } from '../sampling/cgroup.ts';
import { onInterrupt } from '../sampling/interrupt.ts';
import { processReader } from '../sampling/proc.ts';
import type { MemoryReader } from '../sampling/reader.ts';
import type { CgroupSnapshot } from '../sources/cgroup.ts';
import { findMemoryCgroup } from './cgroup-path.ts';
import { RunCgroup } from './cgroup-runner.ts';
import { launch } from './launch.ts';
import { sampleLocal, type LocalSamplingOptions } from './sample-local.ts';
import type { Launched } from './launch.ts';

export interface LocalRunOptions extends LocalSamplingOptions {
  command: string[];
  limitBytes: number | null;
  /** The command's own output. */
  output: (text: string) => void;
  /** Called once the target is known, before sampling starts. */
  onStart?: (info: { source: string; mode: 'cgroup' | 'process'; pid: number; cgroupDir: string | null }) => void;
  /** How long the command gets to exit after SIGTERM at the end of the run. Default 5 s. */
  graceMs?: number;
  /** Filesystem root for finding memaudit's own cgroup (fixtures); default "/". */
  root?: string;
}

export type LocalStopReason = 'duration' | 'exited' | 'interrupted' | 'gone';

export interface LocalRunResult {
  samples: MemorySample[];
  profiles: HeapProfile[];
  mode: 'cgroup' | 'process';
  source: string;
  cgroupDir: string | null;
  /** The command's pid (its process group id too). */
  pid: number;
  stopReason: LocalStopReason;
  /** The command's exit status when it exited by itself before the end of the window. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  interruptedBy: NodeJS.Signals | null;
  /** OOM kills in the cgroup during the run (null when unknown or per-process). */
  oomKills: number | null;
}

export const PER_PROCESS_LIMITS =
  'Per-process data (/proc/PID/status of the process and its children) shows their anonymous memory and the shared memory and files they map; ' +
  'it cannot see the page cache of files they write, tmpfs files they do not map, or kernel memory, so it tells whether the processes themselves grow, not cache growth from a leak';

export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const graceMs = options.graceMs ?? 5_000;
  let cgroup: RunCgroup | null = null;
  try {
    const own = await findMemoryCgroup(options.root === undefined ? {} : { root: options.root });
    cgroup = await RunCgroup.create({ parent: own, limitBytes: options.limitBytes });
  } catch (e) {
    if (!isEnvironmentError(e)) throw e;
    if (options.limitBytes !== null) throw new EnvironmentError(`--limit needs a memory cgroup, and none can be made here: ${e.message}`, { cause: e });
    options.notice(`memaudit: no memory cgroup for the command: ${e.message}`);
    options.notice(`memaudit: falling back to per-process data. ${PER_PROCESS_LIMITS}`);
    if (options.record) options.notice('memaudit: --record writes cgroup snapshots; without a cgroup there is nothing to record');
  }

  const exitCleanup = () => cgroup?.destroySync();
  process.on('exit', exitCleanup);
  let launched: Launched | undefined;
  const stop = onInterrupt({
    notice: options.notice,
    action: 'stopping the command and analysing what was collected',
    onFirst: (signal) => {
      if (launched) killGroup(launched.pid, signal);
    },
    onSecond: (signal) => {
      // No more waiting: clean up now.
      options.notice(`memaudit: ${signal} again, killing the command and removing its cgroup`);
      if (launched) killGroup(launched.pid, 'SIGKILL');
      cgroup?.destroySync();
    },
  });

  try {
    launched = await launch(options.command, cgroup);
    for (const stream of launched.output) {
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => options.output(d));
    }
    const ended: { exit: LocalRunResult['exit'] } = { exit: null };
    const exitedDuringRun = launched.exited.then((status) => {
      if (!stop.signal.aborted) ended.exit = status;
      stop.abort();
      return status;
    });
    // The launch took a moment: a signal that came meanwhile still reaches the command.
    if (stop.interruptedBy !== null) killGroup(launched.pid, stop.interruptedBy);

    const reader: MemoryReader<CgroupSnapshot> = cgroup ? cgroupReader(cgroup.dir, cgroup.version) : processReader(launched.pid);
    const mode = cgroup ? 'cgroup' : 'process';
    options.onStart?.({ source: reader.description, mode, pid: launched.pid, cgroupDir: cgroup?.dir ?? null });
    const sampled = await sampleLocal(reader, options, stop.signal);

    // Stop the command if it is still running: SIGTERM to its process group, then the cgroup's kill.
    stop.abort(); // from here on, an exit is ours, not the command's own
    const status = await within(exitedDuringRun, 0);
    if (status === undefined) {
      killGroup(launched.pid, 'SIGTERM');
      const done = await within(exitedDuringRun, graceMs);
      if (done === undefined) killGroup(launched.pid, 'SIGKILL');
    }
    const oomKills = cgroup ? await cgroup.oomKills() : null;
    await cgroup?.destroy();
    await exitedDuringRun.catch(() => undefined);
    await within(Promise.all(launched.output.map((s) => (s.readableEnded || s.destroyed ? undefined : once(s, 'close').catch(() => undefined)))), 1_000);

    const stopReason: LocalStopReason = stop.interruptedBy !== null ? 'interrupted' : ended.exit !== null ? 'exited' : sampled.stopReason === 'gone' ? 'gone' : 'duration';
    return {
      samples: sampled.samples,
      profiles: sampled.profiles,
      mode,
      source: reader.description,
      cgroupDir: cgroup?.dir ?? null,
      pid: launched.pid,
      stopReason,
      exit: ended.exit,
      interruptedBy: stop.interruptedBy,
      oomKills,
    };
  } finally {
    stop.dispose();
    try {
      await cgroup?.destroy();
    } finally {
      process.off('exit', exitCleanup);
    }
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** The promise's value, or undefined after `ms`; the timer does not outlive the race (it would hold the process open). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)))]);
  } finally {
    clearTimeout(timer);
  }
}
