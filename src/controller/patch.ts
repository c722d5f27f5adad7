// action: Patch. Finds the workload that owns the audited pods (Pod -> ReplicaSet -> Deployment,
// or StatefulSet / DaemonSet), and writes the recommended memory limit and request of the audited
// container (and GOMEMLIMIT when asked) with a strategic merge patch that names nothing else.
// Never for a Leak (a higher limit only delays the OOM kill), never before a verdict, at most
// once per window per workload container.
import type { Logger } from 'pino';
import { bytesFromKubernetesQuantity } from '../model/units.ts';
import { PatchReason } from './api/conditions.ts';
import type { Condition, LastPatch, MemoryAudit, TargetStatus } from './api/v1alpha1.ts';
import { STRATEGIC_MERGE_PATCH, type KubeClient } from './runtime/kube/client.ts';
import { isNotFound } from './runtime/kube/api-error.ts';
import type { OwnerReference, Pod, PodTemplateOwner } from './runtime/kube/types.ts';
import { containerPatch, rfc3339 } from './status.ts';

export interface Workload {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  name: string;
  namespace: string;
}

const WORKLOAD_PATHS: Record<Workload['kind'], string> = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets' };

function workloadPath(w: Workload): string {
  return `/apis/apps/v1/namespaces/${encodeURIComponent(w.namespace)}/${WORKLOAD_PATHS[w.kind]}/${encodeURIComponent(w.name)}`;
}

const controllerOf = (refs: OwnerReference[] | undefined) => refs?.find((r) => r.controller) ?? refs?.[0];

