/**
 * Controller figures, measured IN-PROCESS against the controller code of this checkout: the real
 * Reconciler (its kubelet and pprof readers, the engine, status, Events, the evidence ConfigMap)
 * with the API server replaced by a fake that answers from generated kubelet scrapes and the
 * fixture heap profile, counting every request. No network, no real API server: CPU is this
 * process's, requests are those the code makes.
 *
 * Each figure comes from one function below (measureEvidenceBytes, measureRounds); a measurement
 * against a real API server (test/e2e's apiserver + kubelet) can replace either and keep the
 * ControllerFigures shape, with `method` saying where the numbers come from.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { audit as engine } from '../src/analysis/audit.ts';
import type { MemoryAudit } from '../src/controller/api/v1alpha1.ts';
import { encodeEvidence } from '../src/controller/evidence-codec.ts';
import { AuditEvidence, DEFAULT_EVIDENCE_LIMITS } from '../src/controller/evidence.ts';
import { EVIDENCE_KEY, EvidenceStore, evidenceConfigMapName } from '../src/controller/evidence-store.ts';
import { EventRecorder } from '../src/controller/reconcile/emit-events.ts';
import { Reconciler } from '../src/controller/reconcile/reconciler.ts';
import { isNotFound } from '../src/controller/runtime/kube/api-error.ts';
import type { KubeClient } from '../src/controller/runtime/kube/client.ts';
import type { Pod } from '../src/controller/runtime/kube/types.ts';
import { LabelIndex } from '../src/controller/runtime/label-index.ts';
import { ControllerMetrics } from '../src/controller/runtime/metrics.ts';
import { KubeletReader } from '../src/sampling/kubelet.ts';
import { PodPprofReader } from '../src/sampling/pod-pprof.ts';
import { scanCadvisorMetrics } from '../src/sources/cadvisor.ts';
import { generatePods, NodeScrape } from '../test/e2e/harness/generated-cadvisor.ts';
import { decodeHeapProfile } from '../src/sources/pprof.ts';
import { goSampleFromMemStats, parseMemStatsText } from '../src/sources/memstats.ts';
import { timing, type Timing } from './measure.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const MiB = 2 ** 20;
const log = pino({ level: 'silent' });
const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const INTERVAL_MS = 30_000;

/** The cluster a round is measured on: nodes of `podsPerNode` one-container pods, one audit per `podsPerAudit` pods. */
export interface Scenario {
  nodes: number;
  podsPerNode: number;
  podsPerAudit: number;
  /** Share of audits that declare a pprof port (Go services): MemStats every round, a heap profile every minDuration/5. */
  goShare: number;
}

export interface ControllerFigures {
  /** Where the numbers come from. */
  method: string;
  /** Heap bytes held for one container's evidence after 24 h at 30 s (the controller's bounds applied), as the code holds it now. */
  bytesPerContainer: number;
  /** The samples' own heap bytes, with the scrape text they pin left out. */
  ownBytesPerContainer: number;
  /** The same evidence as saved in the audit's ConfigMap (gzipped JSON), bytes. */
  persistedBytesPerContainer: number;
  samplesKeptPerContainer: number;
  /** CPU seconds of one sampling round (kubelet parse, MemStats, engine, status, Events, evidence save), scaled to 20,000 containers. */
  cpuSecondsPerRound20k: number;
  /** API server requests per round for 20,000 containers (the cycle's mean): Go targets' MemStats and heap profiles left out (podFetchesPerRound). */
  apiRequestsPerRound: number;
  /** MemStats and heap profiles of Go targets per round for 20,000 containers: to the pod IP by default, through the API server with --pprof-access proxy. */
  podFetchesPerRound: number;
  measured: {
    containers: number;
    scenario: Scenario;
    /** CPU seconds of each round of the cycle: median and spread. */
    cpuSecondsSteadyRounds: Timing;
    /** The mean over the cycle: periodic work amortised. */
    cpuSecondsSteadyRound: number;
    /** Rounds measured after the warm-up (30: 15 min at 30 s). */
    cycleRounds: number;
    cpuSecondsProfileRound: number;
    wallSecondsSteadyRound: number;
    /** Wall seconds of each reconcile step in the steady round (the controller's step histogram). */
    stepSecondsSteadyRound: Record<string, number>;
    /** Requests of one round by kind, at the measured size. */
    requestsSteadyRound: Record<string, number>;
    requestsProfileRound: Record<string, number>;
    profileEveryRounds: number;
    kubeletScrapeBytesPerNode: number;
    configMapBytesPerRound: number;
  };
}

