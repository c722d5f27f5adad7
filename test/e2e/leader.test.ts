import { jest } from '@jest/globals';
import { stringify } from 'yaml';
import { EVIDENCE_KEY, evidenceConfigMapName } from '../../src/controller/evidence-store.ts';
import type { ControllerProcess } from './harness/controller.ts';
import { waitFor } from './harness/process.ts';
import { Scenario, auditManifest } from './harness/scenario.ts';

// Controller restarts and replicas: evidence survives a restart (graceful or SIGKILL) through the
// audit's ConfigMap, and of two controller processes only the Lease holder samples and writes.
jest.setTimeout(300_000);

const NS = 'jobs';
let s: Scenario;
const LEASE = ['--leader-elect-lease-duration=6s', '--leader-elect-renew-deadline=4s', '--leader-elect-retry-period=1s', '--state-sync-period=2s'];

const samples = async () => (await s.audit(NS, 'leaker')).status?.targets?.[0]?.samples ?? 0;
const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);

beforeAll(async () => {
  s = await Scenario.start();
  const fx = await s.addTarget({ namespace: NS, pod: 'leaker-0', labels: { app: 'leaker' }, app: 'heapleak', args: ['-rate', '524288'] });
  await s.cp.kubectlOk(['apply', '-n', NS, '-f', '-'], stringify(auditManifest('leaker', { selector: { matchLabels: { app: 'leaker' } }, minDuration: '40s', pprof: { port: fx.pprofPort } })));
});

afterAll(async () => {
  await s?.teardown();
});

describe('controller restart', () => {
  it('resumes from the saved evidence after a graceful restart: no sample lost, the verdict does not start over', async () => {
    const a = await s.startController('ctl-a', LEASE);
    await waitFor('20 samples', async () => (await samples()) >= 20, 60_000);
    await a.stop();
    const atStop = await samples();
    const cm = await s.cp.json<{ binaryData?: Record<string, string>; metadata: { ownerReferences: { kind: string; name: string }[] } }>('GET', `/api/v1/namespaces/${NS}/configmaps/${evidenceConfigMapName('leaker')}`);
    expect(cm.binaryData?.[EVIDENCE_KEY]).toBeDefined();
    expect(cm.metadata.ownerReferences[0]).toMatchObject({ kind: 'MemoryAudit', name: 'leaker' });

    const b = await s.startController('ctl-b', LEASE);
    const au = await s.waitForAudit(NS, 'leaker', 'Leak after the restart', (x) => x.status?.verdict === 'Leak', 60_000);
    // The verdict rests on ctl-a's samples plus ctl-b's own: the window did not start over.
    expect(au.status!.targets![0]!.samples!).toBeGreaterThan(atStop);
    const restored = (await b.logLines()).find((l) => l.msg === 'Restored evidence');
    expect(restored).toMatchObject({ audit: `${NS}/leaker` });
    expect(restored!.samples as number).toBeGreaterThanOrEqual(atStop);
    expect(au.status!.targets![0]!.topGrowingFunctions![0]!.function).toBe('main.retainRequest');
    await b.stop();
  });

  it('loses at most the last sync period when the controller is killed', async () => {
    const c = await s.startController('ctl-c', LEASE);
    const before = await samples();
    await waitFor('more samples', async () => (await samples()) >= before + 6, 30_000);
    await c.proc.kill();
    const atKill = await samples();
    // The Lease was not released: ctl-d waits out the lease duration, then restores.
    const d = await s.startController('ctl-d', LEASE);
    await waitFor('ctl-d restored', async () => (await d.logLines()).some((l) => l.msg === 'Restored evidence'), 30_000);
    const restored = (await d.logLines()).find((l) => l.msg === 'Restored evidence')!;
    expect(restored.samples as number).toBeGreaterThanOrEqual(atKill - 3);
    await d.stop();
  });
});