export async function findWorkload(client: KubeClient, pod: Pod): Promise<Workload | null> {
  const ns = pod.metadata.namespace!;
  const owner = controllerOf(pod.metadata.ownerReferences);
  if (!owner || !owner.apiVersion.startsWith('apps/')) return null;
  if (owner.kind === 'StatefulSet' || owner.kind === 'DaemonSet') return { kind: owner.kind, name: owner.name, namespace: ns };
  if (owner.kind !== 'ReplicaSet') return null;
  try {
    const rs = await client.get<PodTemplateOwner>(`/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/replicasets/${encodeURIComponent(owner.name)}`);
    const dep = controllerOf(rs.metadata.ownerReferences);
    if (dep?.kind === 'Deployment' && dep.apiVersion.startsWith('apps/')) return { kind: 'Deployment', name: dep.name, namespace: ns };
    return null;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

export interface PatchPlan {
  /** What the Patched condition and lastPatch say. */
  condition: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;
  lastPatch: LastPatch | undefined;
  /** Set when the workload must be written. */
  write: { workload: Workload; container: string; limit: string; request: string | undefined; goMemLimit: string | undefined } | undefined;
  event: { type: 'Normal' | 'Warning'; reason: string; message: string } | undefined;
}

export interface PatchDecisionInput {
  audit: MemoryAudit;
  /** The live targets of one workload container. */
  targets: TargetStatus[];
  workload: Workload | null;
  container: string;
  currentLimit: string | undefined;
  currentRequest: string | undefined;
  goMemLimit: string | undefined;
  windowMs: number;
  nowMs: number;
}

/** Pure: what to do for one workload container, from the current status (level-based). */
export function decidePatch(input: PatchDecisionInput): PatchPlan {
  const { audit, targets, workload, container } = input;
  const last = audit.status?.lastPatch;
  const refused = (reason: string, message: string, result: LastPatch['result'] = 'Refused'): PatchPlan => {
    const lp: LastPatch = { time: rfc3339(input.nowMs), result, container, message };
    if (workload) Object.assign(lp, { kind: workload.kind, name: workload.name });
    // Record a refusal once, not every round.
    const same = last && last.result === result && last.message === message;
    return { condition: { type: 'Patched', status: 'False', reason, message }, lastPatch: same ? last : lp, write: undefined, event: same ? undefined : { type: 'Warning', reason: result === 'Refused' ? 'PatchRefused' : 'PatchFailed', message } };
  };
  if (!workload) return refused(PatchReason.NoOwner, `Pods of container ${container} are not owned by a Deployment, StatefulSet or DaemonSet; nothing to patch.`);
  const leak = targets.find((t) => t.verdict === 'Leak');
  if (leak) {
    return refused(
      PatchReason.RefusedLeak,
      `Refused to patch ${workload.kind} ${workload.name} container ${container}: ${leak.pod} leaks (${leak.leakSource ?? 'anon'}); a higher limit only delays the OOM kill${leak.timeToLimitSeconds != null ? ` (limit reached in about ${Math.round(leak.timeToLimitSeconds / 60)} min)` : ''}. Fix the leak${leak.topGrowingFunctions?.[0] ? ` in ${leak.topGrowingFunctions[0].function}` : ''}.`,
    );
  }
  if (targets.length === 0 || targets.some((t) => t.verdict === 'InsufficientData' || !t.recommendedLimit)) {
    return { condition: { type: 'Patched', status: 'False', reason: PatchReason.WaitingForVerdict, message: `Waiting for a verdict on every pod of ${workload.kind} ${workload.name} before patching container ${container}.` }, lastPatch: last, write: undefined, event: undefined };
  }
  const limit = maxQuantity(targets.map((t) => t.recommendedLimit!));
  const request = targets.every((t) => t.recommendedRequest) ? maxQuantity(targets.map((t) => t.recommendedRequest!)) : undefined;
  if (last && last.result === 'Applied' && last.kind === workload.kind && last.name === workload.name && last.container === container && input.nowMs - Date.parse(last.time) < input.windowMs) {
    return { condition: { type: 'Patched', status: 'True', reason: PatchReason.AlreadyPatched, message: `Patched ${workload.kind} ${workload.name} container ${container} at ${last.time}; at most once per window.` }, lastPatch: last, write: undefined, event: undefined };
  }
  if (input.currentLimit === limit && (request === undefined || input.currentRequest === request)) {
    return { condition: { type: 'Patched', status: 'True', reason: PatchReason.UpToDate, message: `${workload.kind} ${workload.name} container ${container} already has limit ${limit}.` }, lastPatch: last, write: undefined, event: undefined };
  }
  return { condition: { type: 'Patched', status: 'True', reason: PatchReason.Patched, message: '' }, lastPatch: undefined, write: { workload, container, limit, request, goMemLimit: input.goMemLimit }, event: undefined };
}

export async function readContainerResources(client: KubeClient, w: Workload, container: string): Promise<{ limit: string | undefined; request: string | undefined } | null> {
  const obj = await client.get<PodTemplateOwner>(workloadPath(w));
  const c = obj.spec?.template?.spec?.containers?.find((x) => x.name === container);
  if (!c) return null;
  return { limit: c.resources?.limits?.memory, request: c.resources?.requests?.memory };
}

export async function applyPatch(client: KubeClient, log: Logger, write: NonNullable<PatchPlan['write']>, previous: { limit: string | undefined; request: string | undefined }, nowMs: number): Promise<{ lastPatch: LastPatch; ok: boolean }> {
  const { workload, container, limit, request, goMemLimit } = write;
  const base = { time: rfc3339(nowMs), kind: workload.kind, name: workload.name, container };
  try {
    await client.json('PATCH', workloadPath(workload), { body: containerPatch(container, limit, request, goMemLimit), contentType: STRATEGIC_MERGE_PATCH });
    const lp: LastPatch = { ...base, result: 'Applied', limit, message: `Set memory limit ${previous.limit ?? 'none'} -> ${limit}${request ? `, request ${previous.request ?? 'none'} -> ${request}` : ''}${goMemLimit ? `, GOMEMLIMIT=${goMemLimit}` : ''} on ${workload.kind} ${workload.name} container ${container}.` };
    if (previous.limit) lp.previousLimit = previous.limit;
    if (request) lp.request = request;
    if (previous.request) lp.previousRequest = previous.request;
    if (goMemLimit) lp.goMemLimit = goMemLimit;
    log.info({ workload: `${workload.kind}/${workload.namespace}/${workload.name}`, container, limit, request }, 'Patched workload memory');
    return { lastPatch: lp, ok: true };
  } catch (e) {
    return { lastPatch: { ...base, result: 'Failed', message: `Patch of ${workload.kind} ${workload.name} failed: ${e instanceof Error ? e.message : String(e)}`.slice(0, 1024) }, ok: false };
  }
}

/** Bytes of a Kubernetes memory quantity (a workload's resources.limits.memory); NaN when it is not one. */
export function bytesFromQuantity(q: string): number {
  return bytesFromKubernetesQuantity(q) ?? NaN;
}

function maxQuantity(qs: string[]): string {
  return qs.reduce((a, b) => (bytesFromQuantity(b) > bytesFromQuantity(a) ? b : a));
}
