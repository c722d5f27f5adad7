// A kubelet's /metrics/cadvisor for a fleet of pods, generated: what a kubelet v1.3x serves for a
// node with many pods (every cAdvisor family the kubelet exports, not only memory: CPU, file
// systems, block I/O, network, processes, tasks, spec; for each container, the pod cgroup and the
// pause container; families grouped with their HELP and TYPE lines, as client_golang writes them),
// with memory numbers that obey the cgroup's arithmetic:
//   usage = rss + cache + kernel (v1 usage_in_bytes with kmem accounting), cache = active_file +
//   inactive_file (no tmpfs here), working_set = usage - inactive_file, limit above usage, failcnt
//   rising while the page cache is held at the limit.
// Each container follows one workload (workloadOf): most are steady (a GC sawtooth on a floor),
// some fill their page cache up to the limit, some warm up to a plateau, a few leak.
//
// For the load tests of the controller (the scale bench and its smaller e2e version) and the parse
// benchmark: the stand-in kubelet (fleet-kubelet.ts) serves these bodies. Only the memory blocks
// change between scrapes; the rest of a node's body is rendered once.

const MiB = 1024 * 1024;
const PAGE = 4096;

export type Workload = 'steady' | 'cache' | 'plateau' | 'leak';

export interface GeneratedContainer {
  name: string;
  workload: Workload;
  /** 64 hex digits: cAdvisor's `name` label and the last part of its `id`. */
  id: string;
}

export interface GeneratedPod {
  namespace: string;
  name: string;
  uid: string;
  containers: GeneratedContainer[];
  /** A number that varies the pod's memory (floors, periods, phases). */
  seed: number;
}

/** The share of containers per workload: a cluster is mostly steady services. */
const MIX: [Workload, number][] = [
  ['leak', 0.02],
  ['plateau', 0.05],
  ['cache', 0.08],
  ['steady', 0.85],
];

export function workloadOf(index: number): Workload {
  // A fixed permutation of the index, so neighbours differ and the shares hold for any count.
  const u = ((index * 2654435761) >>> 0) / 2 ** 32;
  let acc = 0;
  for (const [w, share] of MIX) {
    acc += share;
    if (u < acc) return w;
  }
  return 'steady';
}

const hex64 = (a: number, b: number): string => {
  let s = '';
  for (let i = 0; i < 8; i++) s += (((a + i * 0x9e3779b1) ^ (b * 0x85ebca6b + i)) >>> 0).toString(16).padStart(8, '0');
  return s;
};

/** `count` pods of `containersPerPod` containers each, named `<prefix>-<i>`, workloads by global index. */
export function generatePods(prefix: string, namespace: string, count: number, containersPerPod: number, firstIndex = 0): GeneratedPod[] {
  return Array.from({ length: count }, (_, k) => {
    const i = firstIndex + k;
    const uid = `${hex64(i, 7).slice(0, 8)}-${hex64(i, 8).slice(0, 4)}-4${hex64(i, 9).slice(0, 3)}-8${hex64(i, 10).slice(0, 3)}-${hex64(i, 11).slice(0, 12)}`;
    return {
      namespace,
      name: `${prefix}-${i}`,
      uid,
      seed: i,
      containers: Array.from({ length: containersPerPod }, (_, c) => ({ name: c === 0 ? 'app' : `sidecar${c}`, workload: workloadOf(i * containersPerPod + c), id: hex64(i * 31 + c, 0xc0ffee) })),
    };
  });
}

export interface ContainerMemory {
  rss: number;
  cache: number;
  activeFile: number;
  inactiveFile: number;
  mapped: number;
  kernel: number;
  usage: number;
  workingSet: number;
  maxUsage: number;
  limit: number;
  failcnt: number;
  pgfault: number;
  pgmajfault: number;
}

const pages = (bytes: number): number => Math.max(0, Math.round(bytes / PAGE) * PAGE);

/**
 * The memory of container `c` of `pod` at epoch time `tMs`. Deterministic: the same inputs give
 * the same numbers, so any process (the stand-in kubelet, a test) computes what another served.
 */
