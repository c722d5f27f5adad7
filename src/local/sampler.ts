import { setTimeout as sleep } from 'node:timers/promises';
import type { CgroupSnapshot } from '../sources/cgroup.ts';
import type { HeapProfile, MemorySample } from '../model/sample.ts';
import type { GoRuntimeSample } from '../model/sample.ts';
import type { NoData } from '../model/no-data.ts';
import type { Fetched } from '../sources/pprof-http.ts';
import { goRuntimeReader } from './go-runtime.ts';

/**
 * The sampling loop shared by `memaudit run` and `memaudit watch`: one reading of the target's
 * memory per interval (plus runtime.MemStats when a pprof URL is given, fetched concurrently),
 * a heap profile now and then, until the duration is over, the signal aborts, or the target is gone.
 */
export type Reading = { kind: 'data'; sample: MemorySample; snapshot?: CgroupSnapshot } | NoData;

export interface MemoryReader {
  /** What is read, for people: "cgroup v1 /sys/fs/cgroup/memory/..." or "process 1234 (and children)". */
  readonly description: string;
  read(): Promise<Reading>;
}

export interface GoRuntimeReader {
  memStats(timeoutMs: number): Promise<Fetched<GoRuntimeSample>>;
  heapProfile(timeoutMs: number): Promise<Fetched<HeapProfile>>;
}

export type StopReason = 'duration' | 'aborted' | 'gone';

export interface SamplingResult {
  samples: MemorySample[];
  profiles: HeapProfile[];
  stopReason: StopReason;
  /** Why the target is gone, when stopReason is "gone". */
  goneReason?: string;
}

export interface SamplerOptions {
  reader: MemoryReader;
  goRuntime?: GoRuntimeReader;
  intervalMs: number;
  durationMs: number;
  signal: AbortSignal;
  /** Heap profile period; default: about ten per run, at least 5 s apart. */
  profileEveryMs?: number;
  /** Called after each sample (live view, recording). */
  onSample?: (sample: MemorySample, snapshot: CgroupSnapshot | undefined, all: readonly MemorySample[]) => void;
  /** Called once per distinct reason runtime data is missing. */
  onRuntimeGap?: (reason: string) => void;
  now?: () => number;
}

/** How long a target may take to start answering on its pprof URL before a gap is reported. */
const RUNTIME_GRACE_MS = 5_000;

/** More profiles than this are thinned (every other one dropped, the first kept). */
const MAX_PROFILES = 24;

export async function sample(options: SamplerOptions): Promise<SamplingResult> {
  const now = options.now ?? Date.now;
  const { reader, goRuntime, intervalMs, durationMs, signal } = options;
  const samples: MemorySample[] = [];
  const profiles: HeapProfile[] = [];
  const profileEveryMs = options.profileEveryMs ?? Math.max(5_000, Math.round(durationMs / 10));
  const reported = new Set<string>();
  let runtimeSeen = false;
  let gapsFromMs = Infinity;
  const gap = (reason: string) => {
    // A program starts its pprof listener a moment after it starts: gaps count only after a grace
    // period, or once runtime data has been seen (then the target went away or stalled).
    if (!runtimeSeen && now() < gapsFromMs) return;
    const key = reason.replace(/\d+/g, '#');
    if (reported.has(key)) return;
    reported.add(key);
    options.onRuntimeGap?.(reason);
  };
  // Runtime requests must not hold up the next cgroup reading.
  const runtimeTimeoutMs = Math.max(200, Math.min(5_000, Math.round(intervalMs * 0.8)));

  const startMs = now();
  const endMs = startMs + durationMs;
  gapsFromMs = startMs + RUNTIME_GRACE_MS;
  let nextProfileMs = startMs;
  let pendingProfile: Promise<void> | undefined;
  const fetchProfile = (): Promise<void> => {
    if (!goRuntime) return Promise.resolve();
    // Profiles are bigger and slower than MemStats: fetched one at a time, off the sample path.
    pendingProfile ??= goRuntime
      .heapProfile(Math.max(runtimeTimeoutMs, 5_000))
      .then((p) => {
        if (p.kind === 'data') {
          runtimeSeen = true;
          addProfile(profiles, p.value);
        } else {
          gap(p.reason);
          // Until the first profile arrives, try again at the next sample: the heap diff should
          // span as much of the window as it can.
          if (profiles.length === 0) nextProfileMs = 0;
        }
      })
      .finally(() => {
        pendingProfile = undefined;
      });
    return pendingProfile;
  };
  const stop = async (stopReason: StopReason, goneReason?: string): Promise<SamplingResult> => {
    await pendingProfile;
    return goneReason === undefined ? { samples, profiles, stopReason } : { samples, profiles, stopReason, goneReason };
  };

  for (let i = 1; ; i++) {
    if (signal.aborted) return stop('aborted');
    const tickMs = now();
    const [reading, go] = await Promise.all([reader.read(), goRuntime ? goRuntime.memStats(runtimeTimeoutMs) : Promise.resolve(undefined)]);
    if (reading.kind === 'noData') return stop(signal.aborted ? 'aborted' : 'gone', reading.reason);
    const s = reading.sample;
    if (go?.kind === 'data') {
      runtimeSeen = true;
      s.go = go.value;
      if (reading.snapshot) reading.snapshot.go = go.value;
    } else if (go) gap(go.reason);
    samples.push(s);
    options.onSample?.(s, reading.snapshot, samples);

    if (tickMs >= endMs - 5) {
      // The window closes with a profile, so the heap diff spans all of it.
      await pendingProfile;
      await fetchProfile();
      return stop('duration');
    }
    if (goRuntime && tickMs >= nextProfileMs && !pendingProfile) {
      nextProfileMs = tickMs + profileEveryMs;
      void fetchProfile();
    }
    // Keep to the schedule (start + k * interval, then the end), so slow reads do not stretch the run.
    const wait = Math.max(0, Math.min(startMs + i * intervalMs, endMs) - now());
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      return stop('aborted');
    }
  }
}

function addProfile(profiles: HeapProfile[], p: HeapProfile): void {
  profiles.push(p);
  if (profiles.length > MAX_PROFILES) {
    const kept = profiles.filter((_, i) => i === 0 || i % 2 === 1 || i === profiles.length - 1);
    profiles.splice(0, profiles.length, ...kept);
  }
}

export interface TargetSamplingOptions {
  reader: MemoryReader;
  /** A pprof base URL the user gave (`--pprof`): runtime.MemStats and heap profiles come from it. */
  pprofUrl?: string | null;
  intervalMs: number;
  durationMs: number;
  signal: AbortSignal;
  /** `--record`: each cgroup snapshot is written as it is read. */
  record?: { write(snapshot: CgroupSnapshot): void } | null;
  onSample?: (sample: MemorySample, all: readonly MemorySample[]) => void;
  notice: (line: string) => void;
}

/** `sample` as `memaudit run` and `watch` use it: with the Go runtime from `--pprof` and `--record`. */
export function sampleTarget(options: TargetSamplingOptions): Promise<SamplingResult> {
  const { record } = options;
  return sample({
    reader: options.reader,
    ...(options.pprofUrl ? { goRuntime: goRuntimeReader(options.pprofUrl) } : {}),
    intervalMs: options.intervalMs,
    durationMs: options.durationMs,
    signal: options.signal,
    onSample: (s, snap, all) => {
      if (snap && record) record.write(snap);
      options.onSample?.(s, all);
    },
    onRuntimeGap: (reason) => options.notice(`memaudit: no Go runtime data: ${reason}`),
  });
}
