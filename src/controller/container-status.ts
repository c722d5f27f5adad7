import type { MemorySample } from '../model/sample.ts';
import type { Pod } from './runtime/kube/types.ts';

/**
 * What the pod status says about a container that the kubelet's metrics cannot.
 *
 * OOM kills: a container restarted after one carries
 * `lastState.terminated {reason: OOMKilled, containerID}` in the pod status. The controller keeps
 * the IDs it has seen per target (the pod status only shows the last termination, and the
 * controller looks every round), and tells the engine which sampled incarnations ended that way.
 * An incarnation is cAdvisor's cgroup `id`: it ends in the container ID with the cgroupfs driver
 * (`.../pod<uid>/<id>`) and holds it as `cri-containerd-<id>.scope` with the systemd driver.
 */

/** How many OOM-killed container IDs a target remembers (older ones have left any window). */
export const MAX_OOM_KILLED_IDS = 50;

/** The ID (without the `containerd://` prefix) of the container's previous incarnation when the kubelet reports it OOM-killed. */
export function oomKilledContainerId(pod: Pod, container: string): string | undefined {
  const terminated = pod.status?.containerStatuses?.find((c) => c.name === container)?.lastState?.terminated;
  if (terminated?.reason !== 'OOMKilled' || !terminated.containerID) return undefined;
  return terminated.containerID.replace(/^[a-z0-9.+-]+:\/\//, '');
}

/** Remembers an OOM-killed container ID, the oldest dropped past MAX_OOM_KILLED_IDS. */
export function rememberOomKill(ids: Set<string>, id: string): void {
  ids.delete(id);
  ids.add(id);
  for (const old of ids) {
    if (ids.size <= MAX_OOM_KILLED_IDS) break;
    ids.delete(old);
  }
}

/** The samples' instances that belong to one of the OOM-killed containers. */
export function oomKilledInstances(samples: readonly MemorySample[], containerIds: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  if (containerIds.size === 0) return out;
  const ids = [...containerIds].filter((id) => id.length >= 12);
  for (const s of samples) {
    if (s.instance === undefined || out.has(s.instance)) continue;
    if (ids.some((id) => s.instance!.includes(id))) out.add(s.instance);
  }
  return out;
}

/** How long cAdvisor may take to serve a new container's series (a housekeeping round is 10-15 s). */
export const NEW_CONTAINER_GRACE_MS = 30_000;

/**
 * Whether the kubelet should be serving the container's metrics now. Not while it waits to
 * restart (CrashLoopBackOff after an OOM kill: its old cgroup is gone, there is no new one), nor
 * within NEW_CONTAINER_GRACE_MS of its start (cAdvisor has not found it yet): missing metrics then
 * are not a sampling failure. Without a status for the container, they are (as before).
 */
export function metricsExpected(pod: Pod, container: string, nowMs: number): boolean {
  const status = pod.status?.containerStatuses?.find((c) => c.name === container);
  if (!status) return true;
  const startedAt = status.state?.running?.startedAt;
  if (startedAt === undefined) return false;
  const startedMs = Date.parse(startedAt);
  return !Number.isFinite(startedMs) || nowMs - startedMs >= NEW_CONTAINER_GRACE_MS;
}