// ---------------------------------------------------------------------------------------------
// A kubelet's /metrics/cadvisor, generated: for every pod the app container, the pod cgroup and
// the pause container, each with the ~60 series a kubelet serves per cgroup (CPU, memory,
// filesystem, block I/O, tasks, spec), and the pod's network series. The parser reads only the
// memory series of the app container; the rest is what it must skip, as on a real node.
// ---------------------------------------------------------------------------------------------

const FS = ['inodes_free', 'inodes_total', 'io_current', 'io_time_seconds_total', 'io_time_weighted_seconds_total', 'limit_bytes', 'read_seconds_total', 'reads_bytes_total', 'reads_merged_total', 'reads_total', 'sector_reads_total', 'sector_writes_total', 'usage_bytes', 'write_seconds_total', 'writes_bytes_total', 'writes_merged_total', 'writes_total'].map((m) => `container_fs_${m}`);
const CPU = ['cpu_cfs_periods_total', 'cpu_cfs_throttled_periods_total', 'cpu_cfs_throttled_seconds_total', 'cpu_load_average_10s', 'cpu_system_seconds_total', 'cpu_usage_seconds_total', 'cpu_user_seconds_total', 'spec_cpu_period', 'spec_cpu_quota', 'spec_cpu_shares'].map((m) => `container_${m}`);
const MISC = ['file_descriptors', 'last_seen', 'processes', 'sockets', 'start_time_seconds', 'threads', 'threads_max', 'oom_events_total', 'spec_memory_reservation_limit_bytes', 'spec_memory_swap_limit_bytes', 'memory_max_usage_bytes', 'memory_swap'].map((m) => `container_${m}`);
const NET = ['receive_bytes_total', 'receive_errors_total', 'receive_packets_dropped_total', 'receive_packets_total', 'transmit_bytes_total', 'transmit_errors_total', 'transmit_packets_dropped_total', 'transmit_packets_total'].map((m) => `container_network_${m}`);

function cgroupSeries(out: string[], labels: string, t: number, memory: { usage: number; cache: number; rss: number; mapped: number; limit: number }, seed: number): void {
  const v = (k: number) => ((seed * 7919 + k * 104729) % 100000) + t / 1000;
  for (const m of CPU) out.push(`${m}{${labels}} ${v(1)} ${t}`);
  for (const m of FS) out.push(`${m}{${labels},device="/dev/vda1"} ${v(2)} ${t}`);
  for (const m of MISC) out.push(`${m}{${labels}} ${v(3)} ${t}`);
  for (const op of ['Read', 'Write', 'Sync', 'Async']) out.push(`container_blkio_device_usage_total{${labels},device="/dev/vda",major="252",minor="0",operation="${op}"} ${v(4)} ${t}`);
  for (const st of ['iowaiting', 'running', 'sleeping', 'stopped', 'uninterruptible']) out.push(`container_tasks_state{${labels},state="${st}"} 0 ${t}`);
  for (const [type, scope] of [['pgfault', 'container'], ['pgfault', 'hierarchy'], ['pgmajfault', 'container'], ['pgmajfault', 'hierarchy']] as const) out.push(`container_memory_failures_total{${labels},failure_type="${type}",scope="${scope}"} ${Math.floor(v(5))} ${t}`);
  out.push(
    `container_memory_cache{${labels}} ${memory.cache} ${t}`,
    `container_memory_rss{${labels}} ${memory.rss} ${t}`,
    `container_memory_mapped_file{${labels}} ${memory.mapped} ${t}`,
    `container_memory_usage_bytes{${labels}} ${memory.usage} ${t}`,
    `container_memory_working_set_bytes{${labels}} ${memory.usage - Math.floor(memory.cache * 0.8)} ${t}`,
    `container_memory_failcnt{${labels}} 0 ${t}`,
    `container_spec_memory_limit_bytes{${labels}} ${memory.limit} ${t}`,
  );
}

