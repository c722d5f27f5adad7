import { jest } from '@jest/globals';
import { stringify } from 'yaml';
import { deletePod } from './harness/cluster.ts';
import type { ControllerProcess } from './harness/controller.ts';
import { waitFor } from './harness/process.ts';
import { Scenario, auditManifest } from './harness/scenario.ts';

// Status writes on the real API server. The controller's own status write comes back as an update
// event and must not start another reconcile (one a round, not two). A status that changed only in
// progress (sample counts, times, rates) waits for --status-sync-period; a change a reader acts on
// (here a target gone) is written at once.
jest.setTimeout(240_000);

const NS = 'sync';
let s: Scenario;

const metric = (text: string, name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
const samplesTaken = async (c: ControllerProcess) => metric(await c.metrics(), 'memaudit_target_samples');

beforeAll(async () => {
  s = await Scenario.start();
  for (const pod of ['web-0', 'web-1']) await s.addTarget({ namespace: NS, pod, labels: { app: 'web' }, app: 'filesaver', args: ['-selfload', '100', '-size', '4096'] });
  // minDuration far off: the verdict stays InsufficientData, so only progress changes.
  await s.cp.kubectlOk(['apply', '-n', NS, '-f', '-'], stringify(auditManifest('web', { selector: { matchLabels: { app: 'web' } }, minDuration: '5m' })));
});

afterAll(async () => {
  await s?.teardown();
});

it('every change written at once (0s): one reconcile a round, not one more for each status write', async () => {
  const c = await s.startController('controller-0', ['--status-sync-period=0s']);
  await s.waitForAudit(NS, 'web', 'both targets sampled', (a) => (a.status?.targets ?? []).length === 2, 60_000);
  const [samples0, m0] = [await samplesTaken(c), await c.metrics()];
  await waitFor('ten more rounds', async () => (await samplesTaken(c)) >= samples0 + 20, 60_000);
  const m1 = await c.metrics();
  const rounds = (metric(m1, 'memaudit_target_samples') - metric(m0, 'memaudit_target_samples')) / 2;
  const writes = metric(m1, 'memaudit_status_writes_total') - metric(m0, 'memaudit_status_writes_total');
  const reconciles = metric(m1, 'memaudit_reconcile_total') - metric(m0, 'memaudit_reconcile_total');
  expect(writes).toBeGreaterThanOrEqual(rounds - 2);
  expect(reconciles).toBeLessThanOrEqual(rounds + 2);
  await c.stop();
});

it('progress waits for --status-sync-period; a gone target is written at once, with the progress', async () => {
  const before = await s.audit(NS, 'web');
  const c = await s.startController('controller-1', ['--status-sync-period=1h']);
  // Its first status is written (it has no write of its own yet): sample counts move on from controller-0's.
  const first = await s.waitForAudit(NS, 'web', 'first write of controller-1', (a) => a.metadata.resourceVersion !== before.metadata.resourceVersion, 60_000);
  const samples0 = await samplesTaken(c);
  await waitFor('ten more rounds', async () => (await samplesTaken(c)) >= samples0 + 20, 60_000);
  const later = await s.audit(NS, 'web');
  expect(later.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
  expect(later.status!.targets!.map((t) => t.samples)).toEqual(first.status!.targets!.map((t) => t.samples));
  expect(metric(await c.metrics(), 'memaudit_status_writes_total')).toBe(1);

  await deletePod(s.cp, NS, 'web-1');
  await s.stopTarget(NS, 'web-1');
  const gone = await s.waitForAudit(NS, 'web', 'web-1 Gone, written at once', (a) => a.status?.targets?.find((t) => t.pod === 'web-1')?.state === 'Gone', 30_000);
  const web0 = (a: typeof first) => a.status!.targets!.find((t) => t.pod === 'web-0')!.samples!;
  expect(web0(gone)).toBeGreaterThanOrEqual(web0(first) + 10);
});
