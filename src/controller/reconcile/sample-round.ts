// Step "sample": one sampling round of an audit's targets. The kubelet's memory of every target
// (one fetch per node, shared with the other audits), Go runtime.MemStats of every pod when the
// audit names a pprof port and, every max(interval, minDuration/5), a heap profile. A target whose
// read fails keeps its evidence and says why (state Failing).
import type { GoRuntimeSample, HeapProfile } from '../../model/sample.ts';
import type { KubeletReader } from '../../sampling/kubelet.ts';
import type { PodPprofReader } from '../../sampling/pod-pprof.ts';
import { metricsExpected, oomKilledContainerId } from '../container-status.ts';
import type { EvidenceLimits } from '../evidence.ts';
import type { Pod } from '../runtime/kube/types.ts';
import type { ResolvedSpec } from '../spec.ts';
import type { Target } from './find-targets.ts';
import type { Round } from './round.ts';

export type Readers = { kubelet: KubeletReader; pprof: PodPprofReader };

/** What a pod's pprof port gave, for its container serving pprof (the one with the port, else the first). */
type GoReading = { container: string; runtime?: GoRuntimeSample; profile?: HeapProfile; error?: string };

/** Bounded concurrency for per-pod profile fetches. */
const PPROF_CONCURRENCY = 8;

/** Due at 90 % of the interval, so a requeue that fires a little early still samples. */
export const sampleDue = ({ evidence, spec, nowMs }: Round, targets: readonly Target[]): boolean => targets.length > 0 && nowMs - evidence.lastRoundMs >= spec.intervalMs * 0.9;

export async function sampleRound(readers: Readers, limits: EvidenceLimits, round: Round, targets: readonly Target[]): Promise<void> {
  const { evidence: ev, spec, nowMs } = round;
  const ns = round.audit.metadata.namespace!;
  const wantProfile = spec.pprof !== null && nowMs - ev.lastProfileMs >= Math.max(spec.intervalMs, spec.minDurationMs / 5);
  const pods = [...new Map(targets.map((t) => [t.pod.metadata.name, t.pod])).values()];
  const [reads, goReads] = await Promise.all([
    Promise.all(targets.map((t) => readers.kubelet.container(t.pod.spec!.nodeName!, { namespace: ns, pod: t.pod.metadata.name, container: t.container }, spec.intervalMs / 2))),
    mapLimit(spec.pprof ? pods : [], PPROF_CONCURRENCY, (pod) => readGo(readers.pprof, pod, spec.pprof!, wantProfile)),
  ]);
  if (wantProfile) ev.lastProfileMs = nowMs;
  const goByPod = new Map(goReads.map((g, i) => [pods[i]!.metadata.name, g]));
  targets.forEach((t, i) => {
    const te = ev.target(t.pod.metadata.name, t.container, limits.maxBuckets);
    te.node = t.pod.spec!.nodeName;
    te.podUid = t.pod.metadata.uid;
    const oomKilled = oomKilledContainerId(t.pod, t.container);
    if (oomKilled) te.rememberOomKill(oomKilled);
    const read = reads[i]!;
    if (read.kind !== 'data') {
      if ('notInMetrics' in read) {
        // No series while the container waits to restart or has just started (container-status.ts);
        // and a dead container's series are gone a moment before the pod status says it died, so
        // one round without them is not a failure yet.
        if (!metricsExpected(t.pod, t.container, nowMs)) {
          te.missedRounds = 0;
          te.lastError = undefined;
          return;
        }
        if (++te.missedRounds < 2) return;
      }
      te.lastError = read.reason;
      return;
    }
    te.lastError = undefined;
    te.missedRounds = 0;
    const sample = read.value;
    const go = goByPod.get(t.pod.metadata.name);
    if (go?.container === t.container) {
      te.pprofError = go.error;
      if (go.runtime) sample.go = go.runtime;
      // Fetched in the round of this scrape, from the same incarnation: heap diffs stay within one
      // process (heap-diff.ts, profilesToDiff).
      if (go.profile) te.addProfile(sample.instance !== undefined ? { ...go.profile, instance: sample.instance } : go.profile, limits);
    }
    te.addSample(sample);
  });
  ev.lastRoundMs = nowMs;
  ev.dirty = true;
}

/** Runtime stats every round and a heap profile when due; the profile is not asked for when the stats fail. */
async function readGo(pprof: PodPprofReader, pod: Pod, { port, path }: NonNullable<ResolvedSpec['pprof']>, wantProfile: boolean): Promise<GoReading> {
  const containers = pod.spec?.containers ?? [];
  const out: GoReading = { container: (containers.find((c) => c.ports?.some((p) => p.containerPort === port)) ?? containers[0])?.name ?? '' };
  const failed = (reason: string) => ({ ...out, error: `heap profile at port ${port}: ${reason}` });
  const stats = await pprof.memStats(pod, port, path);
  if (stats.kind !== 'data') return failed(stats.reason);
  out.runtime = stats.value;
  if (!wantProfile) return out;
  const profile = await pprof.heapProfile(pod, port, path);
  return profile.kind === 'data' ? { ...out, profile: profile.value } : failed(profile.reason);
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
