import { jest } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { labelledCases } from '../helpers/labelled.ts';
import { cadvisorFields, cadvisorOpenMetrics, promtoolBackfill, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.ts';
import { waitFor } from './harness/process.ts';
import { Scenario, auditManifest } from './harness/scenario.ts';

// A MemoryAudit created over a workload that already has history gets its verdict on its FIRST
// reconcile: the controller runs with --prometheus-url, and a real Prometheus (Debian's package)
// holds five minutes of the pod's cAdvisor series (a labelled heap-leak trace, written into its
// TSDB with promtool under the pod's own namespace/pod/container). The pod's
// container is a real Go program in a real cgroup, served by the node's kubelet stand-in, so live
// samples continue after the history. A second audit over the same pod opts out
// (spec.backfill: false) and waits for minDuration as before.
jest.setTimeout(300_000);

const NS = 'shop';
let s: Scenario;
let prom: RunningPrometheus;
let dir: string;
let historySamples = 0;

beforeAll(async () => {
  s = await Scenario.start();
  await s.addTarget({ namespace: NS, pod: 'leaky-0', labels: { app: 'leaky' }, app: 'heapleak', args: ['-rate', '262144'] });
  const c = s.containers.find((x) => x.pod === 'leaky-0')!;
  // The history is another process than the one running now (a recorded trace spliced before a
  // fresh program): an earlier incarnation of the container, with a cgroup id of its own, as a
  // restart would leave it. The engine analyses the run before the restart until the new one is long enough.
  const id = `/kubepods/burstable/pod${c.podUid}/${c.container}-earlier`;
  dir = await mkdtemp(path.join(os.tmpdir(), 'memaudit-e2e-prom-'));
  const { samples } = await labelledCases().find((x) => x.name === 'cgroup/heap-leak')!.load();
  const shift = Date.now() - 3000 - samples.at(-1)!.timestampMs;
  historySamples = samples.length;
  await writeFile(path.join(dir, 'history.om'), cadvisorOpenMetrics([{ labels: { namespace: NS, pod: 'leaky-0', container: 'app', id }, points: samples.map((x) => cadvisorFields({ ...x, timestampMs: x.timestampMs + shift })) }]));
  await promtoolBackfill(path.join(dir, 'history.om'), path.join(dir, 'data'));
  prom = await startPrometheus({ dataDir: path.join(dir, 'data'), workDir: dir });
  await s.startController('controller-0', [`--prometheus-url=${prom.url}`]);
  const spec = { selector: { matchLabels: { app: 'leaky' } }, interval: '2s', window: '15m', minDuration: '2m' };
  await s.cp.kubectlOk(['apply', '-n', NS, '-f', '-'], stringify(auditManifest('leaky', spec)));
  await s.cp.kubectlOk(['apply', '-n', NS, '-f', '-'], stringify(auditManifest('leaky-live', { ...spec, backfill: false })));
});

afterAll(async () => {
  await s?.teardown();
  await prom?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('backfill from Prometheus', () => {
  it('gives a new audit over a workload with history its verdict on the first reconcile', async () => {
    const a = await s.waitForAudit(NS, 'leaky', 'a verdict', (x) => x.status?.verdict !== undefined, 120_000);
    expect(a.status!.verdict).toBe('Leak');
    const t = a.status!.targets![0]!;
    expect(t).toMatchObject({ pod: 'leaky-0', container: 'app', verdict: 'Leak', leakSource: 'anon' });
    expect(t.samples!).toBeGreaterThanOrEqual(historySamples - 10);
    expect(t.windowSeconds!).toBeGreaterThanOrEqual(290);
    const events = (await s.events(NS)).filter((e) => e.involvedObject.name === 'leaky');
    expect(events.find((e) => e.reason === 'Backfilled')?.message).toMatch(/^Loaded 1\d\d samples over 5m of history from Prometheus for 1 container\.$/);
    // A verdict reached in a later round would have been announced as "InsufficientData -> Leak".
    expect(events.filter((e) => e.reason === 'VerdictChanged' && e.message.includes('InsufficientData ->'))).toEqual([]);
    const m = await s.controllers[0]!.metrics();
    expect(m).toMatch(/memaudit_reconcile_step_duration_seconds_count\{step="backfill"\} 1\n/);
    expect(m).toMatch(/memaudit_sampling_total\{source="prometheus",result="ok"\} 1\n/);
  });

  it('continues with live samples from the kubelet after the history', async () => {
    const first = (await s.audit(NS, 'leaky')).status!.targets![0]!.samples!;
    await waitFor('live samples', async () => {
      const t = (await s.audit(NS, 'leaky')).status?.targets?.[0];
      return t?.state === 'Sampling' && (t.samples ?? 0) >= first + 5;
    }, 60_000);
  });

  it('leaves an audit that opts out (spec.backfill: false) to its live samples: no verdict before minDuration', async () => {
    const a = await s.waitForAudit(NS, 'leaky-live', 'a status with the target', (x) => (x.status?.targets?.length ?? 0) > 0, 60_000);
    expect(a.status!.verdict).toBe('InsufficientData');
    expect(a.status!.targets![0]!.samples!).toBeLessThan(60);
    expect((await s.events(NS)).filter((e) => e.involvedObject.name === 'leaky-live' && e.reason === 'Backfilled')).toEqual([]);
  });
});
