import type { TargetStatus } from '../../../../src/controller/api/v1alpha1.ts';
import { EventRecorder, emitEvents, statusEvents } from '../../../../src/controller/reconcile/emit-events.ts';
import { T0, auditOf, fakeClient, log, round } from './fakes.ts';
import type { Call } from './fakes.ts';

const target = (over: Partial<TargetStatus> = {}): TargetStatus => ({ pod: 'a', container: 'app', state: 'Sampling', verdict: 'InsufficientData', leakSource: null, ...over });

describe('statusEvents', () => {
  it('tells a verdict change (a Warning for a Leak) and a target that started failing, once', () => {
    const before = { targets: [target(), target({ pod: 'b' }), target({ pod: 'c', state: 'Failing', message: 'x' })] };
    const after = { targets: [target({ verdict: 'Leak', leakSource: 'heap', explanation: 'The Go heap grows.' }), target({ pod: 'b', verdict: 'CacheGrowth', state: 'Failing', message: 'kubelet on node n1: HTTP 500' }), target({ pod: 'c', state: 'Failing', message: 'x' })] };
    expect(statusEvents(before, after)).toEqual([
      { type: 'Warning', reason: 'VerdictChanged', message: 'a/app: InsufficientData -> Leak (heap): The Go heap grows.' },
      { type: 'Normal', reason: 'VerdictChanged', message: 'b/app: InsufficientData -> CacheGrowth: ' },
      { type: 'Warning', reason: 'SamplingFailed', message: 'b/app: kubelet on node n1: HTTP 500' },
    ]);
  });

  it('says nothing for a first status, an unchanged one, or a Gone target', () => {
    expect(statusEvents(undefined, { targets: [target({ verdict: 'Stable' })] })).toEqual([]);
    expect(statusEvents({ targets: [target()] }, { targets: [target()] })).toEqual([]);
    expect(statusEvents({ targets: [target()] }, { targets: [target({ state: 'Gone', verdict: 'Stable' })] })).toEqual([]);
  });
});

describe('emitEvents', () => {
  it('records the steps\' Events, then the status\' ones, on the audit', async () => {
    const calls: Call[] = [];
    const r = round(auditOf({ selector: {} }, { targets: [target()] }), T0);
    r.events.push({ type: 'Normal', reason: 'TargetGone', message: 'Pod b (container app) is gone; its 3 samples are kept until the window passes.' });
    await emitEvents(new EventRecorder(fakeClient(calls, () => ''), log, 'controller-0'), r, { targets: [target({ verdict: 'Stable' })] });
    expect(calls.map((c) => [c.method, c.path])).toEqual([['POST', '/api/v1/namespaces/ns/events'], ['POST', '/api/v1/namespaces/ns/events']]);
    expect(calls.map((c) => (c.body as { reason: string }).reason)).toEqual(['TargetGone', 'VerdictChanged']);
    expect(calls[0]!.body).toMatchObject({ involvedObject: { kind: 'MemoryAudit', name: 'x', namespace: 'ns', uid: 'u1' }, type: 'Normal', reportingInstance: 'controller-0', firstTimestamp: '2026-01-01T00:00:00.000Z' });
  });
});
