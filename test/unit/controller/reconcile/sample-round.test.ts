import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AuditEvidence, DEFAULT_EVIDENCE_LIMITS } from '../../../../src/controller/evidence.ts';
import type { Target } from '../../../../src/controller/reconcile/find-targets.ts';
import { sampleDue, sampleRound } from '../../../../src/controller/reconcile/sample-round.ts';
import type { Pod } from '../../../../src/controller/runtime/kube/types.ts';
import { MiB, T0, auditOf, cadvisorText, fakeClient, pod, readers, round } from './fakes.ts';
import type { Call } from './fakes.ts';

// One sampling round through the API server's proxies (a recorder answering with kubelet metrics
// and the captured heap profile of test/apps/heapleak).
const FIXTURES = path.join(import.meta.dirname, '../../../fixtures/pprof');
const DEBUG1 = readFileSync(path.join(FIXTURES, 'heapleak-debug1.txt'));
const PROFILE = readFileSync(path.join(FIXTURES, 'heapleak-1.pb.gz'));
const withSidecar = (p: Pod): Pod => ({ ...p, spec: { ...p.spec!, containers: [...p.spec!.containers, { name: 'sidecar' }] } });
const targetsOf = (pods: Pod[]): Target[] => pods.flatMap((p) => p.spec!.containers.map((c) => ({ pod: p, container: c.name })));

function world(spec = auditOf({ selector: {}, interval: '10s', minDuration: '5m', pprof: { port: 6060 } }).spec) {
  const w = { now: T0, calls: [] as Call[], kubeletFails: false, pprofFails: false, onlyPods: ['a', 'b'] };
  const client = fakeClient(w.calls, (p) => {
    if (p.includes('/pods/')) {
      if (w.pprofFails) throw new Error('connection refused');
      return p.endsWith('?debug=1') ? DEBUG1 : PROFILE;
    }
    if (w.kubeletFails) throw new Error('GET /api/v1/nodes/n1/proxy/metrics/cadvisor: HTTP 500 InternalError: boom');
    // The kubelet's metrics carry their own time; a sidecar is accounted like any container.
    return cadvisorText(20 * MiB, 10 * MiB, w.now, w.onlyPods) + cadvisorText(20 * MiB, 10 * MiB, w.now, w.onlyPods).replaceAll('container="app"', 'container="sidecar"');
  });
  const ev = new AuditEvidence('u1');
  const sample = (pods: Pod[]) => sampleRound(readers(client, () => w.now), DEFAULT_EVIDENCE_LIMITS, round(auditOf(spec), w.now, ev), targetsOf(pods));
  return { w, ev, sample };
}

