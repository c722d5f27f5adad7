// The synthetic cluster of the scan benchmark: N containers whose cAdvisor and kube-state-metrics
// series are a pure function of (container, time), so a week of them can be written in time
// slices for promtool and regenerated identically. Synthetic but physical: usage = anon + page
// cache + kernel; working set = usage - inactive_file; the cache is held at the limit by reclaim
// (failcnt rising); a leaking container under a limit is OOM-killed and restarts in a new cgroup
// (a new `id`, the restarts counter +1); counters only rise. Bump MODEL_VERSION when anything
// here changes: the cached TSDB is keyed by it.
export const MODEL_VERSION = 1;

const MiB = 2 ** 20;
const HOUR = 3_600_000;

export type Kind = 'stable' | 'cache' | 'plateau' | 'leakOom' | 'leakSlow' | 'leakNoLimit';

export interface Container {
  index: number;
  namespace: string;
  pod: string;
  container: string;
  node: string;
  kind: Kind;
  /** 0 = no limit. */
  limitBytes: number;
  requestBytes: number;
  anon0: number;
  cache0: number;
  /** Bytes per hour: anon for leaks, the cache for a writer, the warm-up for a plateau. */
  rate: number;
  /** Hours of warm-up (plateau). */
  warmHours: number;
  /** Offset of its scrapes within the minute, ms. */
  offsetMs: number;
  /** The pod's uid, in its cgroup path. */
  uid: string;
}

/** A small integer hash (lowbias32) -> [0, 1). */
export function unit(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h ^= x | 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    h ^= h >>> 16;
  }
  return (h >>> 0) / 2 ** 32;
}

const KINDS: [Kind, number][] = [
  ['stable', 0.55],
  ['cache', 0.15],
  ['plateau', 0.1],
  ['leakOom', 0.08],
  ['leakSlow', 0.07],
  ['leakNoLimit', 0.05],
];

/** Containers of the cluster: pods of two containers (app, sidecar), 100 containers a namespace. */
export function cluster(n: number): Container[] {
  const out: Container[] = [];
  for (let i = 0; i < n; i++) {
    const u = (k: number) => unit(i, k);
    let kind: Kind = 'stable';
    let acc = 0;
    const r = u(1);
    for (const [k, share] of KINDS) {
      acc += share;
      if (r < acc) {
        kind = k;
        break;
      }
    }
    const sidecar = i % 2 === 1;
    if (sidecar && kind !== 'stable' && u(2) < 0.7) kind = 'stable';
    const anon0 = (sidecar ? 8 + 40 * u(3) : 20 + 380 * u(3)) * MiB;
    const cache0 = (2 + 100 * u(4)) * MiB;
    const noLimit = kind === 'leakNoLimit' || (kind !== 'leakOom' && kind !== 'cache' && u(5) < 0.1);
    const headroom = kind === 'stable' && u(6) < 0.3 ? 3 + 5 * u(7) : 1.3 + 0.8 * u(7); // some far too high
    const limit = noLimit ? 0 : Math.ceil(((anon0 + cache0) * (kind === 'plateau' ? 3.2 : headroom)) / (64 * MiB)) * 64 * MiB;
    let rate = 0;
    if (kind === 'leakOom') rate = (limit - anon0 - cache0) / (24 + 48 * u(8)); // OOM every 1-3 days
    else if (kind === 'leakSlow' || kind === 'leakNoLimit') rate = (anon0 * (0.4 + 0.6 * u(8))) / 168; // +40-100 % a week
    else if (kind === 'cache') rate = (50 + 450 * u(8)) * MiB; // a writer: 50-500 MiB/h of files
    else if (kind === 'plateau') rate = anon0 * (1 + u(8));
    const ns = Math.floor(i / 100);
    const pod = Math.floor(i / 2);
    out.push({
      index: i,
      namespace: `team-${String(ns).padStart(2, '0')}`,
      pod: `svc-${String(ns).padStart(2, '0')}-${String(pod % 50).padStart(2, '0')}-${Math.floor(u(9) * 36 ** 5).toString(36).padStart(5, '0')}`,
      container: sidecar ? 'sidecar' : 'app',
      node: `node-${String(pod % 40).padStart(2, '0')}`,
      kind,
      limitBytes: limit,
      requestBytes: limit ? Math.round(limit * 0.6) : Math.round((anon0 + cache0) * 1.1),
      anon0,
      cache0,
      rate,
      warmHours: 2 + 10 * u(10),
      offsetMs: Math.floor(60_000 * u(11)),
      uid: Math.floor(u(12) * 2 ** 32).toString(16).padStart(8, '0'),
    });
  }
  return out;
}

/** What a scan should say of each kind (leaks under a limit are OOM-killed and keep leaking). */
export const EXPECTED: Record<Kind, string> = { stable: 'Stable', cache: 'CacheGrowth', plateau: 'Plateau', leakOom: 'Leak', leakSlow: 'Leak', leakNoLimit: 'Leak' };

export interface Point {
  incarnation: number;
  usage: number;
  workingSet: number;
  cache: number;
  rss: number;
  mappedFile: number;
  limit: number;
  failcnt: number;
  majorFaults: number;
}

/**
 * The container's state at `tMs`, the history starting at `startMs` (the container runs from
 * there). `i` is the point's index (for noise).
 */
export function pointAt(c: Container, startMs: number, tMs: number, i: number): Point {
  const hours = (tMs - startMs) / HOUR;
  const noise = (k: number) => unit(c.index, i, k) - 0.5;
  // A Go-like heap saw: up to +6 % between collections, every ~7 minutes.
  const saw = ((i + c.index) % 7) / 7;
  let anon = c.anon0;
  let cache = c.cache0;
  let incarnation = 0;
  let failcnt = 0;
  /** Hours since the current cgroup was created (counters start over in a new one). */
  let age = hours;
  switch (c.kind) {
    case 'leakOom': {
      const period = (c.limitBytes - c.anon0 - c.cache0 - 0.03 * c.limitBytes) / c.rate;
      incarnation = Math.floor(hours / period);
      age = hours - incarnation * period;
      anon = c.anon0 + c.rate * age;
      break;
    }
    case 'leakSlow':
    case 'leakNoLimit':
      anon = c.anon0 + c.rate * hours;
      break;
    case 'plateau':
      anon = c.anon0 + c.rate * Math.min(1, hours / c.warmHours);
      break;
    case 'cache': {
      // The cache grows until usage reaches the limit; reclaim then holds it there.
      const room = c.limitBytes - c.anon0 * 1.06 - 0.03 * c.limitBytes;
      const full = Math.max(0, room - c.cache0) / c.rate;
      cache = Math.min(c.cache0 + c.rate * hours, room);
      if (hours > full) failcnt = Math.floor((hours - full) * 60 * 40); // ~40 reclaims a minute at the limit
      break;
    }
    case 'stable':
      break;
  }
  anon = anon * (1 + 0.06 * saw) + noise(1) * 0.004 * anon;
  cache = Math.max(0, cache * (1 + 0.01 * noise(2)));
  const kernel = 0.02 * (anon + cache) + 256 * 1024;
  const usage = Math.round(anon + cache + kernel);
  const inactive = Math.round(cache * 0.7);
  return {
    incarnation,
    usage,
    workingSet: usage - inactive,
    cache: Math.round(cache),
    rss: Math.round(anon),
    mappedFile: Math.round(Math.min(cache, 4 * MiB + 0.05 * c.anon0)),
    limit: c.limitBytes,
    failcnt,
    majorFaults: Math.floor(age * 30 + (c.index % 100)),
  };
}
