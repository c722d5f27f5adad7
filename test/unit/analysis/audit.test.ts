import { audit } from '../../../src/analysis/audit.ts';
import type { HeapProfile, MemorySample } from '../../../src/model/sample.ts';
import { formatBytes, MiB } from '../../../src/model/units.ts';
import { parseDockerStatsLines } from '../../../src/sources/docker-stats.ts';
import { parseCgroupRecording } from '../../../src/sources/cgroup-recording.ts';
import { readHeapProfileFile } from '../../../src/sources/pprof.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Scenario tests of the engine on synthetic series with a fixed clock (t0 below, one sample every
 * 5 s for 30 min = 361 samples). Each scenario states the physics it stands for; the labelled
 * real traces (labelled-traces.test.ts) check the same verdicts on kernel data.
 */
const t0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const N = 361;
const STEP_S = 5;

type Shape = (i: number, tSeconds: number) => Partial<MemorySample> & { usageBytes?: number };

function series(shape: Shape, limitBytes?: number): MemorySample[] {
  const out: MemorySample[] = [];
  for (let i = 0; i < N; i++) {
    const t = i * STEP_S;
    const p = shape(i, t);
    const anon = p.anonBytes ?? 20 * MiB;
    const active = p.activeFileBytes ?? 2 * MiB;
    const inactive = p.inactiveFileBytes ?? 3 * MiB;
    const shmem = p.shmemBytes ?? 0;
    const file = active + inactive + shmem;
    const s: MemorySample = {
      timestampMs: t0 + t * 1000,
      usageBytes: anon + file + 1 * MiB,
      anonBytes: anon,
      fileBytes: file,
      activeFileBytes: active,
      inactiveFileBytes: inactive,
      shmemBytes: shmem,
      dirtyBytes: 0,
      writebackBytes: 0,
      ...(limitBytes !== undefined ? { limitBytes } : {}),
    };
    if (p.go) s.go = p.go;
    // Kernel memory and the reclaim counters, where a scenario has them.
    if (p.kernelBytes !== undefined) {
      s.kernelBytes = p.kernelBytes;
      s.usageBytes += p.kernelBytes;
    }
    if (p.failCount !== undefined) s.failCount = p.failCount;
    if (p.refaultFilePages !== undefined) s.refaultFilePages = p.refaultFilePages;
    out.push(s);
  }
  return out;
}

// A deterministic wobble in [-0.5, 0.5) MiB.
const wobble = (i: number) => (((i * 7919) % 101) / 101 - 0.5) * MiB;

