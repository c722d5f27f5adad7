// Evidence survives a controller restart (or a new leader) in one ConfigMap per audit, owned by
// the MemoryAudit so the garbage collector removes it with the audit. The reconcile steps
// restoreEvidence and persistEvidence are here: saved every --state-sync-period at most and on
// shutdown; a failed save is logged, and the evidence stays in memory to be saved next time.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { API_VERSION, KIND, type MemoryAudit } from './api/v1alpha1.ts';
import { decodeEvidence, encodeEvidence } from './evidence-codec.ts';
import { AuditEvidence } from './evidence.ts';
import type { KubeClient } from './runtime/kube/client.ts';
import { isNotFound } from './runtime/kube/api-error.ts';

export const EVIDENCE_KEY = 'evidence.json.gz';
/**
 * Saved evidence this controller could not read (damaged, or written by a later version before a
 * rollback), kept as it was beside the new evidence until the audit is deleted: the audit starts
 * afresh without destroying what it could not read.
 */
export const UNREADABLE_EVIDENCE_KEY = 'unreadable-evidence.json.gz';
/** ConfigMaps are limited to 1 MiB; stay well under it. */
const MAX_EVIDENCE_BYTES = 700 * 1024;
/** The unreadable bytes are kept only while they fit beside the evidence under the 1 MiB limit. */
const MAX_CONFIGMAP_BYTES = 1000 * 1024;

export function evidenceConfigMapName(auditName: string): string {
  const name = `memaudit-evidence-${auditName}`;
  if (name.length <= 253) return name;
  return `${name.slice(0, 240)}-${createHash('sha256').update(auditName).digest('hex').slice(0, 12)}`;
}

export class EvidenceStore {
  private readonly client: KubeClient;
  private readonly log: Logger;

  constructor(client: KubeClient, log: Logger) {
    this.client = client;
    this.log = log;
  }

  private path(namespace: string, name?: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  /** The saved evidence of this audit (same uid), or a fresh record. Unreadable state is logged, not fatal. */
  async load(audit: MemoryAudit): Promise<AuditEvidence> {
    const ns = audit.metadata.namespace!;
    const name = evidenceConfigMapName(audit.metadata.name);
    try {
      const cm = await this.client.get<{ binaryData?: Record<string, string> }>(this.path(ns, name));
      const data = cm.binaryData?.[EVIDENCE_KEY];
      const kept = cm.binaryData?.[UNREADABLE_EVIDENCE_KEY];
      if (!data) return withKept(new AuditEvidence(audit.metadata.uid!), kept);
      let ev: AuditEvidence;
      try {
        ev = withKept(decodeEvidence(Buffer.from(data, 'base64'), `configmap ${ns}/${name}`), kept);
      } catch (e) {
        const fresh = new AuditEvidence(audit.metadata.uid!);
        fresh.unreadable = { base64: data, reason: e instanceof Error ? e.message : String(e), from: `configmap ${ns}/${name}` };
        return fresh;
      }
      if (ev.uid !== audit.metadata.uid) {
        this.log.info({ audit: `${ns}/${audit.metadata.name}` }, 'Ignored evidence of an earlier audit with the same name');
        return new AuditEvidence(audit.metadata.uid!);
      }
      ev.restoredFrom = `${ns}/${name}`;
      return ev;
    } catch (e) {
      if (isNotFound(e)) return new AuditEvidence(audit.metadata.uid!);
      throw e;
    }
  }

  async save(audit: MemoryAudit, ev: AuditEvidence, nowMs: number): Promise<number> {
    const ns = audit.metadata.namespace!;
    const name = evidenceConfigMapName(audit.metadata.name);
    const gz = encodeEvidence(ev, nowMs, MAX_EVIDENCE_BYTES);
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: ns,
        labels: { 'app.kubernetes.io/managed-by': 'memaudit', 'app.kubernetes.io/component': 'evidence' },
        annotations: { 'memaudit.io/audit': audit.metadata.name },
        ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: audit.metadata.name, uid: audit.metadata.uid!, controller: true }],
      },
      binaryData: { [EVIDENCE_KEY]: gz.toString('base64') } as Record<string, string>,
    };
    const kept = ev.unreadable?.base64;
    if (kept !== undefined) {
      if (gz.length + (kept.length * 3) / 4 <= MAX_CONFIGMAP_BYTES) body.binaryData[UNREADABLE_EVIDENCE_KEY] = kept;
      else this.log.warn({ configMap: `${ns}/${name}`, bytes: (kept.length * 3) / 4 }, 'Unreadable evidence dropped: it no longer fits beside the evidence');
    }
    try {
      // ConfigMaps allow unconditional updates: the leader is the only writer.
      await this.client.json('PUT', this.path(ns, name), { body });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await this.client.json('POST', this.path(ns), { body });
    }
    return gz.length;
  }

  async delete(namespace: string, auditName: string): Promise<void> {
    try {
      await this.client.json('DELETE', this.path(namespace, evidenceConfigMapName(auditName)));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

export async function restoreEvidence(store: EvidenceStore | null, audit: MemoryAudit, log: Logger): Promise<AuditEvidence> {
  const ev = store ? await store.load(audit) : new AuditEvidence(audit.metadata.uid ?? '');
  if (ev.restoredFrom) log.info({ from: ev.restoredFrom, samples: ev.sampleCount(), targets: ev.targets.size }, 'Restored evidence');
  const u = ev.unreadable;
  if (u?.reason !== undefined) log.warn({ from: u.from, err: u.reason, keptAs: UNREADABLE_EVIDENCE_KEY }, 'Saved evidence unreadable: the audit starts afresh; the bytes are kept in the ConfigMap');
  return ev;
}

/** Unreadable bytes an earlier start kept stay with the evidence, to be saved again. */
function withKept(ev: AuditEvidence, kept: string | undefined): AuditEvidence {
  if (kept !== undefined) ev.unreadable = { base64: kept };
  return ev;
}

type Saving = { audit: MemoryAudit; evidence: AuditEvidence; nowMs: number; log: Logger };

export const persistDue = ({ evidence, nowMs }: Saving, syncPeriodMs: number): boolean => syncPeriodMs > 0 && evidence.dirty && nowMs - evidence.lastPersistMs >= syncPeriodMs;

export async function persistEvidence(store: EvidenceStore, isLeader: () => boolean, { audit, evidence: ev, nowMs, log }: Saving): Promise<void> {
  if (!isLeader()) return;
  try {
    const bytes = await store.save(audit, ev, nowMs);
    ev.lastPersistMs = nowMs;
    ev.dirty = false;
    log.debug({ bytes }, 'Saved evidence');
  } catch (e) {
    log.warn({ err: e instanceof Error ? e.message : String(e) }, 'Evidence not saved');
  }
}
