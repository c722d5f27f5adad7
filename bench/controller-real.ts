/**
 * `npm run bench:controller-real [-- --containers 20000 --nodes 100 --pods-per-audit 50
 * --interval 30 --min-duration 30m --warmup-rounds 2 --rounds 3 --concurrency 32 --json FILE]`: one `memaudit controller` process
 * against a REAL kube-apiserver + etcd (test/e2e's ControlPlane, from the cached binaries of
 * hack/build-kube-tools.sh), with Node and Pod objects for the fleet and a stand-in kubelet per
 * node serving generated /metrics/cadvisor (test/e2e/harness/fleet-kubelet.ts).
 *
 * The controller runs as its own process (service-account kubeconfig bound by config/rbac, leader
 * election on, --kubelet-access direct), so its CPU and RSS are its own: /proc/PID/stat utime +
 * stime, /proc/PID/status VmRSS and VmHWM. API requests are the API server's own count
 * (apiserver_request_total from its /metrics, diffed over the window, by verb/resource), less the
 * background rate of an idle window of the same cluster before the controller started. Scrapes are
 * counted by the stand-in kubelets.
 *
 * Rounds: after `--warmup-rounds` rounds of every container (the informers' lists, the first
 * samples, the evidence ConfigMaps created; past the audits' `--min-duration`, their verdicts made),
 * a window of `--rounds` intervals is measured (30 at 30 s: every periodic write and refresh in it); the rounds actually
 * done in it are the new samples of every container (memaudit_target_samples), so a controller
 * that falls behind its interval shows as fewer rounds, not as cheaper ones. Prints a markdown report;
 * never fails on numbers. Everything it starts is stopped and its temp dir removed on exit.
 */
import https from 'node:https';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { controllerRealReport } from './controller-real-report.ts';
import type { ControllerRealFigures } from './controller-real-report.ts';
import { controllerKubeconfig, createNamespace, installCrds } from '../test/e2e/harness/cluster.ts';
import { ControlPlane } from '../test/e2e/harness/control-plane.ts';
import { FleetKubelet } from '../test/e2e/harness/fleet-kubelet.ts';
import { generatePods } from '../test/e2e/harness/generated-cadvisor.ts';
import type { GeneratedPod } from '../test/e2e/harness/generated-cadvisor.ts';
import { freePort } from '../test/e2e/harness/ports.ts';
import { Proc, waitFor } from '../test/e2e/harness/process.ts';
import { NODE_BIN, REPO_ROOT } from '../test/e2e/harness/tools.ts';

const { values: flags } = parseArgs({
  options: {
    containers: { type: 'string', default: '20000' },
    nodes: { type: 'string', default: '100' },
    'pods-per-audit': { type: 'string', default: '50' },
    interval: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '3' },
    'warmup-rounds': { type: 'string', default: '2' },
    'min-duration': { type: 'string', default: '30m' },
    concurrency: { type: 'string', default: '32' },
    json: { type: 'string' },
  },
});
const CONTAINERS = Number(flags.containers);
const NODES = Number(flags.nodes);
const PODS_PER_AUDIT = Number(flags['pods-per-audit']);
const INTERVAL_S = Number(flags.interval);
const ROUNDS = Number(flags.rounds);
const WARMUP_ROUNDS = Number(flags['warmup-rounds']);
const MIN_DURATION = flags['min-duration'];
const CONCURRENCY = Number(flags.concurrency);
const NS = 'bench';
const CLK_TCK = 100;

/** Admin requests over one keep-alive agent (ControlPlane.request reads the certs per call: too slow for 40,000). */
class Admin {
  readonly #cp: ControlPlane;
  readonly #agent: https.Agent;

  private constructor(cp: ControlPlane, agent: https.Agent) {
    this.#cp = cp;
    this.#agent = agent;
  }