describe('audit verdicts on synthetic physics', () => {
  it('page cache growing from file writes is CacheGrowth, never a leak', () => {
    // inactive_file grows 3 MiB/min; anon flat with wobble.
    const r = audit(series((i, t) => ({ anonBytes: 20 * MiB + wobble(i), inactiveFileBytes: 3 * MiB + (t / 60) * 3 * MiB })));
    expect(r.verdict).toBe('CacheGrowth');
    expect(r.leakSource).toBeNull();
    expect(r.reclaimableShare!).toBeGreaterThan(0.7);
    // limit from non-reclaimable peak (~21.5 MiB) x 1.2 = ~25.8 -> rounded to 28 MiB
    expect(r.recommendation.memoryLimitBytes).toBe(28 * MiB);
    expect(r.recommendation.compose?.mem_limit).toBe('28m');
    expect(r.recommendation.kubernetes?.limits?.memory).toBe('28Mi');
  });

  it('anon growing with the Go heap is Leak/heap and never raises the limit', () => {
    const limit = 64 * MiB;
    const r = audit(
      series((i, t) => ({ anonBytes: 20 * MiB + (t / 60) * 0.5 * MiB, go: { heapInuseBytes: 8 * MiB + (t / 60) * 0.5 * MiB + Math.abs(wobble(i)) * 4 } }), limit),
    );
    expect(r.verdict).toBe('Leak');
    expect(r.leakSource).toBe('heap');
    expect(r.heapExplainsAnonShare!).toBeGreaterThan(0.8);
    expect(r.recommendation.memoryLimitBytes!).toBeLessThanOrEqual(limit);
    expect(r.recommendation.warning).toMatch(/Do not raise/);
    // anon+shmem+kernel ends at 20 + 15 + 1 = 36 MiB + ... growing 30 MiB/h -> a finite time to the limit
    expect(r.timeToLimitSeconds).not.toBeNull();
    expect(r.timeToLimitSeconds!).toBeGreaterThan(0);
  });

  it('anon growing while the Go heap is flat is Leak/offHeap', () => {
    const r = audit(series((i, t) => ({ anonBytes: 20 * MiB + (t / 60) * 0.5 * MiB, go: { heapInuseBytes: 4 * MiB + Math.abs(wobble(i)) } })));
    expect(r.verdict).toBe('Leak');
    expect(r.leakSource).toBe('offHeap');
  });

  it('anon growing with no runtime data is Leak/anon', () => {
    const r = audit(series((_i, t) => ({ anonBytes: 20 * MiB + (t / 60) * 0.5 * MiB })));
    expect(r.verdict).toBe('Leak');
    expect(r.leakSource).toBe('anon');
  });

  it('tmpfs growth is Leak/shmem although it is counted as cache', () => {
    const r = audit(series((_i, t) => ({ shmemBytes: (t / 60) * 1 * MiB })));
    expect(r.verdict).toBe('Leak');
    expect(r.leakSource).toBe('shmem');
  });

  it('infers shmem when the source has no shmem field', () => {
    const samples = series((_i, t) => ({ shmemBytes: (t / 60) * 1 * MiB })).map((s) => {
      const { shmemBytes: _drop, ...rest } = s;
      return rest;
    });
    const r = audit(samples);
    expect(r.verdict).toBe('Leak');
    expect(r.leakSource).toBe('shmem');
  });

  it('infers shmem from the anon LRU when the source has neither shmem nor the file LRU split', () => {
    // shmem pages sit on the anon LRU: active_anon + inactive_anon grows while anon stays flat.
    const samples = series((_i, t) => ({ shmemBytes: (t / 60) * 1 * MiB })).map((s) => {
      const { shmemBytes, activeFileBytes: _a, inactiveFileBytes: _i, ...rest } = s;
      return { ...rest, activeAnonBytes: s.anonBytes! + shmemBytes!, inactiveAnonBytes: 0 };
    });
    expect(`${audit(samples).verdict}/${audit(samples).leakSource}`).toBe('Leak/shmem');
    // The same cache growth with the anon LRU equal to anon is page cache.
    const cache = samples.map((s) => ({ ...s, activeAnonBytes: s.anonBytes! }));
    expect(audit(cache).verdict).toBe('CacheGrowth');
  });

  it('kernel memory: reclaimable slab (dentries, inodes) is cache, unreclaimable slab a kernel leak (cgroup v2 fields)', () => {
    // cgroup v2: `kernel` includes both slabs; usage includes kernel.
    const v2 = (slabR: (t: number) => number, slabU: (t: number) => number) =>
      series(() => ({})).map((s) => {
        const t = (s.timestampMs - t0) / 1000;
        const kernel = 2 * MiB + slabR(t) + slabU(t);
        return { ...s, usageBytes: s.usageBytes + kernel, kernelBytes: kernel, slabReclaimableBytes: 1 * MiB + slabR(t), slabUnreclaimableBytes: 1 * MiB + slabU(t) };
      });
    const negativeDentries = audit(v2((t) => (t / 60) * MiB, () => 0));
    expect(negativeDentries.verdict).toBe('CacheGrowth');
    expect(negativeDentries.explanation).toMatch(/^Not a leak: usage grows \+1\.0 MiB\/min from the kernel's reclaimable caches \(dentries and inodes/);
    expect(negativeDentries.growth.kernel!.slopeBytesPerHour).toBe(0);
    const socketLeak = audit(v2(() => 0, (t) => (t / 60) * MiB));
    expect(`${socketLeak.verdict}/${socketLeak.leakSource}`).toBe('Leak/kernel');
  });

  it('growth that stopped is a Plateau', () => {
    // anon ramps 2 MiB/min for 8 min, then flat for 22 min.
    const r = audit(series((i, t) => ({ anonBytes: 20 * MiB + Math.min(t, 480) / 60 * 2 * MiB + wobble(i) / 4 })));
    expect(r.verdict).toBe('Plateau');
  });

  it('a GC sawtooth without a rising floor is Stable', () => {
    // heap between 8 and 24 MiB, period 35 s; anon flat at the runtime's high-water mark.
    const r = audit(series((i, t) => ({ anonBytes: 30 * MiB + wobble(i) / 8, go: { heapInuseBytes: 8 * MiB + ((t % 35) / 35) * 16 * MiB } })));
    expect(r.verdict).toBe('Stable');
  });

  it('a slow leak under heavy GC noise is still found', () => {
    // floor +0.2 MiB/min under a 16 MiB sawtooth.
    const r = audit(
      series((i, t) => ({
        anonBytes: 40 * MiB + (t / 60) * 0.2 * MiB + Math.abs(wobble(i)) / 4,
        go: { heapInuseBytes: 8 * MiB + (t / 60) * 0.2 * MiB + ((t % 35) / 35) * 16 * MiB },
      })),
    );
    expect(r.verdict).toBe('Leak');
    expect(r.leakSource).toBe('heap');
  });

  it('cache held at the limit by reclaim is CacheGrowth with reclaim observed', () => {
    const limit = 64 * MiB;
    // cache fills in 5 min, then the kernel keeps usage at the limit.
    const r = audit(series((i, t) => ({ anonBytes: 20 * MiB, inactiveFileBytes: Math.min(3 * MiB + (t / 60) * 8 * MiB, limit - 24 * MiB) + wobble(i) / 8 }), limit));
    expect(r.verdict).toBe('CacheGrowth');
    expect(r.reclaimObserved).toBe(true);
    expect(r.recommendation.memoryLimitBytes!).toBeLessThan(limit);
  });

  it('says InsufficientData on too little data', () => {
    const r = audit(series(() => ({})).slice(0, 5));
    expect(r.verdict).toBe('InsufficientData');
    expect(r.recommendation.memoryLimitBytes).toBeNull();
  });
});

describe('a goroutine leak (real trace)', () => {
  it('is off-heap, and the explanation names goroutine stacks and the program frame, not the runtime', async () => {
    const dir = path.resolve(import.meta.dirname, '../../fixtures/traces/goroutine-leak');
    const file = path.join(dir, 'trace.jsonl');
    const profiles = await Promise.all([1, 2, 3].map((i) => readHeapProfileFile(path.join(dir, `heap-${i}.pb.gz`))));
    const r = audit(parseCgroupRecording(readFileSync(file, 'utf8'), file).samples, profiles);
    expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/offHeap');
    expect(r.explanation).toMatch(/^Leak outside the Go heap, in goroutine stacks: .* goroutine stacks \(StackInuse\) grow \+\d+\.\d MiB\/min: goroutines are started and never end \(a goroutine leak\)/);
    expect(r.growth.goStack!.slopeBytesPerHour).toBeGreaterThan(r.growth.goHeap!.slopeBytesPerHour * 10);
    expect(r.topGrowingFunctions[0]!.function).toMatch(/^main\./);
  });
});

describe('restarts and releases', () => {
  const trace = (name: string) => {
    const file = path.resolve(import.meta.dirname, '../../fixtures/traces', name, 'trace.jsonl');
    return parseCgroupRecording(readFileSync(file, 'utf8'), file).samples;
  };

  it('a batch worker freeing its data is not restarting: the whole window is analysed and "now" is the last sample', () => {
    const samples = trace('py-batch');
    const r = audit(samples);
    expect(r.verdict).toBe('Stable');
    expect(r.evidence.join('\n')).not.toMatch(/\d+ restarts? \(|trends are from the run/);
    expect(r.evidence[0]).toMatch(/^9 sudden falls .* released/);
    expect(r.restarts).toEqual([]);
    expect(r.window.analysed).toEqual({ startMs: samples[0]!.timestampMs, endMs: samples[samples.length - 1]!.timestampMs, samples: samples.length });
    const last = samples[samples.length - 1]!;
    expect(r.evidence[1]).toContain(`last sample: usage ${formatBytes(last.usageBytes)}`);
    // The limit still covers the batch's peak.
    expect(r.recommendation.memoryLimitBytes!).toBeGreaterThan(127 * MiB);
  });

  it('falls at the limit are OOM kills: the window is split, the explanation says the limit was hit', () => {
    const samples = trace('py-oom-restart');
    const r = audit(samples);
    expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/anon');
    expect(r.evidence[0]).toMatch(/^2 restarts \(at the limit: OOM kill\) at 86s .*; trends are from the run before the first until 84s$/);
    expect(r.explanation).toMatch(/It already hit the 96\.0 MiB limit: 2 restarts at the limit \(OOM kills\) in this window, each run reaching it in about 86s\./);
    expect(r.timeToLimitSeconds).toBe(0);
    // The warning says the same as the time to limit (it once said "limit reached in 1s" next to 0).
    expect(r.recommendation.warning).toContain('(limit reached in this window)');
    // The analysed run is the first one; the restarts are at the first sample after each fall.
    const t0 = samples[0]!.timestampMs;
    expect(r.restarts!.map((x) => [Math.round((x.atMs - t0) / 1000), x.cause])).toEqual([
      [86, 'atLimit'],
      [172, 'atLimit'],
    ]);
    expect(r.window.analysed!.startMs).toBe(t0);
    expect(Math.round((r.window.analysed!.endMs - t0) / 1000)).toBe(84);
    // Least squares across the saw says +8.8 MiB/min; the run itself grows at the leak's 1 MB/s.
    expect(r.growth.anon!.slopeBytesPerHour / 60 / MiB).toBeGreaterThan(55);
  });

  it('a new instance the orchestrator reports OOM-killed is an OOM kill, even when the last sample before it is well below the limit', () => {
    // A kubelet's cAdvisor refreshes every 10-15 s: a leak that reaches its 64 MiB limit in 2 min is
    // last seen at 50 MiB (78 %) before each kill. Three runs of 11 samples 12 s apart, each from 3 MiB
    // to 50 MiB (+4.7 MiB a sample: +23.5 MiB/min), each a new container (cAdvisor's cgroup id).
    const samples: MemorySample[] = [];
    for (let run = 0; run < 3; run++) {
      for (let k = 0; k < 11; k++) {
        const t = run * 140 + k * 12;
        const anon = (3 + 4.7 * k) * MiB;
        samples.push({ timestampMs: t0 + t * 1000, usageBytes: anon + MiB, anonBytes: anon, fileBytes: 0, activeFileBytes: 0, inactiveFileBytes: 0, limitBytes: 64 * MiB, instance: `/kubepods/burstable/pod1/c${run}` });
      }
    }
    const plain = audit(samples, [], { minDurationSeconds: 120 });
    expect(`${plain.verdict}/${plain.leakSource}`).toBe('Leak/anon');
    expect(plain.evidence[0]).toMatch(/^2 restarts \(new container or process\) at /);
    expect(plain.explanation).not.toMatch(/It already hit/);
    // Kubernetes says so in the pod status (lastState.terminated.reason: OOMKilled) for c0 and c1.
    const told = audit(samples, [], { minDurationSeconds: 120, oomKilledInstances: new Set(['/kubepods/burstable/pod1/c0', '/kubepods/burstable/pod1/c1']) });
    expect(`${told.verdict}/${told.leakSource}`).toBe('Leak/anon');
    expect(told.evidence[0]).toMatch(/^2 restarts \(at the limit: OOM kill\) at 2m /);
    // Runs start every 140 s: the second kill came 140 s after the first.
    expect(told.explanation).toMatch(/It already hit the 64\.0 MiB limit: 2 restarts at the limit \(OOM kills\) in this window, each run reaching it in about 2m\./);
  });

  it('an OOM loop faster than the kubelet samples: its runs pooled on the time since each start say Leak/heap and that the limit was hit (real kubelet trace)', () => {
    // test/fixtures/kubelet/oomloop-1.35: heapleak at 1 MiB/s under a 64 MiB limit on a real
    // kubelet; cAdvisor refreshed every 12-19 s, so each of the four runs has 3-5 samples, and the
    // last one before each OOM kill was at 52-55 MiB. No run alone has the six points a trend needs.
    const file = path.resolve(import.meta.dirname, '../../fixtures/kubelet/oomloop-1.35/evidence.json');
    const f = JSON.parse(readFileSync(file, 'utf8')) as { samples: MemorySample[]; oomKilledContainerIds: string[] };
    const oomKilled = new Set(f.samples.map((x) => x.instance!).filter((i) => f.oomKilledContainerIds.some((id) => i.endsWith(`/${id}`))));
    expect(oomKilled.size).toBe(3);
    const r = audit(f.samples, [], { minDurationSeconds: 120, isGo: true, oomKilledInstances: oomKilled });
    expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/heap');
    expect(r.evidence[0]).toMatch(/^3 restarts \(at the limit: OOM kill\) at 60s .*; trends are from the 3 runs that started at an OOM kill, on the time since each start/);
    expect(r.explanation).toMatch(/It already hit the 64\.0 MiB limit: 3 restarts at the limit \(OOM kills\) in this window, each run reaching it in about 77s\./);
    expect(r.timeToLimitSeconds).toBe(0);
    // Each run climbs about 1 MiB/s (60 MiB/min) from its start; a kill and a restart every 77 s or so
    // (the run, then the kubelet's back-off).
    expect(r.growth.goHeap!.slopeBytesPerHour / 60 / MiB).toBeGreaterThan(45);
    // A Leak's limit is never raised.
    expect(r.recommendation.memoryLimitBytes).toBeLessThanOrEqual(64 * MiB);
  });

  it('an OOM loop sampled three times a run, at the same offsets from each start: Leak/heap, and it stays Leak as samples come (real kubelet trace)', () => {
    // test/fixtures/kubelet/oomfast-1.35: heapleak at 1 MiB/s under 48 MiB; cAdvisor refreshed every
    // ~16 s, so each run has three samples at about 0, 16 and 32 s from its start. Bucket minima of
    // the pooled runs would fold them into three points (no trend); every point is fitted.
    const file = path.resolve(import.meta.dirname, '../../fixtures/kubelet/oomfast-1.35/evidence.json');
    type Prof = Omit<HeapProfile, 'flatInuseBytes' | 'cumInuseBytes'> & { flatInuseBytes: Record<string, number>; cumInuseBytes: Record<string, number> };
    const f = JSON.parse(readFileSync(file, 'utf8')) as { samples: MemorySample[]; profiles: Prof[]; oomKilledContainerIds: string[]; restartCount: number };
    const profiles: HeapProfile[] = f.profiles.map((p) => ({ ...p, flatInuseBytes: new Map(Object.entries(p.flatInuseBytes)), cumInuseBytes: new Map(Object.entries(p.cumInuseBytes)) }));
    const oomKilled = new Set(f.samples.map((x) => x.instance!).filter((i) => f.oomKilledContainerIds.some((id) => i.endsWith(`/${id}`))));
    const options = { minDurationSeconds: 90, isGo: true, oomKilledInstances: oomKilled };
    const r = audit(f.samples, profiles, options);
    expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/heap');
    expect(r.explanation).toMatch(new RegExp(`It already hit the 48\\.0 MiB limit: ${f.restartCount} restarts? at the limit \\(OOM kills\\)`));
    // The profiles of the newest incarnation with two: main.retainRequest, not what a diff across a restart ranks.
    expect(r.topGrowingFunctions[0]!.function).toBe('main.retainRequest');
    // From the first verdict on (ten samples), it holds: the fold made it flap to Stable live.
    const verdicts = new Set<string>();
    for (let k = 10; k <= f.samples.length; k++) {
      const prefix = f.samples.slice(0, k);
      const at = audit(prefix, profiles.filter((p) => p.timestampMs <= prefix[k - 1]!.timestampMs), options);
      verdicts.add(`${at.verdict}/${at.leakSource}`);
    }
    expect([...verdicts]).toEqual(['Leak/heap']);
  });

  it('a new instance is a restart even below the limit and without a fall', () => {
    const base = series((_i, t) => ({ anonBytes: (20 + t / 30) * MiB }));
    const marked = base.map((s, i) => ({ ...s, instance: i < 200 ? 'c1' : 'c2' }));
    const r = audit(marked);
    expect(r.evidence[0]).toMatch(/^1 restart \(new container or process\) at 17m .*; trends are from the run after 17m$/);
    expect(r.window.samples).toBe(N);
    expect(r.window.analysed).toEqual({ startMs: marked[200]!.timestampMs, endMs: marked[N - 1]!.timestampMs, samples: N - 200 });
    expect(r.restarts).toEqual([{ atMs: marked[200]!.timestampMs, cause: 'newInstance' }]);
    expect(audit(base).evidence.join('\n')).not.toMatch(/\d+ restarts? \(|trends are from the run/);
  });
});

const heapProfile = (timestampMs: number, inuseBytes: number, fn = 'main.remember'): HeapProfile => ({
  timestampMs,
  totalInuseBytes: inuseBytes,
  flatInuseBytes: new Map([[fn, inuseBytes - 1 * MiB]]),
  cumInuseBytes: new Map([[fn, inuseBytes - 1 * MiB]]),
});

describe('heap profiles without runtime.MemStats', () => {
  // anon grows 0.5 MiB/min for 30 min; no `go` field in any sample, as in a Docker stats recording.
  const anonLeak = series((i, t) => ({ anonBytes: 20 * MiB + (t / 60) * 0.5 * MiB + wobble(i) / 8 }));
  const end = t0 + (N - 1) * STEP_S * 1000;

  it('two profiles (one at the start, one at the end) whose in-use heap follows anon: Leak/heap, naming the function', () => {
    const r = audit(anonLeak, [heapProfile(t0, 5 * MiB), heapProfile(end, 5 * MiB + 14 * MiB)]);
    expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/heap');
    expect(r.explanation).toMatch(/^Leak in the Go heap: heap in use grows \+\d/);
    expect(r.explanation).toContain('main.remember');
    expect(r.evidence.join('\n')).toMatch(/Go heap in use from 2 heap profiles: 5\.0 MiB -> 19\.0 MiB/);
  });

  it('fifteen profiles give the same verdict as two', () => {
    const fifteen = Array.from({ length: 15 }, (_, k) => heapProfile(t0 + k * 120_000, 5 * MiB + (k * 120 / 60) * 0.5 * MiB));
    expect(`${audit(anonLeak, fifteen).verdict}/${audit(anonLeak, fifteen).leakSource}`).toBe('Leak/heap');
  });

  it('a flat in-use heap under growing anon: Leak/offHeap, and the explanation says the heap is flat', () => {
    const r = audit(anonLeak, [heapProfile(t0, 5 * MiB), heapProfile(t0 + 900_000, 5.2 * MiB), heapProfile(end, 5.1 * MiB)]);
    expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/offHeap');
    expect(r.explanation).toMatch(/Leak outside the Go heap: anonymous memory grows .* while the Go heap in use is flat \(5\.0 MiB -> 5\.1 MiB in use across 3 heap profiles\)/);
    expect(r.explanation).not.toMatch(/Add heap profiles/);
  });

  it('GOGC is taken into account: a heap growing at a fifth of anon is a heap leak at GOGC=400, not at the default', () => {
    const fifth = [heapProfile(t0, 5 * MiB), heapProfile(end, 5 * MiB + 3 * MiB)]; // 15 MiB of anon growth, 3 MiB of live heap
    expect(audit(anonLeak, fifth).leakSource).toBe('offHeap');
    expect(audit(anonLeak, fifth, { goGcPercent: 400 }).leakSource).toBe('heap');
  });

  it('profiles from outside the window: not compared, and the explanation says why instead of asking for profiles', () => {
    const dayBefore = t0 - 86_400_000;
    const r = audit(anonLeak, [heapProfile(dayBefore, 5 * MiB), heapProfile(dayBefore + 60_000, 9 * MiB)]);
    expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/anon');
    expect(r.explanation).toMatch(/The 2 heap profiles given cannot be compared with it: 2 were taken outside the samples' window/);
    expect(r.evidence.join('\n')).toMatch(/2 of 2 heap profiles were taken outside the samples' window/);
    // Their diff still names the growing function.
    expect(r.topGrowingFunctions[0]!.function).toBe('main.remember');
  });
});

describe('gaps in sampling', () => {
  it('an hour without samples in the middle of a leak: still a Leak, and the evidence names the gap', () => {
    // 10 min at 5 s, then the container is paused for an hour (memory unchanged), then 10 min more.
    const before = series((i, t) => ({ anonBytes: 20 * MiB + (t / 60) * 1 * MiB + wobble(i) / 8 })).slice(0, 121);
    const last = before[before.length - 1]!;
    const after = series((i, t) => ({ anonBytes: last.anonBytes! + ((t + 5) / 60) * 1 * MiB + wobble(i) / 8 }))
      .slice(0, 120)
      .map((s) => ({ ...s, timestampMs: s.timestampMs + 3_600_000 + 605_000 }));
    const r = audit([...before, ...after]);
    expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/anon');
    expect(r.window.gaps).toEqual([{ startMs: last.timestampMs, seconds: 3605 }]);
    expect(r.evidence.join('\n')).toMatch(/no samples for 60m from .*: trends are fitted on the sampled time, the gap closed/);
    // The rate is the leak's own 1 MiB/min, not diluted by the hour it was paused.
    expect(r.growth.anon!.slopeBytesPerHour / MiB).toBeGreaterThan(50);
  });
});

describe('reclaim evidence', () => {
  it('a small-file writer pinned at its limit, kernel memory growing with its files, failcnt rising: CacheGrowth, not a kernel leak', () => {
    // cgroup v1 as Docker reports it: kernel memory (dentries, inodes) is in usage but has no
    // reclaimable split. The cache fills to the 48 MiB limit in ~3.5 min, then the kernel reclaims.
    const limit = 48 * MiB;
    const samples = series((i, t) => {
      const kernel = 2 * MiB + t * 10 * 1024; // dentries + inodes: +10 KiB/s, displacing page cache at the limit
      const cache = Math.min(3 * MiB + (t / 60) * 10 * MiB, limit - 10 * MiB - kernel) + wobble(i) / 16;
      return { anonBytes: 8 * MiB, inactiveFileBytes: cache, kernelBytes: kernel, failCount: t > 210 ? (t - 210) * 3 : 0 };
    }, limit);
    const r = audit(samples);
    expect(r.verdict).toBe('CacheGrowth');
    expect(r.reclaimObserved).toBe(true);
    expect(r.explanation).toMatch(/usage sits at the 48\.0 MiB limit because it is filled with page cache .* the kernel hit the limit \d+ times in the window and reclaimed cache instead of killing anything; kernel memory grows with the files written/);
    expect(r.evidence.join('\n')).toMatch(/reclaim over the window: failcnt \+\d+/);
    expect(r.timeToLimitSeconds).toBeNull();
  });

  it('kernel memory growing with no page cache beside it is still a kernel leak (pipe or socket buffers)', () => {
    const limit = 256 * MiB;
    const samples = series((_i, t) => ({ anonBytes: 8 * MiB, inactiveFileBytes: 0, activeFileBytes: 0, kernelBytes: 2 * MiB + (t / 60) * MiB }), limit);
    expect(`${audit(samples).verdict}/${audit(samples).leakSource}`).toBe('Leak/kernel');
  });

  it('refaults: the recommended limit keeps the cache the program re-reads, and the explanation says why', () => {
    // A 200 MiB file read over and over: it sits on the active list; refaults rise 20 pages/s.
    const samples = series((_i, t) => ({ anonBytes: 10 * MiB, activeFileBytes: Math.min(200, 10 + t / 2) * MiB, inactiveFileBytes: 1 * MiB, refaultFilePages: Math.round(t * 20) }));
    const r = audit(samples);
    expect(r.recommendation.memoryLimitBytes!).toBeGreaterThan(200 * MiB);
    expect(r.recommendation.rationale.join(', ')).toMatch(/\+ the page cache it re-reads 200\.0 MiB \(refaults seen\)/);
    expect(r.explanation).toMatch(/It re-reads its page cache \(\d+\.\d MiB refaulted\): the recommended limit keeps the 200\.0 MiB it re-reads, since a lower one turns those cache hits into disk reads\./);
    // Without refaults the cache is left out, as before.
    const noRefault = audit(samples.map(({ refaultFilePages: _r, ...s }) => s));
    expect(noRefault.recommendation.memoryLimitBytes!).toBeLessThan(32 * MiB);
  });
});

describe('a cache the program re-reads (real trace py-reread)', () => {
  it('keeps the re-read cache in the limit and names the refaults', () => {
    const file = path.join(import.meta.dirname, '../../fixtures/traces/py-reread/trace.jsonl');
    const r = audit(parseCgroupRecording(readFileSync(file, 'utf8'), file).samples);
    // workingset_refault_file rises 0 -> 6185 pages (24.2 MiB) over the trace; the re-read file is 240 MiB.
    expect(r.recommendation.memoryLimitBytes!).toBeGreaterThan(240 * MiB);
    expect(r.explanation).toMatch(/It re-reads its page cache \(24\.2 MiB refaulted\)/);
    expect(r.evidence.join('\n')).toMatch(/workingset_refault_file/);
  });
});

describe('a small-file writer pinned at its limit (real Docker recording smallfiles-limit48m)', () => {
  it('is not a Leak: reclaim observed, kernel memory counted with the files, no time to limit', () => {
    const file = path.join(import.meta.dirname, '../../fixtures/docker-stats/smallfiles-limit48m.jsonl');
    const r = audit(parseDockerStatsLines(readFileSync(file, 'utf8'), file).samples);
    expect(r.verdict).toBe('CacheGrowth');
    expect(r.reclaimObserved).toBe(true);
    expect(r.timeToLimitSeconds).toBeNull();
    expect(r.evidence.join('\n')).toMatch(/reclaim over the window: failcnt \+\d+/);
    expect(r.evidence.join('\n')).toMatch(/kernel memory grows .* with the files written \(their dentries and inodes\)/);
  });
});