export function containerMemory(pod: GeneratedPod, c: number, tMs: number): ContainerMemory {
  const w = pod.containers[c]!.workload;
  const seed = pod.seed * 7 + c;
  const s = tMs / 1000;
  // A floor of 24-200 MiB and a GC sawtooth of 2-16 MiB over 40-200 s.
  const floor = (24 + (seed % 177)) * MiB;
  const amplitude = (2 + (seed % 15)) * MiB;
  const period = 40 + (seed % 161);
  const phase = ((s + seed * 13) % period) / period;
  const noise = (((seed * 40503 + Math.floor(s / 7) * 2654435761) >>> 0) % 32) * PAGE;
  let anon = floor + amplitude * phase + noise;
  const limit = (256 + (seed % 4) * 256) * MiB;
  let cacheTarget = (1 + (seed % 5)) * MiB;
  let failcnt = 0;
  // Times are taken modulo a day, so a generated fleet looks the same whenever it is started.
  const day = s % 86_400;
  if (w === 'leak') anon += day * (1 + (seed % 10)) * 1024; // 3.5-35 MiB/h
  if (w === 'plateau') anon += Math.min(day / 1800, 1) * 64 * MiB; // +64 MiB over the first half hour
  if (w === 'cache') {
    // A writer: its page cache grows at 0.2-2 MiB/s until the limit, where the kernel reclaims it.
    const room = limit - anon - 8 * MiB;
    const grown = day * (0.2 + (seed % 10) * 0.2) * MiB;
    cacheTarget += Math.min(grown, room);
    if (grown > room) failcnt = Math.floor((grown - room) / MiB);
  }
  anon = pages(anon);
  const cache = pages(cacheTarget);
  const activeFile = pages(cache * 0.4);
  const inactiveFile = cache - activeFile;
  const kernel = pages(2 * MiB + (seed % 8) * 256 * 1024);
  const usage = anon + cache + kernel;
  return {
    rss: anon,
    cache,
    activeFile,
    inactiveFile,
    mapped: pages(Math.min(cache, 4 * MiB)),
    kernel,
    usage,
    workingSet: usage - inactiveFile,
    maxUsage: usage + amplitude,
    limit,
    failcnt,
    pgfault: Math.floor(s * 10 + seed),
    pgmajfault: 100 + (seed % 50),
  };
}

/** Go's strconv.FormatFloat(v, 'g', -1, 64), as client_golang prints values: 1.2345678e+07. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v) || Math.abs(v) < 1e6) return String(v);
  return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
}

type Family = { name: string; help: string; type: 'gauge' | 'counter'; extra?: string[] };

/** The families a kubelet's cAdvisor serves per cgroup, sorted by name as client_golang writes them. Memory ones are rendered per scrape. */
const STATIC_BEFORE_MEMORY: Family[] = [
  { name: 'container_blkio_device_usage_total', help: 'Blkio Device bytes usage', type: 'counter', extra: ['device="/dev/vda",major="252",minor="0",operation="Async"', 'device="/dev/vda",major="252",minor="0",operation="Read"', 'device="/dev/vda",major="252",minor="0",operation="Sync"', 'device="/dev/vda",major="252",minor="0",operation="Write"'] },
  { name: 'container_cpu_cfs_periods_total', help: 'Number of elapsed enforcement period intervals.', type: 'counter' },
  { name: 'container_cpu_cfs_throttled_periods_total', help: 'Number of throttled period intervals.', type: 'counter' },
  { name: 'container_cpu_cfs_throttled_seconds_total', help: 'Total time duration the container has been throttled.', type: 'counter' },
  { name: 'container_cpu_load_average_10s', help: 'Value of container cpu load average over the last 10 seconds.', type: 'gauge' },
  { name: 'container_cpu_system_seconds_total', help: 'Cumulative system cpu time consumed in seconds.', type: 'counter' },
  { name: 'container_cpu_usage_seconds_total', help: 'Cumulative cpu time consumed in seconds.', type: 'counter', extra: ['cpu="total"'] },
  { name: 'container_cpu_user_seconds_total', help: 'Cumulative user cpu time consumed in seconds.', type: 'counter' },
  { name: 'container_file_descriptors', help: 'Number of open file descriptors for the container.', type: 'gauge' },
  ...['inodes_free', 'inodes_total', 'io_current', 'io_time_seconds_total', 'io_time_weighted_seconds_total', 'limit_bytes', 'read_seconds_total', 'reads_bytes_total', 'reads_merged_total', 'reads_total', 'sector_reads_total', 'sector_writes_total', 'usage_bytes', 'write_seconds_total', 'writes_bytes_total', 'writes_merged_total', 'writes_total'].map(
    (m): Family => ({ name: `container_fs_${m}`, help: `Filesystem ${m.replace(/_/g, ' ')}`, type: m.endsWith('total') ? 'counter' : 'gauge', extra: ['device="/dev/vda1"'] }),
  ),
  { name: 'container_last_seen', help: 'Last time a container was seen by the exporter', type: 'gauge' },
];