/** A deterministic stand-in for noise: real counters move by a few pages between scrapes. */
const jitterPages = (i: number, t: number): number => (((i * 2654435761 + t / 1000) * 40503) % 65521) % 64;

/** The memory of pod `i` at time t: a GC sawtooth on a floor, a few pages of noise; every 4th pod writes files (cache), every 8th leaks. */
function podMemory(i: number, t: number) {
  // Seconds since the evidence window opened, a day before T0.
  const s = (t - T0) / 1000 + 86_400;
  const rss = 40 * MiB + ((s * 4096 + i * 65536) % (8 * MiB)) + jitterPages(i, t) * 4096 + (i % 8 === 7 ? s * 2000 : 0);
  const cache = 2 * MiB + (i % 4 === 1 ? (s * 30_000) % (200 * MiB) : 0);
  const rssR = Math.round(rss / 4096) * 4096;
  const cacheR = Math.round(cache / 4096) * 4096;
  return { usage: rssR + cacheR + MiB, cache: cacheR, rss: rssR, mapped: MiB, limit: 512 * MiB };
}

export function kubeletScrape(node: string, pods: readonly string[], t: number, withFiller = true): string {
  const out: string[] = [];
  pods.forEach((p, i) => {
    const uid = `${node}-${i}-0000-4000-8000-000000000000`;
    const app = `container="app",id="/kubepods/burstable/pod${uid}/${p}app",image="registry.local/app:1",name="${p}app",namespace="ns",pod="${p}"`;
    const mem = podMemory(i, t);
    if (!withFiller) {
      out.push(`container_memory_cache{${app}} ${mem.cache} ${t}`, `container_memory_rss{${app}} ${mem.rss} ${t}`, `container_memory_mapped_file{${app}} ${mem.mapped} ${t}`, `container_memory_usage_bytes{${app}} ${mem.usage} ${t}`, `container_memory_working_set_bytes{${app}} ${mem.usage - Math.floor(mem.cache * 0.8)} ${t}`, `container_spec_memory_limit_bytes{${app}} ${mem.limit} ${t}`);
      return;
    }
    cgroupSeries(out, app, t, mem, i);
    cgroupSeries(out, `container="",id="/kubepods/burstable/pod${uid}",image="",name="",namespace="ns",pod="${p}"`, t, { ...mem, usage: mem.usage + 400_000 }, i + 1);
    cgroupSeries(out, `container="POD",id="/kubepods/burstable/pod${uid}/${p}pause",image="registry.k8s.io/pause:3.9",name="${p}pause",namespace="ns",pod="${p}"`, t, { usage: 400_000, cache: 0, rss: 380_000, mapped: 0, limit: 0 }, i + 2);
    for (const m of NET) out.push(`${m}{container="",id="/kubepods/burstable/pod${uid}",image="",interface="eth0",name="",namespace="ns",pod="${p}"} ${i * 1000 + t / 1000} ${t}`);
  });
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Evidence size: one node's containers sampled through the real parser for 24 h at 30 s.
// ---------------------------------------------------------------------------------------------

/**
 * Heap and ConfigMap bytes per container of 24 h of evidence at 30 s, sampled from generated
 * kubelet scrapes of a node (test/e2e/harness/generated-cadvisor.ts: every cAdvisor family, steady,
 * caching, warming and leaking containers) through the kubelet scanner and the controller's evidence
 * (src/controller/evidence.ts, compact-samples.ts), the window pruned every round as the controller
 * does. Held bytes are the V8 heap and the ArrayBuffers' backing stores, after GC, that dropping
 * the containers' evidence frees (TargetEvidence, its series and strings).
 */
export function measureEvidenceBytes(containers: number, hours = 24): EvidenceBytes {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');
  const pods = generatePods('web', 'ns', containers, 1);
  const node = new NodeScrape(pods);
  const ev = new AuditEvidence('uid');
  const settle = () => {
    for (let i = 0; i < 3; i++) gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const rounds = (hours * 3600_000) / INTERVAL_MS;
  const windowMs = hours * 3600_000;
  for (let r = 0; r < rounds; r++) {
    const t = T0 + r * INTERVAL_MS;
    // The generated kubelet refreshes every 10 s; a round's scrape time moves on by 30 s.
    for (const c of scanCadvisorMetrics(node.body(t), { source: 'n0', scrapeTimeMs: t }).containers) {
      const te = ev.target(c.key.pod, c.key.container);
      te.addSample(c.sample);
      te.prune(t, windowMs);
    }
  }
  const persisted = encodeEvidence(ev, T0 + rounds * INTERVAL_MS, Number.MAX_SAFE_INTEGER).length;
  const t0 = [...ev.targets.values()][0]!;
  const figures = { seriesBytesPerContainer: Math.round(ev.heldBytes() / containers), persistedBytesPerContainer: Math.round(persisted / containers), samplesKept: t0.series.length, samplesTaken: t0.samplesTaken, rounds };
  // Held = the heap with the evidence minus the heap once it is dropped: a baseline taken before
  // the rounds would count the code compiled and the caches filled meanwhile (and go negative).
  const withEvidence = settle();
  ev.targets.clear();
  const held = withEvidence - settle();
  return { heapBytesPerContainer: Math.round(held / containers), ...figures };
}

export interface EvidenceBytes {
  /** Heap and backing stores held per container's evidence after `rounds` rounds (GC'd). */
  heapBytesPerContainer: number;
  /** Of which the compact samples' own bytes (CompactSamples.heldBytes). */
  seriesBytesPerContainer: number;
  persistedBytesPerContainer: number;
  samplesKept: number;
  /** Samples taken within the window, which the kept ones stand for. */
  samplesTaken: number;
  rounds: number;
}

// ---------------------------------------------------------------------------------------------
// Rounds: the Reconciler over every audit, as the queue runs it each interval.
// ---------------------------------------------------------------------------------------------

const MEMSTATS = 'MemStats (pprof ?debug=1)';
const HEAP_PROFILE = 'heap profile';
/** Requests to the Go targets themselves (through pods/proxy here, as --pprof-access proxy does). */
const POD_FETCHES = new Set([MEMSTATS, HEAP_PROFILE]);

const kindOf = (method: string, p: string): string => {
  if (p.includes('/proxy/metrics/cadvisor')) return 'kubelet scrape';
  if (p.includes('/proxy/debug/pprof/') && p.includes('debug=1')) return MEMSTATS;
  if (p.includes('/proxy/debug/pprof/')) return HEAP_PROFILE;
  if (p.endsWith('/status')) return 'status write';
  if (p.includes('/events')) return 'Event';
  if (p.includes('/configmaps')) return method === 'GET' ? 'evidence read' : 'evidence write';
  return `${method} other`;
};

/** measureEvidenceBytes in a child process (node --expose-gc bench/evidence-bytes.ts), away from other benchmarks' garbage. */
export function measureEvidenceBytesApart(containers: number, hours = 24): EvidenceBytes {
  const r = spawnSync(process.execPath, ['--expose-gc', '--disable-warning=ExperimentalWarning', path.join(ROOT, 'bench/evidence-bytes.ts'), String(containers), String(hours)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/evidence-bytes.ts: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as EvidenceBytes;
}

/**
 * `cycleRounds` rounds after the warm-up: work that comes every few rounds (evidence saves and
 * status progress every 5 min, heap profiles every 6 min, a full audit of a container that stays
 * put every 15 min) is in their mean; 30 rounds are 15 min at 30 s.
 */
export async function measureRounds(scenario: Scenario, cycleRounds = 30): Promise<ControllerFigures['measured']> {
  const memStatsText = readFileSync(path.join(ROOT, 'test/fixtures/pprof/heapleak-debug1.txt'));
  const profileBytes = readFileSync(path.join(ROOT, 'test/fixtures/pprof/heapleak-2.pb.gz'));
  const goSample = goSampleFromMemStats(parseMemStatsText(memStatsText.toString('utf8'), 'fixture'), 'fixture');
  const profile = decodeHeapProfile(profileBytes, { source: 'fixture' });

  const nodes = Array.from({ length: scenario.nodes }, (_, n) => `node-${n}`);
  const podsByNode = new Map(nodes.map((n, ni) => [n, Array.from({ length: scenario.podsPerNode }, (_, i) => `p${ni}-${i}`)]));
  const allPods: Pod[] = [];
  for (const [node, names] of podsByNode) for (const name of names) allPods.push({ metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: {} }, spec: { nodeName: node, containers: [{ name: 'app', ports: [{ containerPort: 6060 }] }] }, status: { phase: 'Running', podIP: '10.0.0.1' } });
  const audits: MemoryAudit[] = [];
  for (let i = 0; i * scenario.podsPerAudit < allPods.length; i++) {
    const name = `app-${i}`;
    const go = i < Math.round((allPods.length / scenario.podsPerAudit) * scenario.goShare);
    for (const p of allPods.slice(i * scenario.podsPerAudit, (i + 1) * scenario.podsPerAudit)) p.metadata.labels = { app: name };
    audits.push({ apiVersion: 'memaudit.io/v1alpha1', kind: 'MemoryAudit', metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: 1 }, spec: { selector: { matchLabels: { app: name } }, interval: '30s', window: '24h', minDuration: '30m', ...(go ? { pprof: { port: 6060, path: '/debug/pprof/heap' } } : {}) } });
  }

  // Evidence at steady state: 24 h at 30 s already sampled (bounded as the controller bounds it),
  // restored from each audit's ConfigMap in the warm-up round. Heap profiles last fetched so that
  // they are due in the second round.
  const profileEveryMs = Math.max(INTERVAL_MS, (30 * 60_000) / 5);
  const saved = new Map<string, string>();
  for (const a of audits) {
    const ev = new AuditEvidence(a.metadata.uid!);
    const pods = allPods.filter((p) => p.metadata.labels!.app === a.metadata.name);
    const targets = pods.map((p) => {
      const te = ev.target(p.metadata.name, 'app');
      te.node = p.spec!.nodeName;
      te.podUid = p.metadata.uid;
      return te;
    });
    for (let r = -2880; r < 0; r++) {
      const t = T0 + r * INTERVAL_MS;
      targets.forEach((te, i) => {
        const m = podMemory(i, t);
        te.addSample({ timestampMs: t, usageBytes: m.usage, workingSetBytes: m.usage - Math.floor(m.cache * 0.8), fileBytes: m.cache, anonBytes: m.rss, mappedFileBytes: m.mapped, limitBytes: m.limit, majorFaultCount: 3, failCount: 0, instance: `/kubepods/burstable/pod${te.podUid}/app`, ...(a.spec.pprof ? { go: goSample } : {}) });
      });
    }
    if (a.spec.pprof) for (const te of targets) for (let k = 0; k < DEFAULT_EVIDENCE_LIMITS.maxProfiles; k++) te.addProfile({ ...profile, timestampMs: T0 - (k + 1) * profileEveryMs }, DEFAULT_EVIDENCE_LIMITS);
    ev.lastRoundMs = T0 - INTERVAL_MS;
    ev.lastProfileMs = T0 + INTERVAL_MS - profileEveryMs;
    saved.set(evidenceConfigMapName(a.metadata.name), encodeEvidence(ev, T0 - INTERVAL_MS, Number.MAX_SAFE_INTEGER).toString('base64'));
  }

  let now = T0;
  const counts = new Map<string, number>();
  let configMapBytes = 0;
  const scrapeCache = new Map<string, Buffer>();
  const count = (method: string, p: string) => counts.set(kindOf(method, p), (counts.get(kindOf(method, p)) ?? 0) + 1);
  const byName = new Map(audits.map((a) => [a.metadata.name, a]));
  const client = {
    async json(method: string, p: string, options: { body?: unknown } = {}) {
      count(method, p);
      if (p.endsWith('/status') && method === 'PATCH') {
        // Apply the merge patch as the API server would, so the next round patches only what changed.
        const a = byName.get(decodeURIComponent(p.split('/').at(-2)!))!;
        const patch = (options.body as { status: Record<string, unknown> }).status;
        a.status = JSON.parse(JSON.stringify({ ...(a.status ?? {}), ...patch }), (_k, v: unknown) => (v === null ? undefined : v)) as MemoryAudit['status'];
      }
      if (p.includes('/configmaps')) configMapBytes += JSON.stringify(options.body ?? '').length;
      return {};
    },
    async get(p: string) {
      count('GET', p);
      const name = decodeURIComponent(p.split('/').at(-1)!);
      const data = saved.get(name);
      if (data) {
        saved.delete(name);
        return { binaryData: { [EVIDENCE_KEY]: data } };
      }
      return {};
    },
    async request(method: string, p: string) {
      count(method, p);
      if (p.includes('/metrics/cadvisor')) {
        const node = decodeURIComponent(p.split('/')[4]!);
        const key = `${node}@${now}`;
        let body = scrapeCache.get(key);
        if (!body) scrapeCache.set(key, (body = Buffer.from(kubeletScrape(node, podsByNode.get(node)!, now))));
        return body;
      }
      if (p.includes('debug=1')) return memStatsText;
      return profileBytes;
    },
  } as unknown as KubeClient;

  const kubelet = new KubeletReader({ api: client, isNotFound, config: { kubeletAccess: 'proxy', kubeletCaFile: null, kubeletInsecureSkipTlsVerify: false, kubeletTimeoutMs: 10_000 }, observe: () => undefined, log, now: () => now });
  const pprof = new PodPprofReader({ api: client, config: { pprofAccess: 'proxy', pprofTimeoutMs: 10_000 }, observe: () => undefined });
  const metrics = new ControllerMetrics(false);
  /** Seconds spent so far in each reconcile step (the controller's own step histogram). */
  const stepSeconds = async (): Promise<Record<string, number>> => {
    const m = await metrics.reconcileStepDuration.get();
    return Object.fromEntries(m.values.filter((v) => v.metricName === 'memaudit_reconcile_step_duration_seconds_sum').map((v) => [String(v.labels.step), v.value]));
  };
  const reconciler = new Reconciler({
    client,
    config: { maxSamplesPerTarget: 280, maxTargetsPerAudit: 200, stateSyncPeriodMs: 300_000, statusSyncPeriodMs: 300_000 },
    log,
    metrics,
    kubelet,
    pprof,
    store: new EvidenceStore(client, log),
    events: new EventRecorder(client, log, 'bench'),
    audits: { get: (name: string) => byName.get(name), list: () => audits },
    pods: (() => {
      const index = new LabelIndex<Pod>();
      for (const p of allPods) index.set(p);
      return index;
    })(),
    isLeader: () => true,
    engine,
    now: () => now,
  });

  const round = async () => {
    counts.clear();
    configMapBytes = 0;
    // Pre-render this round's scrapes so the generator's own cost is not counted as the controller's.
    for (const [node, names] of podsByNode) scrapeCache.set(`${node}@${now}`, Buffer.from(kubeletScrape(node, names, now)));
    const steps0 = await stepSeconds();
    const cpu = process.cpuUsage();
    const wall = performance.now();
    for (const a of audits) await reconciler.reconcile(`ns/${a.metadata.name}`);
    const d = process.cpuUsage(cpu);
    const wallSeconds = (performance.now() - wall) / 1000;
    const steps1 = await stepSeconds();
    const steps = Object.fromEntries(Object.entries(steps1).map(([k, v]) => [k, Math.round((v - (steps0[k] ?? 0)) * 1000) / 1000]));
    const out = { cpuSeconds: (d.user + d.system) / 1e6, wallSeconds, requests: Object.fromEntries(counts), configMapBytes, steps };
    scrapeCache.clear();
    return out;
  };
  await round(); // warm-up: restores the evidence from the ConfigMaps (and audits every container in full)
  now += INTERVAL_MS;
  const withProfiles = await round();
  // A cycle of rounds: the periodic work is in the mean; the spread of single rounds beside it.
  const cycle: Awaited<ReturnType<typeof round>>[] = [];
  for (let i = 0; i < cycleRounds; i++) {
    now += INTERVAL_MS;
    cycle.push(await round());
  }
  const mean = (pick: (r: (typeof cycle)[number]) => number) => cycle.reduce((s, r) => s + pick(r), 0) / cycle.length;
  const meanOf = (pick: (r: (typeof cycle)[number]) => Record<string, number>) => {
    const keys = new Set(cycle.flatMap((r) => Object.keys(pick(r))));
    return Object.fromEntries([...keys].map((k) => [k, Math.round(mean((r) => pick(r)[k] ?? 0) * 1000) / 1000]));
  };
  const containers = allPods.length;
  return {
    containers,
    scenario,
    cpuSecondsSteadyRounds: timing(cycle.map((r) => r.cpuSeconds)),
    cpuSecondsSteadyRound: mean((r) => r.cpuSeconds),
    cpuSecondsProfileRound: withProfiles.cpuSeconds,
    wallSecondsSteadyRound: mean((r) => r.wallSeconds),
    stepSecondsSteadyRound: meanOf((r) => r.steps),
    requestsSteadyRound: meanOf((r) => r.requests),
    requestsProfileRound: withProfiles.requests,
    cycleRounds,
    profileEveryRounds: profileEveryMs / INTERVAL_MS,
    kubeletScrapeBytesPerNode: Buffer.byteLength(kubeletScrape(nodes[0]!, podsByNode.get(nodes[0]!)!, now)),
    configMapBytesPerRound: mean((r) => r.configMapBytes),
  };
}

/** The figures for 20,000 containers from a measured round: CPU and requests scale with containers (nodes and audits grow with them). */
export function figuresFor20k(measured: ControllerFigures['measured'], evidence: EvidenceBytes): ControllerFigures {
  const scale = 20_000 / measured.containers;
  const sum = (r: Record<string, number>, pods: boolean) => Object.entries(r).reduce((a, [k, n]) => a + (POD_FETCHES.has(k) === pods ? n : 0), 0);
  return {
    method: `in-process: this checkout's Reconciler, kubelet and pprof readers, engine and evidence store, against a fake API server (generated kubelet scrapes, fixture MemStats and heap profile); ${measured.containers} containers measured and scaled x${scale.toFixed(1)} to 20,000`,
    bytesPerContainer: evidence.heapBytesPerContainer,
    ownBytesPerContainer: evidence.seriesBytesPerContainer,
    persistedBytesPerContainer: evidence.persistedBytesPerContainer,
    samplesKeptPerContainer: evidence.samplesKept,
    cpuSecondsPerRound20k: Math.round(measured.cpuSecondsSteadyRound * scale * 100) / 100,
    apiRequestsPerRound: Math.round(sum(measured.requestsSteadyRound, false) * scale),
    podFetchesPerRound: Math.round(sum(measured.requestsSteadyRound, true) * scale),
    measured,
  };
}

/** For the report: one line per request kind. */
export const requestLines = (r: Record<string, number>): string => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
