// What the Pod informer keeps of each Pod: the fields of types.ts, nothing else. The API server
// sends a Pod with its managedFields, annotations, volumes, env, probes and conditions, often
// 5-20 KiB of JSON and more as objects; at 20,000 pods that was most of the controller's memory.
// controller-runtime does the same with a cache TransformFunc (TransformStripManagedFields).
// client-node's informer stores the object before it calls handlers, so this slims it in place:
// the cache holds the same object. types.ts is the contract: code reads no other field of a Pod.
import type { ContainerSpec, ObjectMeta, Pod } from './types.ts';

type Loose = Record<string, unknown>;

/** Keeps the Pod fields types.ts declares; the object itself is changed and returned. */
export function slimPod(pod: Pod): Pod {
  const p = pod as unknown as Loose;
  for (const k of Object.keys(p)) if (k !== 'apiVersion' && k !== 'kind' && k !== 'metadata' && k !== 'spec' && k !== 'status') delete p[k];
  pod.metadata = slimMeta(pod.metadata);
  if (pod.spec) pod.spec = { ...(pod.spec.nodeName !== undefined ? { nodeName: pod.spec.nodeName } : {}), containers: (pod.spec.containers ?? []).map(slimContainer) };
  if (pod.status) {
    const s = pod.status;
    pod.status = pick(s, ['phase', 'podIP']);
    if (s.containerStatuses) pod.status.containerStatuses = s.containerStatuses.map((c) => pick(c, ['name', 'ready', 'restartCount', 'containerID', 'state', 'lastState']));
  }
  return pod;
}

function slimMeta(m: ObjectMeta): ObjectMeta {
  return pick(m, ['name', 'namespace', 'uid', 'generation', 'resourceVersion', 'deletionTimestamp', 'labels', 'ownerReferences']);
}

function slimContainer(c: ContainerSpec): ContainerSpec {
  return pick(c, ['name', 'resources', 'ports']);
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