describe('sampleRound', () => {
  it('reads each node once for all its targets, attaches Go stats and the first heap profile to the container serving pprof', async () => {
    const { w, ev, sample } = world();
    await sample([withSidecar(pod('a', {}, 'n1')), pod('b', {}, 'n2')]);
    const fetched = w.calls.map((c) => c.path);
    expect(fetched.filter((p) => p.endsWith('/metrics/cadvisor')).sort()).toEqual(['/api/v1/nodes/n1/proxy/metrics/cadvisor', '/api/v1/nodes/n2/proxy/metrics/cadvisor']);
    expect(fetched.filter((p) => p.includes('/pods/a:6060/'))).toEqual(['/api/v1/namespaces/ns/pods/a:6060/proxy/debug/pprof/heap?debug=1', '/api/v1/namespaces/ns/pods/a:6060/proxy/debug/pprof/heap']);
    const app = ev.targets.get('a/app')!;
    expect(app).toMatchObject({ node: 'n1', podUid: 'uid-a', lastError: undefined, pprofError: undefined });
    expect(app.samples()).toEqual([expect.objectContaining({ timestampMs: T0, usageBytes: 20 * MiB, go: expect.objectContaining({ heapInuseBytes: expect.any(Number) }) })]);
    expect(app.profiles.map((p) => p.totalInuseBytes)).toEqual([2130090]);
    const sidecar = ev.targets.get('a/sidecar')!;
    expect(sidecar.samples()[0]!.go).toBeUndefined();
    expect(sidecar.profiles).toEqual([]);
    expect([ev.lastRoundMs, ev.lastProfileMs, ev.dirty]).toEqual([T0, T0, true]);
  });

  it('asks for a heap profile again only after max(interval, minDuration/5)', async () => {
    const { w, ev, sample } = world();
    await sample([pod('a')]);
    w.now += 10_000;
    await sample([pod('a')]);
    w.now += 50_000;
    await sample([pod('a')]);
    expect(w.calls.filter((c) => c.path.endsWith('/debug/pprof/heap')).length).toBe(2);
    expect(ev.targets.get('a/app')!.samples()).toHaveLength(3);
    expect(ev.lastProfileMs).toBe(T0 + 60_000);
  });

  it('keeps the evidence of a target whose kubelet fails and says why, until a read succeeds again', async () => {
    const { w, ev, sample } = world();
    await sample([pod('a')]);
    w.kubeletFails = true;
    w.now += 10_000;
    await sample([pod('a')]);
    const t = ev.targets.get('a/app')!;
    expect(t.lastError).toBe('kubelet on node n1: GET /api/v1/nodes/n1/proxy/metrics/cadvisor: HTTP 500 InternalError: boom');
    expect(t.samples()).toHaveLength(1);
    w.kubeletFails = false;
    w.now += 10_000;
    await sample([pod('a')]);
    expect([t.lastError, t.samples().length]).toEqual([undefined, 2]);
  });

  it('says nothing while a container waits to restart, and tolerates one round without its series before Failing', async () => {
    const { w, ev, sample } = world();
    await sample([pod('a')]);
    const t = ev.targets.get('a/app')!;
    // The kubelet serves pod b only: a's series are gone.
    const onlyB = (p: Pod): Pod => ({ ...p, status: { ...p.status, containerStatuses: [{ name: 'app', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'OOMKilled', containerID: 'containerd://0123456789abcdef' } } }] } });
    w.onlyPods = ['b'];
    w.now += 10_000;
    await sample([onlyB(pod('a'))]);
    expect([t.lastError, t.missedRounds]).toEqual([undefined, 0]);
    // The pod status named the killed container: remembered for the engine (container-status.ts).
    expect([...t.oomKilledContainers]).toEqual(['0123456789abcdef']);
    // Running for a minute, yet no series: the first round is let pass, the second is a failure.
    const running = (p: Pod): Pod => ({ ...p, status: { ...p.status, containerStatuses: [{ name: 'app', state: { running: { startedAt: new Date(w.now - 60_000).toISOString() } } }] } });
    w.now += 10_000;
    await sample([running(pod('a'))]);
    expect([t.lastError, t.missedRounds]).toEqual([undefined, 1]);
    w.now += 10_000;
    await sample([running(pod('a'))]);
    expect(t.lastError).toBe('kubelet on node n1 has no memory metrics for container app of pod a (not started yet?)');
    w.onlyPods = ['a', 'b'];
    w.now += 10_000;
    await sample([running(pod('a'))]);
    expect([t.lastError, t.missedRounds, t.samplesTaken]).toEqual([undefined, 0, 2]);
  });

  it('still samples the cgroup when pprof fails, and says so', async () => {
    const { w, ev, sample } = world();
    w.pprofFails = true;
    await sample([pod('a')]);
    const t = ev.targets.get('a/app')!;
    expect(t.pprofError).toBe('heap profile at port 6060: connection refused');
    expect(t.samples()).toHaveLength(1);
    expect(t.samples()[0]!.go).toBeUndefined();
    // The profile is not asked for when the runtime stats already failed.
    expect(w.calls.filter((c) => c.path.endsWith('/debug/pprof/heap'))).toEqual([]);
  });
});

describe('sampleDue', () => {
  it('is due at 90 % of the interval, and never without targets', () => {
    const r = round(auditOf({ selector: {}, interval: '10s' }), T0 + 9000);
    r.evidence.lastRoundMs = T0;
    expect(sampleDue(r, targetsOf([pod('a')]))).toBe(true);
    expect(sampleDue({ ...r, nowMs: T0 + 8999 }, targetsOf([pod('a')]))).toBe(false);
    expect(sampleDue(r, [])).toBe(false);
  });
});