const STATIC_AFTER_MEMORY: Family[] = [
  ...['receive_bytes_total', 'receive_errors_total', 'receive_packets_dropped_total', 'receive_packets_total', 'transmit_bytes_total', 'transmit_errors_total', 'transmit_packets_dropped_total', 'transmit_packets_total'].map((m): Family => ({ name: `container_network_${m}`, help: `Cumulative count of ${m.replace(/_/g, ' ')}`, type: 'counter', extra: ['interface="eth0"'] })),
  { name: 'container_oom_events_total', help: 'Count of out of memory events observed for the container', type: 'counter' },
  { name: 'container_processes', help: 'Number of processes running inside the container.', type: 'gauge' },
  { name: 'container_sockets', help: 'Number of open sockets for the container.', type: 'gauge' },
  { name: 'container_spec_cpu_period', help: 'CPU period of the container.', type: 'gauge' },
  { name: 'container_spec_cpu_quota', help: 'CPU quota of the container.', type: 'gauge' },
  { name: 'container_spec_cpu_shares', help: 'CPU share of the container.', type: 'gauge' },
];

const STATIC_LAST: Family[] = [
  { name: 'container_spec_memory_reservation_limit_bytes', help: 'Memory reservation limit for the container.', type: 'gauge' },
  { name: 'container_spec_memory_swap_limit_bytes', help: 'Memory swap limit for the container.', type: 'gauge' },
  { name: 'container_start_time_seconds', help: 'Start time of the container since unix epoch in seconds.', type: 'gauge' },
  { name: 'container_tasks_state', help: 'Number of tasks in given state', type: 'gauge', extra: ['state="iowaiting"', 'state="running"', 'state="sleeping"', 'state="stopped"', 'state="uninterruptible"'] },
  { name: 'container_threads', help: 'Number of threads running inside the container', type: 'gauge' },
  { name: 'container_threads_max', help: 'Maximum number of threads allowed inside the container, infinity if value is zero', type: 'gauge' },
  { name: 'container_ulimits_soft', help: 'Soft ulimit values for the container root process. Unlimited if -1, except priority and nice', type: 'gauge', extra: ['ulimit="max_open_files"'] },
];

/** The memory families, each with the ContainerMemory field it shows (null: rendered apart). */
const MEMORY: { name: string; help: string; type: 'gauge' | 'counter'; field: keyof ContainerMemory | null }[] = [
  { name: 'container_memory_cache', help: 'Number of bytes of page cache memory.', type: 'gauge', field: 'cache' },
  { name: 'container_memory_failcnt', help: 'Number of memory usage hits limits', type: 'counter', field: 'failcnt' },
  { name: 'container_memory_failures_total', help: 'Cumulative count of memory allocation failures.', type: 'counter', field: null },
  { name: 'container_memory_kernel_usage', help: 'Size of kernel memory allocated in bytes.', type: 'gauge', field: 'kernel' },
  { name: 'container_memory_mapped_file', help: 'Size of memory mapped files in bytes.', type: 'gauge', field: 'mapped' },
  { name: 'container_memory_max_usage_bytes', help: 'Maximum memory usage recorded in bytes', type: 'gauge', field: 'maxUsage' },
  { name: 'container_memory_rss', help: 'Size of RSS in bytes.', type: 'gauge', field: 'rss' },
  { name: 'container_memory_swap', help: 'Container swap usage in bytes.', type: 'gauge', field: null },
  { name: 'container_memory_total_active_file_bytes', help: 'Current total active file in bytes.', type: 'gauge', field: 'activeFile' },
  { name: 'container_memory_total_inactive_file_bytes', help: 'Current total inactive file in bytes.', type: 'gauge', field: 'inactiveFile' },
  { name: 'container_memory_usage_bytes', help: 'Current memory usage in bytes, including all memory regardless of when it was accessed', type: 'gauge', field: 'usage' },
  { name: 'container_memory_working_set_bytes', help: 'Current working set in bytes.', type: 'gauge', field: 'workingSet' },
];

interface Cgroup {
  labels: string;
  /** Index into the pod's containers; -1 for the pod cgroup, -2 for the pause container. */
  container: number;
  pod: GeneratedPod;
}

/**
 * One node's /metrics/cadvisor. `body(tMs)` renders the memory blocks at that time and joins them
 * with the static rest; values are cAdvisor's housekeeping time (`tMs` rounded down to 10 s, as a
 * kubelet's cached stats lag the scrape).
 */
