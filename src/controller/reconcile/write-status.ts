// Step "writeStatus": the status through the status subresource, as a JSON merge patch of what
// changed, and only when something did (so its own update event does not start another round).
import { isDeepStrictEqual } from 'node:util';
import { ConditionType, ReadyReason } from '../api/conditions.ts';
import { GROUP, PLURAL, VERSION, type MemoryAudit, type MemoryAuditStatus } from '../api/v1alpha1.ts';
import { isNotFound } from '../runtime/kube/api-error.ts';
import { MERGE_PATCH } from '../runtime/kube/client.ts';
import { materialStatus, setCondition } from '../status.ts';
import type { ApiAccess, Round } from './round.ts';

/** When this audit's status was last written, and how long progress alone may wait (--status-sync-period). */
export interface StatusSync {
  lastWriteMs: number | undefined;
  periodMs: number;
  nowMs: number;
}

/**
 * True when written; 'unchanged' when nothing changed; 'deferred' when nothing a reader acts on
 * changed and the last write is younger than the sync period (it is computed again next round);
 * false when the write failed (logged: the next round computes the status again and retries).
 */
export async function writeStatus(deps: ApiAccess, { audit, log }: Pick<Round, 'audit' | 'log'>, status: MemoryAuditStatus, sync?: StatusSync): Promise<boolean | 'unchanged' | 'deferred'> {
  // Deferred before the patch is made: most rounds of most audits end here, and the patch of a
  // status of 50 targets (a JSON round trip and a deep comparison) is the dearer of the two.
  if (sync?.lastWriteMs !== undefined && sync.nowMs - sync.lastWriteMs < sync.periodMs && materialStatus(audit.status) === materialStatus(status)) return 'deferred';
  const patch = mergePatch(audit.status ?? {}, status);
  if (!patch) return 'unchanged';
  if (!deps.isLeader()) return false;
  try {
    await deps.client.json('PATCH', `${auditPath(audit)}/status`, { body: { status: patch }, contentType: MERGE_PATCH });
    deps.metrics.statusWrites.inc({ result: 'ok' });
    return true;
  } catch (e) {
    deps.metrics.statusWrites.inc({ result: 'error' });
    if (isNotFound(e)) return false;
    // Sampling keeps its cadence while the API server is away: the evidence is in memory and
    // the next round writes the status again (it is computed from scratch every time).
    log.warn({ err: e instanceof Error ? e.message : String(e) }, 'Status not written; next round retries');
    return false;
  }
}

/** The status of an audit whose spec the controller cannot use: Ready=False/InvalidSpec, the rest kept. */
export function invalidSpecStatus(audit: MemoryAudit, error: string, nowMs: number): MemoryAuditStatus {
  const gen = audit.metadata.generation ?? 0;
  const ready = { type: ConditionType.Ready, status: 'False' as const, reason: ReadyReason.InvalidSpec, message: error, observedGeneration: gen };
  return { ...audit.status, observedGeneration: gen, conditions: setCondition(audit.status?.conditions ?? [], ready, nowMs) };
}

export function auditPath(audit: MemoryAudit): string {
  return `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(audit.metadata.namespace!)}/${PLURAL}/${encodeURIComponent(audit.metadata.name)}`;
}

/**
 * RFC 7386 merge patch turning `prev` into `next` (null deletes; arrays are replaced). Empty =
 * equal. Compared as JSON: `next` goes through JSON first (undefined fields dropped, as the API
 * server would store it), then structurally, whatever the key order (isDeepStrictEqual: comparing
 * sorted-key JSON strings of each status was half a second a round at 400 audits).
 */
export function mergePatch(prev: unknown, next: unknown): Record<string, unknown> | undefined {
  return diff(prev, next === undefined ? undefined : (JSON.parse(JSON.stringify(next)) as unknown));
}

function diff(prev: unknown, next: unknown): Record<string, unknown> | undefined {
  if (!isObject(prev) || !isObject(next)) return isDeepStrictEqual(prev, next) ? undefined : (next as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(prev)) if (!(k in next)) out[k] = null;
  for (const [k, v] of Object.entries(next)) {
    const p = prev[k];
    if (isObject(p) && isObject(v)) {
      const sub = diff(p, v);
      if (sub && Object.keys(sub).length > 0) out[k] = sub;
    } else if (!isDeepStrictEqual(p, v)) out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
