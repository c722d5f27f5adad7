import { jest } from '@jest/globals';
import { stringify } from 'yaml';
import type { TargetStatus } from '../../src/controller/api/v1alpha1.ts';
import { gzipSync } from 'node:zlib';
import { EVIDENCE_KEY, UNREADABLE_EVIDENCE_KEY, evidenceConfigMapName } from '../../src/controller/evidence-store.ts';
import { deletePod } from './harness/cluster.ts';
import { waitFor } from './harness/process.ts';
import { Scenario, auditManifest } from './harness/scenario.ts';

// What goes wrong in real clusters, one after the other against one controller: a pod deleted
// mid-window, a kubelet that fails, a kubelet that hangs, an API server restart. Each time the
// status says what happened, the controller keeps running, and the evidence gathered so far is
// kept (sample counts never go back). Last, a new controller that cannot read the saved evidence
// starts the audit afresh (its counts do go back) and keeps the bytes it could not read.
jest.setTimeout(300_000);

const NS = 'web';
let s: Scenario;

const target = (t: TargetStatus[] | undefined, pod: string) => t?.find((x) => x.pod === pod);
const samplesOf = async (pod: string) => target((await s.audit(NS, 'web')).status?.targets, pod)?.samples ?? 0;

beforeAll(async () => {
  s = await Scenario.start();
  for (const pod of ['web-0', 'web-1']) await s.addTarget({ namespace: NS, pod, labels: { app: 'web' }, app: 'filesaver', args: ['-selfload', '100', '-size', '4096'] });
  await s.cp.kubectlOk(['apply', '-n', NS, '-f', '-'], stringify(auditManifest('web', { selector: { matchLabels: { app: 'web' } }, minDuration: '20s' })));
  await s.startController('controller-0', ['--kubelet-timeout=2s', '--state-sync-period=2s', '--leader-elect-lease-duration=40s', '--leader-elect-renew-deadline=30s']);
  // It acts a renew deadline (30 s here) after taking the Lease.
  await s.waitForAudit(NS, 'web', 'both targets sampled', (a) => (a.status?.targets ?? []).filter((t) => (t.samples ?? 0) >= 8).length === 2, 90_000);
});

afterAll(async () => {
  await s?.teardown();
});

