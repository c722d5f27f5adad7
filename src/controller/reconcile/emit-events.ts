// Step "emitEvents": Kubernetes Events on the MemoryAudit (core/v1, what `kubectl describe` and
// `kubectl events` show): those the other steps decided on (a target gone, a patch) and those the
// new status tells against the previous one (a verdict changed, a target started failing). Best
// effort: a failed Event is logged, never fails a reconcile.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { EventReason } from '../api/conditions.ts';
import { API_VERSION, KIND, type MemoryAudit, type MemoryAuditStatus } from '../api/v1alpha1.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import type { AuditEvent, Round } from './round.ts';

const COMPONENT = 'memaudit-controller';

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly instance: string;

  constructor(client: KubeClient, log: Logger, instance: string) {
    this.client = client;
    this.log = log;
    this.instance = instance;
  }

  async record(audit: MemoryAudit, e: AuditEvent, nowMs = Date.now()): Promise<void> {
    const ns = audit.metadata.namespace!;
    const time = new Date(nowMs).toISOString();
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${audit.metadata.name}.${nowMs.toString(16)}${randomBytes(2).toString('hex')}`, namespace: ns },
      involvedObject: { apiVersion: API_VERSION, kind: KIND, name: audit.metadata.name, namespace: ns, uid: audit.metadata.uid, resourceVersion: audit.metadata.resourceVersion },
      type: e.type,
      reason: e.reason,
      message: e.message.slice(0, 1024),
      source: { component: COMPONENT },
      reportingComponent: `memaudit.io/${COMPONENT}`,
      reportingInstance: this.instance.slice(0, 128),
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    try {
      await this.client.json('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/events`, { body });
    } catch (err) {
      this.log.warn({ audit: `${ns}/${audit.metadata.name}`, reason: e.reason, err: err instanceof Error ? err.message : String(err) }, 'Event not recorded');
    }
  }
}

export async function emitEvents(recorder: Pick<EventRecorder, 'record'>, { audit, events, nowMs }: Round, status: MemoryAuditStatus): Promise<void> {
  for (const e of [...events, ...statusEvents(audit.status, status)]) await recorder.record(audit, e, nowMs);
}

/** Per target: its verdict changed (a Warning when it became a Leak), or it started failing. */
export function statusEvents(previous: MemoryAuditStatus | undefined, status: MemoryAuditStatus): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const st of status.targets ?? []) {
    const prev = previous?.targets?.find((p) => p.pod === st.pod && p.container === st.container);
    if (prev && prev.verdict !== st.verdict && st.state !== 'Gone') {
      const message = `${st.pod}/${st.container}: ${prev.verdict} -> ${st.verdict}${st.leakSource ? ` (${st.leakSource})` : ''}: ${st.explanation ?? ''}`;
      events.push({ type: st.verdict === 'Leak' ? 'Warning' : 'Normal', reason: EventReason.VerdictChanged, message });
    }
    if (st.state === 'Failing' && prev?.state !== 'Failing') events.push({ type: 'Warning', reason: EventReason.SamplingFailed, message: `${st.pod}/${st.container}: ${st.message ?? 'sampling failed'}` });
  }
  return events;
}