  static async of(cp: ControlPlane): Promise<Admin> {
    const [ca, cert, key] = await Promise.all([readFile(cp.pki.caCertFile), readFile(cp.pki.admin.certFile), readFile(cp.pki.admin.keyFile)]);
    return new Admin(cp, new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca, cert, key }));
  }

  request(method: string, apiPath: string, body?: unknown, contentType = 'application/json'): Promise<string> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request({ host: this.#cp.address, port: this.#cp.securePort, path: apiPath, method, agent: this.#agent, timeout: 60_000, headers: payload === undefined ? {} : { 'content-type': contentType } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => ((res.statusCode ?? 0) >= 300 ? reject(new Error(`${method} ${apiPath}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`)) : resolve(text)));
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath}: timeout`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Runs `task` over `items`, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]!);
  }));
}

const mergePatch = 'application/merge-patch+json';

async function createFleet(admin: Admin, kubelet: FleetKubelet, podsByNode: Map<string, GeneratedPod[]>): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await pool([...podsByNode.keys()], CONCURRENCY, async (node) => {
    const port = await kubelet.addNode(node, podsByNode.get(node)!);
    await admin.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: node, labels: { 'kubernetes.io/hostname': node } } });
    await admin.request('PATCH', `/api/v1/nodes/${node}/status`, {
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: node }],
        daemonEndpoints: { kubeletEndpoint: { Port: port } },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'stand-in kubelet of bench/controller-real.ts', lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    }, mergePatch);
  });
  const pods = [...podsByNode].flatMap(([node, list]) => list.map((pod) => ({ node, pod })));
  await pool(pods, CONCURRENCY, async ({ node, pod }) => {
    const app = auditOf(pod);
    await admin.request('POST', `/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      // The generated kubelet names the pod's cgroup by this uid; the API server picks its own, which the controller compares only with itself.
      metadata: { name: pod.name, namespace: NS, labels: { app } },
      spec: { nodeName: node, containers: pod.containers.map((c) => ({ name: c.name, image: `registry.example.com/shop/${c.name}:1`, resources: { limits: { memory: '512Mi' } } })) },
    });
    await admin.request('PATCH', `/api/v1/namespaces/${NS}/pods/${pod.name}/status`, {
      status: {
        phase: 'Running',
        podIP: '10.1.0.1',
        podIPs: [{ ip: '10.1.0.1' }],
        hostIP: '127.0.0.1',
        startTime: now,
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
        containerStatuses: pod.containers.map((c) => ({ name: c.name, ready: true, restartCount: 0, image: `registry.example.com/shop/${c.name}:1`, imageID: '', containerID: `containerd://${c.id}`, started: true, state: { running: { startedAt: now } } })),
      },
    }, mergePatch);
  });
}

const auditOf = (pod: GeneratedPod): string => `app-${Math.floor(pod.seed / PODS_PER_AUDIT)}`;

/** apiserver_request_total summed by "VERB resource[/subresource]" (code and scope folded in). */
async function apiRequests(admin: Admin): Promise<Map<string, number>> {
  const text = await admin.request('GET', '/metrics');
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!labels.resource) continue;
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

const diff = (a: Map<string, number>, b: Map<string, number>): Map<string, number> => new Map([...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const).filter(([, v]) => v > 0));

interface ProcUsage {
  cpuSeconds: number;
  rssBytes: number;
  peakRssBytes: number;
}

async function procUsage(pid: number): Promise<ProcUsage> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { cpuSeconds: (Number(f[11]) + Number(f[12])) / CLK_TCK, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** CPU seconds of each of a process's threads, summed by thread name (Linux comm: "node" is the main thread, "V8 DefaultWorke" V8's workers, mostly the garbage collector's). */
async function threadCpu(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(comm, (out.get(comm) ?? 0) + (Number(f[11]) + Number(f[12])) / CLK_TCK);
  }
  return out;
}

/** A metric of the controller's /metrics, summed over its series (optionally those with a label value). */
async function controllerMetric(port: number, name: string, label?: string): Promise<number> {
  return metricIn(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), name, label);
}

