import { jest } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { audit as engine } from '../../../src/analysis/audit.ts';
import { DEFAULT_EVIDENCE_LIMITS } from '../../../src/controller/evidence.ts';
import { backfill, backfillDue, type HistorySource } from '../../../src/controller/reconcile/backfill.ts';
import { evaluate } from '../../../src/controller/reconcile/evaluate.ts';
import { ControllerMetrics } from '../../../src/controller/runtime/metrics.ts';
import { PrometheusClient } from '../../../src/sampling/prometheus.ts';
import { labelledCases } from '../../helpers/labelled.ts';
import { cadvisorFields, cadvisorOpenMetrics, freeLoopbackPort, promtoolBackfill, startPrometheus, type RunningPrometheus } from '../../helpers/prometheus.ts';
import { auditOf, pod, round } from '../../unit/controller/reconcile/fakes.ts';

// The controller's step "backfill" against a real Prometheus that holds the history of one pod
// (a labelled trace, a heap leak, as cAdvisor series) and none of another: the first pod's
// evidence starts from its history, so the engine gives its verdict at once; the second, new, has
// no history and waits for live samples; neither is asked again.
jest.setTimeout(180_000);

let dir: string;
let prom: RunningPrometheus;
let client: PrometheusClient;
let traceEndMs: number;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'memaudit-backfill-'));
  const { samples } = await labelledCases().find((c) => c.name === 'cgroup/heap-leak')!.load();
  traceEndMs = Math.floor((Date.now() - 60_000) / 1000) * 1000;
  const shift = traceEndMs - samples.at(-1)!.timestampMs;
  await writeFile(path.join(dir, 'h.om'), cadvisorOpenMetrics([{ labels: { namespace: 'ns', pod: 'old', container: 'app', id: '/kubepods/pod-old/app' }, points: samples.map((s) => cadvisorFields({ ...s, timestampMs: s.timestampMs + shift })) }]));
  await promtoolBackfill(path.join(dir, 'h.om'), path.join(dir, 'data'));
  prom = await startPrometheus({ dataDir: path.join(dir, 'data'), workDir: dir });
  client = new PrometheusClient({ url: prom.url, timeoutMs: 30_000, concurrency: 2 });
});

afterAll(async () => {
  client?.close();
  await prom?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const spec = { selector: { matchLabels: { app: 'x' } }, interval: '2s', window: '10m', minDuration: '2m' };
const targets = [{ pod: pod('old'), container: 'app' }, { pod: pod('new'), container: 'app' }];

describe('backfill from a real Prometheus', () => {
  it('starts a container with history from it, so its first evaluation has a verdict; a new one waits', async () => {
    const history: HistorySource = { client, selector: [] };
    const r = round(auditOf(spec), traceEndMs + 30_000);
    expect(backfillDue(r, targets, history)).toBe(true);
    const metrics = new ControllerMetrics(false);
    await backfill(history, metrics, DEFAULT_EVIDENCE_LIMITS, r, targets);
    const old = r.evidence.targets.get('old/app')!;
    expect(old.samples().length).toBeGreaterThan(140); // the trace: 151 samples 2 s apart
    // The trace's last sample, on the grid, read again at most one step later (last_over_time over two steps).
    expect(old.samples().at(-1)!.timestampMs).toBeLessThanOrEqual(traceEndMs + 4000);
    expect(old.samples().at(-1)!.instance).toBe('/kubepods/pod-old/app');
    expect(old.podUid).toBe('uid-old');
    expect(r.evidence.targets.get('new/app')!.samples()).toEqual([]);
    expect(r.events).toEqual([{ type: 'Normal', reason: 'Backfilled', message: expect.stringMatching(/^Loaded 1\d\d samples over 5m of history from Prometheus for 1 container\.$/) }]);
    expect(await metrics.samplingTotal.get()).toMatchObject({ values: [{ labels: { source: 'prometheus', result: 'ok' }, value: 1 }] });

    const status = evaluate(engine, metrics, r, 'unused');
    expect(status.targets!.find((t) => t.pod === 'old')).toMatchObject({ verdict: 'Leak', leakSource: 'anon' });
    expect(status.targets!.find((t) => t.pod === 'new')).toMatchObject({ verdict: 'InsufficientData' });
    // Both were asked once: not again.
    expect(backfillDue(r, targets, history)).toBe(false);
    // Live samples continue after the history.
    expect(old.addSample({ timestampMs: traceEndMs + 10_000, usageBytes: 1 })).toBe(true);
  });

  it('does nothing for an audit that opts out (spec.backfill: false)', () => {
    const r = round(auditOf({ ...spec, backfill: false }), traceEndMs + 30_000);
    expect(backfillDue(r, targets, { client, selector: [] })).toBe(false);
  });

  it('applies the controller\'s selector to every series (one Prometheus, many clusters)', async () => {
    const r = round(auditOf(spec), traceEndMs + 30_000);
    await backfill({ client, selector: [{ name: 'cluster', op: '=', value: 'other' }] }, new ControllerMetrics(false), DEFAULT_EVIDENCE_LIMITS, r, targets);
    expect(r.evidence.targets.get('old/app')!.samples()).toEqual([]);
  });

  it('when Prometheus does not answer: logs, checks nobody, and waits a minute before the next try', async () => {
    const down = new PrometheusClient({ url: `http://127.0.0.1:${await freeLoopbackPort()}`, timeoutMs: 5000, concurrency: 1, retries: 0 });
    const r = round(auditOf(spec), traceEndMs + 30_000);
    const metrics = new ControllerMetrics(false);
    await backfill({ client: down, selector: [] }, metrics, DEFAULT_EVIDENCE_LIMITS, r, targets);
    expect([...r.evidence.targets.keys()]).toEqual([]);
    expect(r.evidence.backfillNotBeforeMs).toBe(traceEndMs + 30_000 + 60_000);
    expect(backfillDue(r, targets, { client: down, selector: [] })).toBe(false);
    expect(backfillDue({ ...r, nowMs: traceEndMs + 90_000 }, targets, { client: down, selector: [] })).toBe(true);
    expect(await metrics.samplingTotal.get()).toMatchObject({ values: [{ labels: { source: 'prometheus', result: 'error' }, value: 1 }] });
    down.close();
  });
});
