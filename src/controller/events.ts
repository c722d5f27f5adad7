import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { API_VERSION, KIND } from './api/v1alpha1.ts';
import type { MemoryAudit } from './api/v1alpha1.ts';
import type { KubeClient } from './runtime/kube/client.ts';

/**
 * Kubernetes Events on the MemoryAudit (core/v1, what `kubectl describe` and `kubectl events`
 * show). Best effort: a failed Event is logged, never fails a reconcile.
 */
export interface AuditEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly component: string;
  private readonly instance: string;

  constructor(client: KubeClient, log: Logger, instance: string) {
    this.client = client;
    this.log = log;
    this.component = 'memaudit-controller';
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
      source: { component: this.component },
      reportingComponent: `memaudit.io/${this.component}`,
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
