import { AuditEvidence } from '../../../../src/controller/evidence.ts';
import { findTargets } from '../../../../src/controller/reconcile/find-targets.ts';
import type { Pod } from '../../../../src/controller/runtime/kube/types.ts';
import { T0, auditOf, pod, round } from './fakes.ts';

const names = (r: ReturnType<typeof findTargets>) => r.targets.map((t) => `${t.pod.metadata.name}/${t.container}`);
const twoContainers = (name: string): Pod => ({ ...pod(name), spec: { nodeName: 'n1', containers: [{ name: 'app' }, { name: 'sidecar' }] } });

describe('findTargets', () => {
  it('takes the containers of running, scheduled pods the selector matches, by pod name', () => {
    const pending: Pod = { ...pod('c'), status: { phase: 'Pending' } };
    const unscheduled: Pod = { ...pod('d'), spec: { containers: [{ name: 'app' }] } };
    const deleting = pod('e', { deletionTimestamp: '2026-01-01T00:00:00Z' });
    const other = pod('f', { labels: { app: 'other' } });
    const r = findTargets(round(auditOf({ selector: { matchLabels: { app: 'x' } } })), [twoContainers('b'), pending, pod('a'), unscheduled, deleting, other], 10);
    expect(names(r)).toEqual(['a/app', 'b/app', 'b/sidecar']);
  });

  it('keeps to spec.containers and to the cap, counting what it leaves out', () => {
    const only = findTargets(round(auditOf({ selector: {}, containers: ['sidecar'] })), [twoContainers('a'), twoContainers('b')], 10);
    expect(names(only)).toEqual(['a/sidecar', 'b/sidecar']);
    const capped = findTargets(round(auditOf({ selector: {} })), [twoContainers('a'), twoContainers('b')], 3);
    expect(names(capped)).toEqual(['a/app', 'a/sidecar', 'b/app']);
  });

  it('says which pods match and why none is sampled, for the Ready condition', () => {
    const pending: Pod = { ...pod('a'), status: { phase: 'Pending' } };
    const r = findTargets(round(auditOf({ selector: { matchLabels: { app: 'x' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] }, containers: ['app'] })), [{ ...pending, metadata: { ...pending.metadata, labels: { app: 'x', tier: 'web' } } }], 10);
    expect(r.targets).toEqual([]);
    expect(r.noTargetsMessage).toBe('No running pod in namespace ns matches app=x, tier In web,api with container app (1 matching pods are not running or not scheduled).');
  });

  it('marks the evidence of a vanished pod Gone once, with an Event, and live again when it is back', () => {
    const ev = new AuditEvidence('u1');
    for (const t of [T0 - 2000, T0 - 1000]) ev.target('b', 'app').addSample({ timestampMs: t, usageBytes: 1 });
    const audit = auditOf({ selector: {} });
    const first = round(audit, T0, ev);
    findTargets(first, [pod('a')], 10);
    expect(ev.targets.get('b/app')!.goneSinceMs).toBe(T0);
    expect(ev.dirty).toBe(true);
    expect(first.events).toEqual([{ type: 'Normal', reason: 'TargetGone', message: 'Pod b (container app) is gone; its 2 samples are kept until the window passes.' }]);
    const again = round(audit, T0 + 1000, ev);
    findTargets(again, [pod('a')], 10);
    expect(again.events).toEqual([]);
    findTargets(round(audit, T0 + 2000, ev), [pod('a'), pod('b')], 10);
    expect(ev.targets.get('b/app')!.goneSinceMs).toBeUndefined();
  });

  it('starts over for a new pod of the same name (a StatefulSet replica)', () => {
    const ev = new AuditEvidence('u1');
    ev.target('a', 'app').podUid = 'uid-a';
    findTargets(round(auditOf({ selector: {} }), T0, ev), [pod('a', { uid: 'uid-a2' })], 10);
    expect(ev.targets.has('a/app')).toBe(false);
  });
});
