/**
 * The figures of bench/controller-real.ts (one controller process against a real kube-apiserver)
 * and their markdown. Apart from the bench so that `npm run bench` can render a recorded run
 * (docs/benchmarks-controller-real.json) without starting a cluster.
 */
export interface ControllerRealFigures {
  startedAt: string;
  machine: string;
  loadAverageAtStart: number;
  containers: number;
  nodes: number;
  audits: number;
  intervalSeconds: number;
  /** The audits' spec.minDuration, and the rounds before the window (absent in runs before them: 30m, 2). */
  minDuration?: string;
  warmupRounds?: number;
  /** Of the containers' verdicts in the window, the share the engine computed in full (memaudit_analyses_total). */
  fullAnalysisShare?: number;
  /** Creating the Nodes and Pods and writing their status, with the bench's concurrency. */
  setupSeconds: number;
  setupRequestsPerSecond: number;
  auditSetupSeconds: number;
  firstRound: { wallSeconds: number; cpuSeconds: number; rssBytes: number };
  /** The measured window: rounds done are new samples per container. */
  window: { seconds: number; roundsDone: number; roundsDue: number; reconcilesPerRound: number };
  cpuSecondsPerRound: number;
  cpuCoresBusy: number;
  /** The same CPU by the controller's threads (their Linux names: "node" is the main thread, "V8 DefaultWorke" V8's workers, mostly GC). Absent in runs before 2026-12-07; the window's end /metrics read is in it. */
  cpuSecondsPerRoundByThread?: Record<string, number>;
  /** One read of the controller's /metrics (every target's series), its CPU apart from the rounds'. Absent in runs before 2026-12-07. */
  metricsScrape?: { cpuSeconds: number; bytes: number };
  /** The rest of the machine's load in the window, per round: the API server, etcd, the bench process (the stand-in kubelets). */
  othersCpuSecondsPerRound?: { kubeApiserver: number; etcd: number; standInKubelets: number };
  loadAverageAtEnd?: number;
  rssBytes: number;
  peakRssBytes: number;
  rssBytesPerContainer: number;
  apiRequestsPerRound: number;
  /** "VERB resource[/subresource]" from apiserver_request_total, the idle background subtracted. */
  apiRequestsPerRoundByKind: Record<string, number>;
  apiBackgroundPerRound: number;
  kubeletScrapesPerRound: number;
  /** PATCH/UPDATE memoryaudits/status as the API server counted them. */
  statusWritesPerMinute: number;
  /** memaudit_status_writes_total, the controller's own count. */
  controllerStatusWritesPerMinute: number;
}

/** The docs file `npm run bench` renders a recorded run from. */
export const RECORDED_FIGURES = 'docs/benchmarks-controller-real.json';

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

export function controllerRealReport(f: ControllerRealFigures): string[] {
  const rows: [string, string][] = [
    ['containers / nodes / audits', `${f.containers} / ${f.nodes} / ${f.audits} (interval ${f.intervalSeconds} s)`],
    ['setup: Nodes + Pods (create + status)', `${f.setupSeconds} s (${f.setupRequestsPerSecond} requests/s); audits ${f.auditSetupSeconds} s`],
    ['first round (lists, first samples, ConfigMaps created)', `${f.firstRound.wallSeconds} s wall, ${f.firstRound.cpuSeconds.toFixed(1)} s CPU`],
    ['audits', `interval ${f.intervalSeconds} s, window 24h, minDuration ${f.minDuration ?? '30m'}; measured after ${f.warmupRounds ?? 2} rounds`],
    ['measured window', `${f.window.seconds} s: ${f.window.roundsDone} rounds done (new samples per container) of ${f.window.roundsDue} due; ${f.window.reconcilesPerRound} reconciles per round${f.fullAnalysisShare === undefined ? '' : `; ${(f.fullAnalysisShare * 100).toFixed(1)} % of the verdicts computed in full`}`],
    ['CPU per steady round', `**${f.cpuSecondsPerRound} s** (${f.cpuCoresBusy} cores busy)`],
    ...(f.cpuSecondsPerRoundByThread ? [['the same by thread (the end of window /metrics read in it)', Object.entries(f.cpuSecondsPerRoundByThread).map(([k, v]) => `${k} ${v} s`).join(', ')] as [string, string]] : []),
    ...(f.metricsScrape ? [['one read of the controller\'s /metrics (every target\'s series; not in the rounds\' CPU)', `${f.metricsScrape.cpuSeconds} s CPU, ${mib(f.metricsScrape.bytes)}`] as [string, string]] : []),
    ...(f.othersCpuSecondsPerRound ? [['CPU per round of the rest', `kube-apiserver ${f.othersCpuSecondsPerRound.kubeApiserver} s, etcd ${f.othersCpuSecondsPerRound.etcd} s, stand-in kubelets (the bench process) ${f.othersCpuSecondsPerRound.standInKubelets} s`] as [string, string]] : []),
    ['RSS (end of window) / peak', `**${mib(f.rssBytes)}** / ${mib(f.peakRssBytes)}`],
    ['RSS per container', `**${(f.rssBytesPerContainer / 1024).toFixed(1)} KiB** (the whole process over the containers)`],
    ['API requests per round (apiserver_request_total, background subtracted)', `**${f.apiRequestsPerRound}** (background ${f.apiBackgroundPerRound})`],
    ['kubelet scrapes per round', `**${f.kubeletScrapesPerRound}**`],
    ['status writes per minute (API server / controller)', `**${f.statusWritesPerMinute}** / ${f.controllerStatusWritesPerMinute}`],
  ];
  return [
    `Run ${f.startedAt} on ${f.machine}; load average ${f.loadAverageAtStart.toFixed(2)} at the start${f.loadAverageAtEnd === undefined ? '' : `, ${f.loadAverageAtEnd.toFixed(2)} at the end`}.`,
    '',
    '| figure | value |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '| API requests per round by verb and resource | count |',
    '|---|---|',
    ...Object.entries(f.apiRequestsPerRoundByKind).map(([k, v]) => `| ${k} | ${v} |`),
  ];
}