export class NodeScrape {
  readonly pods: readonly GeneratedPod[];
  readonly #cgroups: Cgroup[] = [];
  readonly #before: Buffer;
  readonly #middle: Buffer;
  readonly #last: Buffer;

  constructor(pods: readonly GeneratedPod[]) {
    this.pods = pods;
    for (const pod of pods) {
      const podCg = `/kubepods/burstable/pod${pod.uid}`;
      this.#cgroups.push({ pod, container: -1, labels: `container="",id="${podCg}",image="",name="",namespace="${pod.namespace}",pod="${pod.name}"` });
      this.#cgroups.push({ pod, container: -2, labels: `container="",id="${podCg}/${hex64(pod.seed, 0x9a05e)}",image="registry.k8s.io/pause:3.10",name="${hex64(pod.seed, 0x9a05e)}",namespace="${pod.namespace}",pod="${pod.name}"` });
      pod.containers.forEach((c, i) => this.#cgroups.push({ pod, container: i, labels: `container="${c.name}",id="${podCg}/${c.id}",image="registry.example.com/shop/${c.name}:1.${pod.seed % 7}.${i}",name="${c.id}",namespace="${pod.namespace}",pod="${pod.name}"` }));
    }
    const started = 1_796_000_000_000;
    this.#before = this.#static(STATIC_BEFORE_MEMORY, started);
    this.#middle = this.#static(STATIC_AFTER_MEMORY, started);
    this.#last = this.#static(STATIC_LAST, started);
  }

  #static(families: Family[], tMs: number): Buffer {
    const out: string[] = [];
    for (const f of families) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      const network = f.name.startsWith('container_network_');
      this.#cgroups.forEach((cg, k) => {
        // Network series belong to the pod's sandbox only; file systems to containers only.
        if (network !== (cg.container === -2)) return;
        if (f.name.startsWith('container_fs_') && cg.container < 0) return;
        for (const extra of f.extra ?? ['']) out.push(`${f.name}{${cg.labels}${extra ? `,${extra}` : ''}} ${formatValue(((k * 7919 + f.name.length * 104729) % 100_000) + 0.5)} ${tMs}`);
      });
    }
    return Buffer.from(out.join('\n') + '\n');
  }

  /** The whole scrape at `tMs`. */
  body(tMs: number): Buffer {
    const t = Math.floor(tMs / 10_000) * 10_000;
    const mem = this.#cgroups.map((cg) => memoryOf(cg, t));
    const out: string[] = [];
    for (const f of MEMORY) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      this.#cgroups.forEach((cg, k) => {
        const m = mem[k]!;
        if (f.name === 'container_memory_failures_total') {
          for (const [type, v] of [['pgfault', m.pgfault], ['pgmajfault', m.pgmajfault]] as const) {
            for (const scope of ['container', 'hierarchy']) out.push(`${f.name}{${cg.labels},failure_type="${type}",scope="${scope}"} ${formatValue(v)} ${t}`);
          }
        } else out.push(`${f.name}{${cg.labels}} ${formatValue(f.field ? m[f.field] : 0)} ${t}`);
      });
    }
    const limits = ['# HELP container_spec_memory_limit_bytes Memory limit for the container.', '# TYPE container_spec_memory_limit_bytes gauge'];
    this.#cgroups.forEach((cg, k) => limits.push(`container_spec_memory_limit_bytes{${cg.labels}} ${formatValue(cg.container >= 0 ? mem[k]!.limit : 0)} ${t}`));
    return Buffer.concat([this.#before, Buffer.from(out.join('\n') + '\n'), this.#middle, Buffer.from(limits.join('\n') + '\n'), this.#last]);
  }
}

/** A container's memory; the pod cgroup sums its containers (plus the pause container's), the pause container is small and flat. */
function memoryOf(cg: Cgroup, tMs: number): ContainerMemory {
  if (cg.container >= 0) return containerMemory(cg.pod, cg.container, tMs);
  const pause: ContainerMemory = { rss: 40 * PAGE, cache: 0, activeFile: 0, inactiveFile: 0, mapped: 0, kernel: 64 * PAGE, usage: 104 * PAGE, workingSet: 104 * PAGE, maxUsage: 120 * PAGE, limit: 0, failcnt: 0, pgfault: 200, pgmajfault: 0 };
  if (cg.container === -2) return pause;
  const sum = { ...pause };
  for (let i = 0; i < cg.pod.containers.length; i++) {
    const m = containerMemory(cg.pod, i, tMs);
    for (const k of Object.keys(sum) as (keyof ContainerMemory)[]) sum[k] += m[k];
  }
  sum.limit = 0;
  return sum;
}
