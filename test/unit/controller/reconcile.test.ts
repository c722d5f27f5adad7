import { pino } from 'pino';
import { audit as engine } from '../../../src/analysis/audit.ts';
import type { MemoryAudit } from '../../../src/controller/api/v1alpha1.ts';
import { EventRecorder } from '../../../src/controller/events.ts';
import { isNotFound } from '../../../src/controller/runtime/kube/api-error.ts';
import type { KubeClient } from '../../../src/controller/runtime/kube/client.ts';
import type { Pod } from '../../../src/controller/runtime/kube/types.ts';
import { ControllerMetrics } from '../../../src/controller/runtime/metrics.ts';
import { Reconciler } from '../../../src/controller/reconcile.ts';
import { KubeletReader } from '../../../src/sampling/kubelet.ts';
import { PodPprofReader } from '../../../src/sampling/pod-pprof.ts';

// The reconcile loop with the API server and the kubelet replaced by recorders: it is level-based
// (a second run with nothing new writes nothing), marks vanished pods Gone, and reports an
// invalid spec as a condition instead of throwing.
const log = pino({ level: 'silent' });
const MiB = 1024 * 1024;

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

function fakeClient(calls: Call[], cadvisor: () => string): KubeClient {
  return {
    async json(method: string, path: string, options: { body?: unknown } = {}) {
      calls.push({ method, path, body: options.body });
      return {};
    },
    async get(path: string) {
      calls.push({ method: 'GET', path });
      return {};
    },
    async request(method: string, path: string) {
      calls.push({ method, path });
      return Buffer.from(cadvisor());
    },
  } as unknown as KubeClient;
}

function cadvisorText(usage: number, cache: number, ts: number, pods: string[]): string {
  const lines: string[] = [];
  for (const pod of pods) {
    const l = `container="app",id="/kubepods/pod-${pod}/c",image="x",name="c",namespace="ns",pod="${pod}"`;
    lines.push(`container_memory_usage_bytes{${l}} ${usage} ${ts}`, `container_memory_cache{${l}} ${cache} ${ts}`, `container_memory_rss{${l}} ${usage - cache} ${ts}`, `container_memory_working_set_bytes{${l}} ${usage - cache} ${ts}`);
  }
  return lines.join('\n') + '\n';
}

const pod = (name: string): Pod => ({ metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: { app: 'x' } }, spec: { nodeName: 'n1', containers: [{ name: 'app' }] }, status: { phase: 'Running', podIP: '10.0.0.9' } });

function world(spec: MemoryAudit['spec']) {
  let now = Date.UTC(2026, 0, 1);
  const calls: Call[] = [];
  const pods = new Map([['a', pod('a')], ['b', pod('b')]]);
  const audit: MemoryAudit = { apiVersion: 'memaudit.io/v1alpha1', kind: 'MemoryAudit', metadata: { name: 'x', namespace: 'ns', uid: 'u1', generation: 2 }, spec };
  const client = fakeClient(calls, () => cadvisorText(20 * MiB + (now % 1e7), 10 * MiB, now, [...pods.keys()]));
  const metrics = new ControllerMetrics(false);
  const kubelet = new KubeletReader({ api: client, isNotFound, access: 'proxy', caFile: null, insecureSkipTlsVerify: false, timeoutMs: 1000, observe: () => undefined, log, now: () => now });
  const r = new Reconciler({
    client,
    config: { maxSamplesPerTarget: 100, maxTargetsPerAudit: 10, stateSyncPeriodMs: 0 },
    log,
    metrics,
    kubelet,
    pprof: new PodPprofReader({ api: client, access: 'proxy', timeoutMs: 1000, observe: () => undefined }),
    store: null,
    events: new EventRecorder(client, log, 'test'),
    audits: { get: () => audit, list: () => [audit] },
    pods: { get: (n) => pods.get(n), list: () => [...pods.values()] },
    isLeader: () => true,
    engine,
    now: () => now,
  });
  const statusPatches = () => calls.filter((c) => c.method === 'PATCH' && c.path.endsWith('/status'));
  /** Applies what the controller wrote, as the API server would (merge patch, nulls delete). */
  const applyStatus = () => {
    const last = statusPatches().at(-1);
    if (!last) return;
    audit.status = JSON.parse(JSON.stringify({ ...(audit.status ?? {}), ...(last.body as { status: object }).status }), (_k, v: unknown) => (v === null ? undefined : v));
  };
  return { calls, pods, audit, r, kubelet, statusPatches, applyStatus, advance: (ms: number) => (now += ms) };
}

