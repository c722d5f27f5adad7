// What one reconcile of one audit works on: every step reads it, and adds the Events it decides on.
import type { Logger } from 'pino';
import type { MemoryAudit } from '../api/v1alpha1.ts';
import type { AuditEvidence } from '../evidence.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import type { ControllerMetrics } from '../runtime/metrics.ts';
import type { ResolvedSpec } from '../spec.ts';

export interface AuditEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface Round {
  audit: MemoryAudit;
  spec: ResolvedSpec;
  evidence: AuditEvidence;
  nowMs: number;
  log: Logger;
  /** Recorded once the status is written, in the order the steps added them. */
  events: AuditEvent[];
}

/** What the steps that write to the API server need; they write only while this replica leads. */
export type ApiAccess = { client: KubeClient; metrics: ControllerMetrics; isLeader: () => boolean };