describe('resilience', () => {
  it('keeps a deleted pod\'s evidence, marks it Gone, and goes on with the others', async () => {
    const before = await samplesOf('web-1');
    await deletePod(s.cp, NS, 'web-1');
    await s.stopTarget(NS, 'web-1');
    const a = await s.waitForAudit(NS, 'web', 'web-1 Gone', (x) => target(x.status?.targets, 'web-1')?.state === 'Gone', 30_000);
    const gone = target(a.status!.targets, 'web-1')!;
    expect(gone.samples!).toBeGreaterThanOrEqual(before);
    expect(gone.message).toMatch(/Pod web-1 is gone since .*; its evidence is kept until the window passes/);
    const live = await samplesOf('web-0');
    await waitFor('web-0 still sampled', async () => (await samplesOf('web-0')) > live + 3, 20_000);
    const events = await s.events(NS);
    expect(events.find((e) => e.reason === 'TargetGone')?.message).toMatch(/Pod web-1 \(container app\) is gone; its \d+ samples are kept/);
    expect(s.controllers[0]!.proc.running).toBe(true);
  });

  it('says SamplingFailed with the kubelet\'s error while the kubelet fails, then resumes without losing samples', async () => {
    const before = await samplesOf('web-0');
    s.kubelet.mode = 'fail';
    const a = await s.waitForAudit(NS, 'web', 'Ready=False SamplingFailed', (x) => x.status?.conditions?.find((c) => c.type === 'Ready')?.reason === 'SamplingFailed', 30_000);
    expect(a.status!.conditions!.find((c) => c.type === 'Ready')!.message).toMatch(/kubelet on node node-1: .*HTTP 500/);
    const t = target(a.status!.targets, 'web-0')!;
    expect(t.state).toBe('Failing');
    expect(t.samples!).toBeGreaterThanOrEqual(before);
    expect((await s.events(NS)).some((e) => e.reason === 'SamplingFailed' && /HTTP 500/.test(e.message))).toBe(true);
    s.kubelet.mode = 'ok';
    await s.waitForAudit(NS, 'web', 'Ready=True again', (x) => x.status?.conditions?.find((c) => c.type === 'Ready')?.reason === 'Sampling' && (target(x.status?.targets, 'web-0')?.samples ?? 0) > before + 2, 30_000);
  });

  it('times out a hanging kubelet, says so, and keeps serving /healthz', async () => {
    const before = await samplesOf('web-0');
    s.kubelet.mode = 'hang';
    const a = await s.waitForAudit(NS, 'web', 'hang reported', (x) => /no answer in 2000 ms/.test(x.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? ''), 30_000);
    expect(target(a.status!.targets, 'web-0')!.state).toBe('Failing');
    expect((await fetch(`http://127.0.0.1:${s.controllers[0]!.port}/healthz`)).ok).toBe(true);
    s.kubelet.mode = 'ok';
    await s.waitForAudit(NS, 'web', 'sampling after the hang', (x) => target(x.status?.targets, 'web-0')?.state === 'Sampling' && (target(x.status?.targets, 'web-0')?.samples ?? 0) > before + 2, 30_000);
  });

  it('rides out an API server restart: informers restart, sampling goes on, status catches up', async () => {
    const before = await samplesOf('web-0');
    const t0 = Date.now();
    await s.cp.restartApiServer(3000);
    const downMs = Date.now() - t0;
    const a = await s.waitForAudit(NS, 'web', 'status after the restart', (x) => (target(x.status?.targets, 'web-0')?.samples ?? 0) > before + downMs / 1000 / 2, 60_000);
    expect(a.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
    // The samples taken while the API server was down are there: the count grew by about the outage.
    expect(target(a.status!.targets, 'web-0')!.samples!).toBeGreaterThan(before + 3);
    const m = await s.controllers[0]!.metrics();
    expect(Number(/memaudit_informer_restarts_total\{informer="pods"\} (\d+)/.exec(m)?.[1] ?? 0) + Number(/memaudit_informer_restarts_total\{informer="memoryaudits"\} (\d+)/.exec(m)?.[1] ?? 0)).toBeGreaterThan(0);
    expect(s.controllers[0]!.proc.running).toBe(true);
    // An audit created after the restart is picked up: the informers are alive again.
    await s.cp.kubectlOk(['apply', '-n', NS, '-f', '-'], stringify(auditManifest('web-again', { selector: { matchLabels: { app: 'web' } } })));
    await s.waitForAudit(NS, 'web-again', 'new audit reconciled', (x) => (x.status?.targets?.[0]?.samples ?? 0) > 0, 30_000);
  });

  it('reaches the verdict for the surviving pod', async () => {
    const a = await s.waitForAudit(NS, 'web', 'verdict', (x) => target(x.status?.targets, 'web-0')?.verdict !== 'InsufficientData', 60_000);
    expect(target(a.status!.targets, 'web-0')!.verdict).toBe('CacheGrowth');
    const log = await s.controllers[0]!.proc.log();
    expect(log).not.toMatch(/"level":(50|60)/);
  });

  it('starts afresh from evidence it cannot read (a later version\'s, after a rollback) and keeps those bytes in the ConfigMap', async () => {
    const before = await samplesOf('web-0');
    await s.controllers[0]!.stop();
    const cm = `configmap/${evidenceConfigMapName('web')}`;
    const later = gzipSync(JSON.stringify({ v: 99, uid: 'later', targets: [] })).toString('base64');
    await s.cp.kubectlOk(['patch', '-n', NS, cm, '--type=merge', '-p', JSON.stringify({ binaryData: { [EVIDENCE_KEY]: later } })]);
    const next = await s.startController('controller-1', ['--kubelet-timeout=2s', '--state-sync-period=2s', '--status-sync-period=1s']);
    // Sampling again, from nothing (fewer samples than before): the audit is not stuck on what it cannot read.
    await s.waitForAudit(NS, 'web', 'web-0 sampled afresh', (x) => {
      const n = target(x.status?.targets, 'web-0')?.samples ?? 0;
      return n >= 2 && n < before;
    }, 60_000);
    const warned = (await next.logLines()).find((l) => l.msg === 'Saved evidence unreadable: the audit starts afresh; the bytes are kept in the ConfigMap');
    expect(warned).toMatchObject({ from: `configmap ${NS}/${evidenceConfigMapName('web')}`, keptAs: UNREADABLE_EVIDENCE_KEY });
    expect(String(warned!.err)).toMatch(/unknown evidence format version 99/);
    await waitFor('the new evidence saved beside the kept bytes', async () => {
      const data = JSON.parse(await s.cp.kubectlOk(['get', '-n', NS, cm, '-o', 'json'])) as { binaryData: Record<string, string> };
      return data.binaryData[UNREADABLE_EVIDENCE_KEY] === later && data.binaryData[EVIDENCE_KEY] !== later;
    }, 30_000);
  });
});