describe('Reconciler', () => {
  it('samples each node once per round for all its targets and writes status through the subresource', async () => {
    const w = world({ selector: { matchLabels: { app: 'x' } }, interval: '1s', minDuration: '5s', window: '1h' });
    const res = await w.r.reconcile('ns/x');
    expect(res.requeueAfterMs).toBe(1000);
    expect(w.calls.filter((c) => c.path === '/api/v1/nodes/n1/proxy/metrics/cadvisor')).toHaveLength(1);
    const patch = w.statusPatches()[0]!;
    expect(patch.path).toBe('/apis/memaudit.io/v1alpha1/namespaces/ns/memoryaudits/x/status');
    const status = (patch.body as { status: { targets: { pod: string; samples: number }[]; observedGeneration: number } }).status;
    expect(status.observedGeneration).toBe(2);
    expect(status.targets.map((t) => [t.pod, t.samples])).toEqual([['a', 1], ['b', 1]]);
  });

  it('is idempotent: run again before a sample is due, nothing is fetched or written', async () => {
    const w = world({ selector: { matchLabels: { app: 'x' } }, interval: '10s', minDuration: '30s', window: '1h' });
    await w.r.reconcile('ns/x');
    w.applyStatus();
    const before = w.calls.length;
    w.advance(2000);
    const res = await w.r.reconcile('ns/x');
    expect(w.calls.length).toBe(before);
    expect(res.requeueAfterMs).toBe(8000);
  });

  it('marks a vanished pod Gone, keeps its samples, and records an Event', async () => {
    const w = world({ selector: { matchLabels: { app: 'x' } }, interval: '1s', minDuration: '5s', window: '1h' });
    for (let i = 0; i < 3; i++) {
      await w.r.reconcile('ns/x');
      w.applyStatus();
      w.advance(1000);
    }
    w.pods.delete('b');
    await w.r.reconcile('ns/x');
    w.applyStatus();
    const b = w.audit.status!.targets!.find((t) => t.pod === 'b')!;
    expect(b.state).toBe('Gone');
    expect(b.samples).toBe(3);
    expect(w.audit.status!.targets!.find((t) => t.pod === 'a')!.samples).toBe(4);
    const event = w.calls.find((c) => c.method === 'POST' && c.path === '/api/v1/namespaces/ns/events' && (c.body as { reason: string }).reason === 'TargetGone');
    expect((event!.body as { message: string }).message).toMatch(/Pod b \(container app\) is gone; its 3 samples are kept/);
  });

  it('lets the kubelet reader forget a node once no audit samples a pod there', async () => {
    const w = world({ selector: { matchLabels: { app: 'x' } }, interval: '1s', minDuration: '5s', window: '1h' });
    await w.r.reconcile('ns/x');
    const scrapes = () => w.calls.filter((c) => c.path === '/api/v1/nodes/n1/proxy/metrics/cadvisor').length;
    const read = () => w.kubelet.container('n1', { namespace: 'ns', pod: 'a', container: 'app' }, 3600_000);
    await read();
    expect(scrapes()).toBe(1);
    w.pods.clear();
    w.advance(1000);
    await w.r.reconcile('ns/x');
    await read();
    expect(scrapes()).toBe(2);
  });

  it('says TargetsMissing when no running pod matches', async () => {
    const w = world({ selector: { matchLabels: { app: 'nothing' } }, interval: '1s', minDuration: '5s', window: '1h' });
    await w.r.reconcile('ns/x');
    const status = (w.statusPatches()[0]!.body as { status: { conditions: { type: string; reason: string; message: string }[] } }).status;
    expect(status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'TargetsMissing', message: 'No running pod in namespace ns matches app=nothing.' });
    expect(w.calls.some((c) => c.path.includes('/proxy/'))).toBe(false);
  });

  it('reports a spec the controller cannot use as Ready=False/InvalidSpec instead of failing', async () => {
    const w = world({ selector: {}, window: '1m', minDuration: '1h' });
    await expect(w.r.reconcile('ns/x')).resolves.toEqual({});
    const status = (w.statusPatches()[0]!.body as { status: { conditions: { type: string; reason: string; message: string }[] } }).status;
    expect(status.conditions[0]).toMatchObject({ type: 'Ready', reason: 'InvalidSpec', message: 'spec.minDuration must not exceed spec.window' });
  });
});