describe('two controller processes', () => {
  let x: ControllerProcess;
  let y: ControllerProcess;

  it('only the Lease holder samples and writes', async () => {
    [x, y] = await Promise.all([s.startController('replica-x', LEASE), s.startController('replica-y', LEASE)]);
    await waitFor('a leader', async () => (await x.isLeader()) || (await y.isLeader()), 30_000);
    const before = await samples();
    await waitFor('status advancing', async () => (await samples()) > before + 5, 30_000);
    const [mx, my] = await Promise.all([x.metrics(), y.metrics()]);
    const leaderIsX = /^memaudit_leader 1$/m.test(mx);
    const [lm, fm] = leaderIsX ? [mx, my] : [my, mx];
    expect(/^memaudit_leader 1$/m.test(lm) && /^memaudit_leader 0$/m.test(fm)).toBe(true);
    expect(metric(lm, /memaudit_status_writes_total\{result="ok"\} (\d+)/)).toBeGreaterThan(0);
    // The standby has warm caches (ready) but never sampled nor wrote.
    expect(metric(fm, /memaudit_status_writes_total\{result="ok"\} (\d+)/)).toBe(0);
    expect(metric(fm, /memaudit_sampling_total\{source="kubelet",result="ok"\} (\d+)/)).toBe(0);
    expect(await (leaderIsX ? y : x).ready()).toBe(true);
    const lease = await s.cp.json<{ spec: { holderIdentity: string } }>('GET', '/apis/coordination.k8s.io/v1/namespaces/memaudit-system/leases/memaudit-controller');
    expect(lease.spec.holderIdentity.startsWith(leaderIsX ? 'replica-x_' : 'replica-y_')).toBe(true);

    // The leader dies without releasing the Lease: the standby takes over after the lease duration.
    const [leader, standby] = leaderIsX ? [x, y] : [y, x];
    await leader.proc.kill();
    const atKill = await samples();
    await waitFor('standby leads', () => standby.isLeader(), 20_000);
    await waitFor('status advancing again', async () => (await samples()) > atKill + 3, 30_000);
    const sm = await standby.metrics();
    expect(metric(sm, /memaudit_status_writes_total\{result="ok"\} (\d+)/)).toBeGreaterThan(0);
    const lease2 = await s.cp.json<{ spec: { holderIdentity: string; leaseTransitions: number } }>('GET', '/apis/coordination.k8s.io/v1/namespaces/memaudit-system/leases/memaudit-controller');
    expect(lease2.spec.holderIdentity.startsWith(leaderIsX ? 'replica-y_' : 'replica-x_')).toBe(true);
    await standby.stop();
  });
});

describe('Lease renewal', () => {
  /** The API server's own count of Lease requests by verb (apiserver_request_total). */
  const leaseRequests = async (): Promise<{ GET: number; PUT: number }> => {
    const text = (await s.cp.request('GET', '/metrics')).body;
    const count = (verb: string) => text.split('\n').filter((l) => l.startsWith('apiserver_request_total{') && l.includes('resource="leases"') && l.includes(`verb="${verb}"`)).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    return { GET: count('GET'), PUT: count('PUT') };
  };

  it('renews by writing alone while it holds the Lease, as client-go does; a change by another writer makes it read first, and it keeps the Lease', async () => {
    const c = await s.startController('ctl-renew', LEASE);
    await waitFor('leading', () => c.isLeader(), 30_000);
    await new Promise((r) => setTimeout(r, 2000));
    const a = await leaseRequests();
    await new Promise((r) => setTimeout(r, 6000));
    const b = await leaseRequests();
    // A renewal every 1 s (--leader-elect-retry-period), each one PUT from the Lease it last wrote.
    expect(b.PUT - a.PUT).toBeGreaterThanOrEqual(4);
    expect(b.GET - a.GET).toBe(0);
    // Another writer changes the Lease: the next renewal conflicts, reads it, and renews from what it read.
    await s.cp.kubectlOk(['annotate', '-n', 'memaudit-system', 'lease', 'memaudit-controller', 'example.com/touched=yes']);
    await new Promise((r) => setTimeout(r, 3000));
    const after = await leaseRequests();
    expect(after.GET - b.GET).toBeGreaterThanOrEqual(1);
    expect(await c.isLeader()).toBe(true);
    const lease = await s.cp.json<{ metadata: { annotations?: Record<string, string> }; spec: { holderIdentity: string; renewTime: string } }>('GET', '/apis/coordination.k8s.io/v1/namespaces/memaudit-system/leases/memaudit-controller');
    expect(lease.spec.holderIdentity.startsWith('ctl-renew_')).toBe(true);
    expect(lease.metadata.annotations?.['example.com/touched']).toBe('yes');
    expect(Date.now() - Date.parse(lease.spec.renewTime)).toBeLessThan(3000);
    await c.stop();
  });
});
