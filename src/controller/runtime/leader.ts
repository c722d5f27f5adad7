// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules: a candidate takes
// the Lease only when its holder has not renewed it for leaseDuration (measured on the
// candidate's own clock from when it last saw the record change, so clock skew does not matter);
// the leader stops acting as soon as it has failed to renew for renewDeadline, which is shorter
// than leaseDuration, so two replicas never act at once. Writes use resourceVersion (optimistic
// concurrency), so two candidates cannot both win one round. A patient candidate (a shard that is
// not this replica's own, shards.ts) waits longer still, and for a released or absent Lease too.
import type { Logger } from 'pino';
import type { LeaderElectionConfig } from './flags.ts';
import type { KubeClient } from './kube/client.ts';
import { isConflict, isNotFound } from './kube/api-error.ts';

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export interface LeaderCallbacks {
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
}

export interface ElectorOptions {
  /** Told each time this candidate starts or stops leading (a gauge). */
  onLeading?: (leading: boolean) => void;
  /**
   * How long a Lease that is not ours must be seen unchanged (held, released, or absent) before
   * this candidate takes it. Without it, client-go's rules: the holder's lease duration, and a
   * released or absent Lease at once.
   */
  patienceMs?: () => number;
  now?: () => number;
}

const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private readonly client: KubeClient;
  private readonly config: LeaderElectionConfig;
  private readonly log: Logger;
  private readonly options: ElectorOptions;
  private readonly now: () => number;
  private leading = false;
  private lastRenewMs = 0;
  private observed: { record: string; atMs: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private callbacks: LeaderCallbacks | undefined;
  private transition: Promise<void> = Promise.resolve();

  constructor(client: KubeClient, config: LeaderElectionConfig, log: Logger, options: ElectorOptions = {}) {
    this.client = client;
    this.config = config;
    this.log = log.child({ lease: `${config.namespace}/${config.leaseName}`, identity: config.identity });
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  get identity(): string {
    return this.config.identity;
  }

  /** True while this replica may act: it holds the Lease and renewed it within renewDeadline. */
  isLeader(): boolean {
    if (!this.config.enabled) return !this.stopped;
    return this.leading && this.now() - this.lastRenewMs < this.config.renewDeadlineMs;
  }

  start(callbacks: LeaderCallbacks): void {
    this.callbacks = callbacks;
    if (!this.config.enabled) {
      this.leading = true;
      this.options.onLeading?.(true);
      this.transition = Promise.resolve(callbacks.onStartedLeading());
      return;
    }
    void this.tick();
  }

  private path(name?: string): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.config.namespace)}/leases${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (e) {
      this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'Lease update failed');
    }
    if (this.stopped) return;
    const now = this.now();
    if (ok) {
      this.lastRenewMs = now;
      if (!this.leading) {
        this.leading = true;
        this.options.onLeading?.(true);
        this.log.info('Became leader');
        this.transition = this.transition.then(() => this.callbacks?.onStartedLeading());
      }
    } else if (this.leading && now - this.lastRenewMs >= this.config.renewDeadlineMs) {
      this.leading = false;
      this.options.onLeading?.(false);
      this.log.warn({ sinceRenewMs: now - this.lastRenewMs }, 'Lost leadership: Lease not renewed within the renew deadline');
      this.transition = this.transition.then(() => this.callbacks?.onStoppedLeading());
    }
    this.timer = setTimeout(() => void this.tick(), this.config.retryPeriodMs);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const me = this.config.identity;
    const patienceMs = this.options.patienceMs?.();
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>(this.path(this.config.leaseName), { timeoutMs: this.config.retryPeriodMs * 2 });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      if (this.seenUnchangedFor('absent', now) < (patienceMs ?? 0)) return false;
      const created: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.config.leaseName, namespace: this.config.namespace },
        spec: { holderIdentity: me, leaseDurationSeconds: Math.ceil(this.config.leaseDurationMs / 1000), acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      };
      try {
        await this.client.json('POST', this.path(), { body: created });
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const unchangedMs = this.seenUnchangedFor(JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime]), now);
    const holder = spec.holderIdentity ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.config.leaseDurationMs / 1000)) * 1000;
    if (holder !== me && unchangedMs < (patienceMs ?? (holder === '' ? 0 : durationMs))) return false;
    const next: Lease = {
      ...lease,
      spec: {
        holderIdentity: me,
        leaseDurationSeconds: Math.ceil(this.config.leaseDurationMs / 1000),
        acquireTime: holder === me && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === me ? 0 : 1),
      },
    };
    try {
      await this.client.json('PUT', this.path(this.config.leaseName), { body: next, timeoutMs: this.config.retryPeriodMs * 2 });
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  /** How long the Lease has looked like `record` on this replica's clock. */
  private seenUnchangedFor(record: string, now: number): number {
    if (!this.observed || this.observed.record !== record) this.observed = { record, atMs: now };
    return now - this.observed.atMs;
  }

  /** Stops; a leader hands the Lease back so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const wasLeading = this.leading;
    this.leading = false;
    this.options.onLeading?.(false);
    if (wasLeading) await this.transition.then(() => this.callbacks?.onStoppedLeading());
    if (!this.config.enabled || !wasLeading) return;
    try {
      const lease = await this.client.get<Lease>(this.path(this.config.leaseName), { timeoutMs: 5000 });
      if (lease.spec?.holderIdentity !== this.config.identity) return;
      const now = this.now();
      await this.client.json('PUT', this.path(this.config.leaseName), { body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now), acquireTime: microTime(now) } }, timeoutMs: 5000 });
      this.log.info('Released the Lease');
    } catch (e) {
      this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'Lease not released');
    }
  }
}
