// The sampling loop every live CLI mode shares (`run`, `watch`, `docker`): one reading of the
// target's memory per interval (plus runtime.MemStats when a Go runtime reader is given, fetched
// concurrently), a heap profile now and then, until the duration is over, the signal aborts, or
// the target is gone. A reading to retry is skipped and said once; the schedule keeps its pace.
import { setTimeout as sleep } from 'node:timers/promises';
import type { HeapProfile, MemorySample } from '../model/sample.ts';
import type { GoRuntimeReader, MemoryReader, Reading } from './reader.ts';

export type StopReason = 'duration' | 'aborted' | 'gone';

export interface SamplingResult {
  samples: MemorySample[];
  profiles: HeapProfile[];
  stopReason: StopReason;
  /** Why the target is gone, when stopReason is "gone". */
  goneReason?: string;
}

export interface SamplerOptions<R> {
  reader: MemoryReader<R>;
  goRuntime?: GoRuntimeReader | null;
  intervalMs: number;
  durationMs: number;
  signal: AbortSignal;
  /** Heap profile period; default: about ten per run, at least 5 s apart. */
  profileEveryMs?: number;
  /** After each sample (live view, `--record`): the reading, with runtime data already on its sample. */
  onSample?: (reading: Reading<R>, all: readonly MemorySample[]) => void;
  /** One-line notices for the user: once per distinct reason a reading or runtime data is missing. */
  notice: (line: string) => void;
  now?: () => number;
}

/** How long a target may take to start answering on its pprof URL before a gap is reported. */
const RUNTIME_GRACE_MS = 5_000;

/** More profiles than this are thinned (every other one dropped, the first kept). */
const MAX_PROFILES = 24;

export async function sample<R = never>(options: SamplerOptions<R>): Promise<SamplingResult> {
  const now = options.now ?? Date.now;
  const { reader, intervalMs, durationMs, signal } = options;
  const goRuntime = options.goRuntime ?? null;
  const samples: MemorySample[] = [];
  const profiles: HeapProfile[] = [];
  const profileEveryMs = options.profileEveryMs ?? Math.max(5_000, Math.round(durationMs / 10));
  const reported = new Set<string>();
  const sayOnce = (line: string) => {
    const key = line.replace(/\d+/g, '#');
    if (reported.has(key)) return;
    reported.add(key);
    options.notice(line);
  };
  let runtimeSeen = false;
  const startMs = now();
  const endMs = startMs + durationMs;
  const gapsFromMs = startMs + RUNTIME_GRACE_MS;
  const runtimeGap = (reason: string) => {
    // A program starts its pprof listener a moment after it starts: gaps count only after a grace
    // period, or once runtime data has been seen (then the target went away or stalled).
    if (runtimeSeen || now() >= gapsFromMs) sayOnce(`memaudit: no Go runtime data: ${reason}`);
  };
  // Runtime requests must not hold up the next memory reading.
  const runtimeTimeoutMs = Math.max(200, Math.min(5_000, Math.round(intervalMs * 0.8)));

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
          runtimeGap(p.reason);
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
    if (reading.kind === 'gone') return stop(signal.aborted ? 'aborted' : 'gone', reading.reason);
    if (reading.kind === 'retry') sayOnce(`memaudit: no reading of ${reader.description}: ${reading.reason}`);
    else {
      const s = reading.value.sample;
      if (go?.kind === 'data') {
        runtimeSeen = true;
        s.go = go.value;
      } else if (go) runtimeGap(go.reason);
      samples.push(s);
      options.onSample?.(reading.value, samples);
    }

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