/** The sum of a metric's series in an exposition, those with `label` when given. */
function metricIn(text: string, name: string, label?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) if (!label || line.includes(label)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const cp = new ControlPlane();
  let admin: Admin | undefined;
  let kubelet: FleetKubelet | undefined;
  let controller: Proc | undefined;
  const cleanup = async () => {
    await controller?.stop(15_000).catch(() => undefined);
    await kubelet?.close().catch(() => undefined);
    admin?.close();
    await cp.stop().catch(() => undefined);
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const load = os.loadavg()[0]!;
    const startedAt = new Date();
    await cp.start();
    admin = await Admin.of(cp);
    await installCrds(cp);
    const saKubeconfig = await controllerKubeconfig(cp);
    await createNamespace(cp, NS);
    const serving = await cp.servingCert('kubelet-fleet', ['IP:127.0.0.1']);
    kubelet = new FleetKubelet({ cert: await readFile(serving.certFile), key: await readFile(serving.keyFile) });

    const perNode = Math.ceil(CONTAINERS / NODES);
    const podsByNode = new Map<string, GeneratedPod[]>();
    for (let n = 0; n < NODES; n++) podsByNode.set(`node-${n}`, generatePods('web', NS, Math.max(0, Math.min(perNode, CONTAINERS - n * perNode)), 1, n * perNode));
    const audits = Math.ceil(CONTAINERS / PODS_PER_AUDIT);

    process.stderr.write(`creating ${NODES} nodes and ${CONTAINERS} pods (concurrency ${CONCURRENCY})...\n`);
    const setup0 = performance.now();
    await createFleet(admin, kubelet, podsByNode);
    const setupSeconds = (performance.now() - setup0) / 1000;
    const audits0 = performance.now();
    await pool(Array.from({ length: audits }, (_, i) => `app-${i}`), CONCURRENCY, async (name) => {
      await admin!.request('POST', `/apis/memaudit.io/v1alpha1/namespaces/${NS}/memoryaudits`, { apiVersion: 'memaudit.io/v1alpha1', kind: 'MemoryAudit', metadata: { name, namespace: NS }, spec: { selector: { matchLabels: { app: name } }, interval: `${INTERVAL_S}s`, window: '24h', minDuration: MIN_DURATION } });
    });
    const auditSetupSeconds = (performance.now() - audits0) / 1000;
    process.stderr.write(`fleet created in ${setupSeconds.toFixed(1)} s, ${audits} audits in ${auditSetupSeconds.toFixed(1)} s; measuring the idle background...\n`);

    // The API server's own background (its leases, the bench's /metrics reads), to subtract.
    const idleMs = 15_000;
    const idle0 = await apiRequests(admin);
    await sleep(idleMs);
    const idle = diff(idle0, await apiRequests(admin));

    const port = await freePort();
    const kubeconfigFile = path.join(cp.dir, 'controller.kubeconfig');
    await writeFile(kubeconfigFile, saKubeconfig);
    const started0 = performance.now();
    controller = new Proc('controller', NODE_BIN, [
      '--disable-warning=ExperimentalWarning',
      path.join(REPO_ROOT, 'src/cli/bin.ts'),
      'controller',
      `--kubeconfig=${kubeconfigFile}`,
      `--listen=127.0.0.1:${port}`,
      '--leader-election-namespace=memaudit-system',
      '--kubelet-access=direct',
      `--kubelet-ca-file=${cp.pki.caCertFile}`,
    ], path.join(cp.dir, 'controller.log'), { ...process.env, POD_NAME: 'memaudit-controller-0' });
    const pid = controller.pid!;
    const reconciles = () => controllerMetric(port, 'memaudit_reconcile_total');
    const untilReconciles = (n: number, timeoutMs: number) => waitFor(`${n} reconciles`, async () => {
      if (!controller!.running) throw new Error(`controller exited: ${(await controller!.log()).slice(-3000)}`);
      return (await reconciles()) >= n;
    }, timeoutMs, 5000);
    await untilReconciles(audits, 30 * 60_000);
    const firstRound = { wallSeconds: (performance.now() - started0) / 1000, ...(await procUsage(pid)) };
    process.stderr.write(`first round done in ${firstRound.wallSeconds.toFixed(1)} s (${firstRound.cpuSeconds.toFixed(1)} s CPU); warming up to ${WARMUP_ROUNDS} rounds...\n`);
    await waitFor(`${WARMUP_ROUNDS} rounds`, async () => (await controllerMetric(port, 'memaudit_target_samples')) >= WARMUP_ROUNDS * CONTAINERS, (WARMUP_ROUNDS + 10) * INTERVAL_S * 1000, 5000);

    const others = async () => ({ apiserver: (await procUsage(cp.apiserver!.pid!)).cpuSeconds, etcd: (await procUsage(cp.etcd!.pid!)).cpuSeconds, bench: process.cpuUsage() });
    // The controller's metrics at each end of the window: one /metrics read (every target's series:
    // a scrape costs the controller CPU of its own, measured apart and left out of the window's).
    const metricsAt = async () => {
      const u0 = await procUsage(pid);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const cpuSeconds = (await procUsage(pid)).cpuSeconds - u0.cpuSeconds;
      const m = (name: string, label?: string) => metricIn(text, name, label);
      return { scrape: { cpuSeconds, bytes: text.length }, reconciles: m('memaudit_reconcile_total'), samples: m('memaudit_target_samples'), statusWrites: m('memaudit_status_writes_total'), full: m('memaudit_analyses_total', 'kind="full"'), reused: m('memaudit_analyses_total', 'kind="reused"') };
    };
    const atStart = await metricsAt();
    const a = { t: performance.now(), others: await others(), threads: await threadCpu(pid), usage: await procUsage(pid), api: await apiRequests(admin), scrapes: kubelet.totalScrapes, ...atStart };
    let peakRss = a.usage.rssBytes;
    const windowEnd = Date.now() + ROUNDS * INTERVAL_S * 1000;
    while (Date.now() < windowEnd) {
      await sleep(Math.min(2000, windowEnd - Date.now()));
      peakRss = Math.max(peakRss, (await procUsage(pid)).rssBytes);
    }
    const atEnd = await metricsAt();
    const b = { t: performance.now(), others: await others(), threads: await threadCpu(pid), usage: await procUsage(pid), api: await apiRequests(admin), scrapes: kubelet.totalScrapes, ...atEnd };
    const windowSeconds = (b.t - a.t) / 1000;
    // A round is one new sample of every container (reconciles also follow the audits' own status writes).
    const rounds = (b.samples - a.samples) / CONTAINERS;
    const scale = idleMs / 1000 / windowSeconds;
    const api = diff(a.api, b.api);
    const perRound = new Map([...api].map(([k, v]) => [k, Math.round(((v - (idle.get(k) ?? 0) / scale) / rounds) * 10) / 10] as const).filter(([, v]) => v >= 0.05).sort((x, y) => y[1] - x[1]));
    const cpuPerRound = (b.usage.cpuSeconds - a.usage.cpuSeconds - atEnd.scrape.cpuSeconds) / rounds;
    const statusPatches = (api.get('PATCH memoryaudits/status') ?? 0) + (api.get('UPDATE memoryaudits/status') ?? 0);
    const figures: ControllerRealFigures = {
      startedAt: startedAt.toISOString(),
      machine: `${os.cpus()[0]?.model.trim() ?? 'unknown'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; Node ${process.version}`,
      loadAverageAtStart: load,
      containers: CONTAINERS,
      nodes: NODES,
      audits,
      intervalSeconds: INTERVAL_S,
      minDuration: MIN_DURATION,
      warmupRounds: WARMUP_ROUNDS,
      fullAnalysisShare: Math.round(((b.full - a.full) / Math.max(1, b.full - a.full + b.reused - a.reused)) * 1000) / 1000,
      setupSeconds: Math.round(setupSeconds * 10) / 10,
      setupRequestsPerSecond: Math.round((NODES * 2 + CONTAINERS * 2) / setupSeconds),
      auditSetupSeconds: Math.round(auditSetupSeconds * 10) / 10,
      firstRound: { wallSeconds: Math.round(firstRound.wallSeconds * 10) / 10, cpuSeconds: firstRound.cpuSeconds, rssBytes: firstRound.rssBytes },
      window: { seconds: Math.round(windowSeconds), roundsDone: Math.round(rounds * 100) / 100, roundsDue: Math.round((windowSeconds / INTERVAL_S) * 100) / 100, reconcilesPerRound: Math.round((b.reconciles - a.reconciles) / rounds) },
      cpuSecondsPerRound: Math.round(cpuPerRound * 100) / 100,
      cpuSecondsPerRoundByThread: Object.fromEntries([...diff(a.threads, b.threads)].map(([k, v]) => [k, Math.round((v / rounds) * 100) / 100] as const).filter(([, v]) => v >= 0.01).sort((x, y) => y[1] - x[1])),
      metricsScrape: { cpuSeconds: Math.round(atEnd.scrape.cpuSeconds * 100) / 100, bytes: atEnd.scrape.bytes },
      cpuCoresBusy: Math.round(((b.usage.cpuSeconds - a.usage.cpuSeconds) / windowSeconds) * 100) / 100,
      othersCpuSecondsPerRound: {
        kubeApiserver: Math.round(((b.others.apiserver - a.others.apiserver) / rounds) * 100) / 100,
        etcd: Math.round(((b.others.etcd - a.others.etcd) / rounds) * 100) / 100,
        standInKubelets: Math.round((((b.others.bench.user + b.others.bench.system - a.others.bench.user - a.others.bench.system) / 1e6) / rounds) * 100) / 100,
      },
      loadAverageAtEnd: Math.round(os.loadavg()[0]! * 100) / 100,
      rssBytes: b.usage.rssBytes,
      peakRssBytes: Math.max(peakRss, b.usage.peakRssBytes),
      rssBytesPerContainer: Math.round(b.usage.rssBytes / CONTAINERS),
      apiRequestsPerRound: Math.round([...perRound.values()].reduce((x, y) => x + y, 0)),
      apiRequestsPerRoundByKind: Object.fromEntries(perRound),
      apiBackgroundPerRound: Math.round(([...idle.values()].reduce((x, y) => x + y, 0) / scale) / rounds),
      kubeletScrapesPerRound: Math.round(((b.scrapes - a.scrapes) / rounds) * 10) / 10,
      statusWritesPerMinute: Math.round((statusPatches / windowSeconds) * 60 * 10) / 10,
      controllerStatusWritesPerMinute: Math.round(((b.statusWrites - a.statusWrites) / windowSeconds) * 60 * 10) / 10,
    };
    process.stdout.write(controllerRealReport(figures).join('\n') + '\n');
    if (flags.json) await writeFile(flags.json, JSON.stringify(figures, null, 2) + '\n');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

await main();
