import { pino } from 'pino';
import { audit as engine } from '../../../../src/analysis/audit.ts';
import type { MemoryAudit } from '../../../../src/controller/api/v1alpha1.ts';
import { EventRecorder } from '../../../../src/controller/reconcile/emit-events.ts';
import { Reconciler } from '../../../../src/controller/reconcile/reconciler.ts';
import { KubeApiError } from '../../../../src/controller/runtime/kube/api-error.ts';
import type { Pod } from '../../../../src/controller/runtime/kube/types.ts';
import { ControllerMetrics } from '../../../../src/controller/runtime/metrics.ts';
import { MiB, T0, auditOf, cadvisorText, fakeClient, log, pod, readers } from './fakes.ts';
import type { Answer, Call } from './fakes.ts';

// The reconcile loop with the API server and the kubelet replaced by recorders: it is level-based
// (a second run with nothing new writes nothing), marks vanished pods Gone, reports an invalid
// spec as a condition instead of throwing, and times every step it runs.

function world(spec: MemoryAudit['spec'], options: { answer?: Answer; pods?: Pod[]; logLines?: string[] } = {}) {
  let now = T0;
  const calls: Call[] = [];
  const pods = new Map((options.pods ?? [pod('a'), pod('b')]).map((p) => [p.metadata.name, p]));
  const audit = auditOf(spec);
  const client = fakeClient(calls, () => cadvisorText(20 * MiB + (now % 1e7), 10 * MiB, now, [...pods.keys()]), options.answer);
  const metrics = new ControllerMetrics(false);
  const { kubelet, pprof } = readers(client, () => now);
  const logger = options.logLines ? pino({ level: 'warn' }, { write: (line: string) => options.logLines!.push(line) }) : log;
  const r = new Reconciler({
    client,
    config: { maxSamplesPerTarget: 100, maxTargetsPerAudit: 10, stateSyncPeriodMs: 0, statusSyncPeriodMs: 0 },
    log: logger,
    metrics,
    kubelet,
    pprof,
    store: null,
    events: new EventRecorder(client, log, 'test'),
    audits: { get: () => audit, list: () => [audit] },
    pods: { candidates: () => [...pods.values()] },
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
  /** How many times each step was timed. */
  const stepCounts = async () => {
    const m = await metrics.reconcileStepDuration.get();
    return Object.fromEntries(m.values.filter((v) => v.metricName === 'memaudit_reconcile_step_duration_seconds_count').map((v) => [v.labels.step, v.value]));
  };
  return { calls, pods, audit, r, kubelet, statusPatches, applyStatus, stepCounts, advance: (ms: number) => (now += ms) };
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

  it('times each step it runs into memaudit_reconcile_step_duration_seconds, and only those', async () => {
    const w = world({ selector: { matchLabels: { app: 'x' } }, interval: '10s', minDuration: '30s', window: '1h' });
    await w.r.reconcile('ns/x');
    expect(await w.stepCounts()).toEqual({ restoreEvidence: 1, findTargets: 1, sample: 1, evaluate: 1, writeStatus: 1, emitEvents: 1 });
    w.applyStatus();
    w.advance(2000);
    await w.r.reconcile('ns/x');
    // Evidence already in memory, no sample due: neither step runs.
    expect(await w.stepCounts()).toEqual({ restoreEvidence: 1, findTargets: 2, sample: 1, evaluate: 2, writeStatus: 2, emitEvents: 2 });
  });

  it('logs a failing step by name, times it, and fails this reconcile for the queue to retry', async () => {
    const logLines: string[] = [];
    const owned = (name: string) => pod(name, { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs', controller: true }] });
    const answer: Answer = (_m, path) => (path.includes('/replicasets/') ? new KubeApiError(403, 'Forbidden', `GET ${path}: HTTP 403 Forbidden`) : undefined);
    const w = world({ selector: { matchLabels: { app: 'x' } }, interval: '1s', minDuration: '5s', window: '1h', action: 'Patch' }, { answer, pods: [owned('a')], logLines });
    await expect(w.r.reconcile('ns/x')).rejects.toThrow(/HTTP 403 Forbidden/);
    expect(logLines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([expect.objectContaining({ level: 40, step: 'decideAction', audit: 'ns/x', msg: 'Reconcile step failed' })]);
    expect(await w.stepCounts()).toMatchObject({ sample: 1, evaluate: 1, decideAction: 1 });
    expect(w.statusPatches()).toHaveLength(0);
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
