import { MAX_OOM_KILLED_IDS, NEW_CONTAINER_GRACE_MS, metricsExpected, oomKilledContainerId, oomKilledInstances, rememberOomKill } from '../../../src/controller/container-status.ts';
import type { Pod } from '../../../src/controller/runtime/kube/types.ts';
import type { MemorySample } from '../../../src/model/sample.ts';

// OOM kills read from the pod status. The container status below is what a real kubelet 1.35 with
// containerd 1.6 wrote for a heap leak under a 64 MiB limit (test/cluster/, trimmed).
const KILLED = 'e174dc9f81547439d1b1a0f410f29e67e577883194760fa12fa35d7a832e193e';
const RUNNING = '889aa11ed1aad356043b852ef0692e017183b6d550e103ee28a1af35e102f74f';
const pod = (lastState: NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number]['lastState']): Pod => ({
  metadata: { name: 'oomloop-66f78b7c46-kjjvc', namespace: 'shop' },
  status: {
    phase: 'Running',
    containerStatuses: [{ name: 'app', ready: true, restartCount: 3, containerID: `containerd://${RUNNING}`, ...(lastState ? { lastState } : {}) }],
  },
});

describe('OOM kills from the pod status', () => {
  it("reads the previous incarnation's container ID when the kubelet says OOMKilled", () => {
    const p = pod({ terminated: { containerID: `containerd://${KILLED}`, exitCode: 137, finishedAt: '2026-11-30T15:03:01Z', reason: 'OOMKilled', startedAt: '2026-11-30T15:02:02Z' } });
    expect(oomKilledContainerId(p, 'app')).toBe(KILLED);
    expect(oomKilledContainerId(p, 'other')).toBeUndefined();
  });

  it('ignores other terminations and containers that never restarted', () => {
    expect(oomKilledContainerId(pod({ terminated: { containerID: `containerd://${KILLED}`, exitCode: 2, reason: 'Error' } }), 'app')).toBeUndefined();
    expect(oomKilledContainerId(pod(undefined), 'app')).toBeUndefined();
  });

  it("matches cAdvisor's cgroup ids of the cgroupfs and the systemd drivers", () => {
    const at = (instance: string): MemorySample => ({ timestampMs: 0, usageBytes: 0, instance });
    const cgroupfs = `/process_api/4043/memaudit-cluster-21226/kubepods/burstable/pod5ec7a556/${KILLED}`;
    const systemd = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5ec7a556.slice/cri-containerd-${KILLED}.scope`;
    const alive = `/kubepods/burstable/pod5ec7a556/${RUNNING}`;
    expect(oomKilledInstances([at(cgroupfs), at(systemd), at(alive), at(alive)], new Set([KILLED]))).toEqual(new Set([cgroupfs, systemd]));
    expect(oomKilledInstances([at(alive)], new Set())).toEqual(new Set());
  });

  it(`remembers at most ${MAX_OOM_KILLED_IDS} IDs, the newest`, () => {
    const ids = new Set<string>();
    for (let i = 0; i < MAX_OOM_KILLED_IDS + 5; i++) rememberOomKill(ids, `id-${i}`);
    rememberOomKill(ids, 'id-10');
    expect(ids.size).toBe(MAX_OOM_KILLED_IDS);
    expect(ids.has('id-4')).toBe(false);
    expect([...ids].at(-1)).toBe('id-10');
  });
});

describe('whether the kubelet should serve a container\'s metrics', () => {
  const at = Date.parse('2026-11-30T16:14:50Z');
  const withState = (state: NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number]['state']): Pod => ({
    metadata: { name: 'oomfast-54547659c5-rdr6f', namespace: 'shop' },
    status: { phase: 'Running', containerStatuses: [{ name: 'app', restartCount: 4, ...(state ? { state } : {}) }] },
  });

  it('not while the container waits to restart after an OOM kill, nor right after it started', () => {
    // As the real kubelet wrote them: back-off after the fourth kill, then the fifth start.
    expect(metricsExpected(withState({ waiting: { reason: 'CrashLoopBackOff' } }), 'app', at)).toBe(false);
    expect(metricsExpected(withState({ terminated: { reason: 'OOMKilled', exitCode: 137 } }), 'app', at)).toBe(false);
    expect(metricsExpected(withState({ running: { startedAt: '2026-11-30T16:14:42Z' } }), 'app', at)).toBe(false);
  });

  it(`once it has run ${NEW_CONTAINER_GRACE_MS / 1000} s, and whenever the pod status says nothing of it`, () => {
    expect(metricsExpected(withState({ running: { startedAt: '2026-11-30T16:14:20Z' } }), 'app', at)).toBe(true);
    expect(metricsExpected(withState(undefined), 'other', at)).toBe(true);
    expect(metricsExpected({ metadata: { name: 'p' }, status: { phase: 'Running' } }, 'app', at)).toBe(true);
  });
});
