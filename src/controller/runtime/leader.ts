// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules: a candidate takes
// the Lease only when its holder has not renewed it for leaseDuration (measured on the
// candidate's own clock from when it last saw the record change, so clock skew does not matter);
// the leader stops acting as soon as it has failed to renew for renewDeadline, which is shorter
// than leaseDuration, so two replicas never act at once. Writes use resourceVersion (optimistic
// concurrency), so two candidates cannot both win one round. A patient candidate (a shard that is
// not this replica's own, shards.ts) waits longer still, and for a released or absent Lease too.
// A shard's home replica that finds its Lease held by another asks for it back with an annotation
// it refreshes every retry period; a holder that yields to such claims stops acting, saves what
// it can (onStoppedLeading), and releases the Lease, which the claimant takes at once.
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
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
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
  /** Asks a holder for the Lease back (a claim annotation) when this returns true for its identity. */
  claimsFrom?: (holder: string) => boolean;
  /** Hands the Lease over to a replica whose claim is fresh (changed within the lease duration). */
  yieldsToClaims?: boolean;
  /** Set on the Lease whenever this candidate writes it as its holder (the shard count, shards.ts). */
  annotations?: Record<string, string>;
  /** Only reads the Lease every retry period (observedLease()), never takes it: the one-shard Lease read by a replica with shards (shards.ts). */
  watchOnly?: boolean;
  /** Told after each attempt to read or write the Lease (every retry period), whatever came of it. */
  onObserved?: () => void;
  now?: () => number;
}

/** The Lease as a candidate last read it (held by another, released, or absent), for shards.ts. */
export interface ObservedLease {
  /** '' when released or absent. */
  holder: string;
  annotations: Readonly<Record<string, string>>;
  /** The holder renewed it within its lease duration, as this replica's clock saw the record change. */
  fresh: boolean;
}

/** `<identity> <time>` of the replica asking for the Lease back; the time makes every refresh a change. */
export const CLAIM_ANNOTATION = 'memaudit.io/claimed-by';

type Outcome = 'held' | 'not held' | 'yield';

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
  /**
   * The Lease as this replica last wrote it while holding it: the next renewal writes from it
   * without reading first (client-go's "fast path for the leader to update optimistically"); if
   * another replica changed it since (a claim, a takeover), the write conflicts and the renewal
   * reads it and decides again.
   */
  private held: Lease | undefined;
  private observedClaim: { record: string; atMs: number } | undefined;
  /** The Lease as last read while not holding it (undefined while held, or absent), with its duration. */
  private seen: { holder: string; annotations: Record<string, string>; durationMs: number } | undefined;
  /** When a read or write of the Lease last succeeded (-Infinity: never). */
  private lastOkMs = -Infinity;
  /** Handing the Lease over: no longer acting, not yet released. */
  private yielding = false;
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
    return this.holdsLease() && !this.yielding;
  }

  /** True while the Lease is this replica's, also while handing it over: what it may still save. */
  holdsLease(): boolean {
    if (!this.config.enabled) return !this.stopped;
    return this.leading && this.now() - this.lastRenewMs < this.config.renewDeadlineMs;
  }

  /** How long ago a read or write of the Lease last succeeded (Infinity: never). */
  sinceLastOkMs(): number {
    return this.now() - this.lastOkMs;
  }

  /** The Lease as last read while not holding it; undefined while holding it, or when absent. */
  observedLease(): ObservedLease | undefined {
    const seen = this.seen;
    if (!seen || this.leading) return undefined;
    const fresh = seen.holder !== '' && this.observed !== undefined && this.now() - this.observed.atMs < seen.durationMs;
    return { holder: seen.holder, annotations: seen.annotations, fresh };
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
    if (this.yielding) {
      this.timer = setTimeout(() => void this.tick(), this.config.retryPeriodMs);
      return;
    }
    let outcome: Outcome = 'not held';
    try {
      outcome = await this.tryAcquireOrRenew();
    } catch (e) {
      this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'Lease update failed');
    }
    if (this.stopped) return;
    const now = this.now();
    const ok = outcome === 'held';
    if (outcome === 'yield' && this.leading) {
      this.yielding = true;
      this.log.info('Handing the Lease over to the replica that claims it');
      this.transition = this.transition
        .then(() => this.callbacks?.onStoppedLeading())
        .then(() => this.release())
        .finally(() => {
          this.leading = false;
          this.yielding = false;
          this.options.onLeading?.(false);
        });
    } else if (ok) {
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
    this.options.onObserved?.();
    this.timer = setTimeout(() => void this.tick(), this.config.retryPeriodMs);
  }

  private async tryAcquireOrRenew(): Promise<Outcome> {
    const now = this.now();
    const me = this.config.identity;
    const held = this.held;
    this.held = undefined;
    if (held && this.leading && now - this.lastRenewMs < this.config.leaseDurationMs) {
      try {
        this.held = await this.client.json<Lease>('PUT', this.path(this.config.leaseName), { body: { ...held, spec: { ...held.spec, renewTime: microTime(now) } }, timeoutMs: this.config.retryPeriodMs * 2 });
        this.lastOkMs = now;
        return 'held';
      } catch (e) {
        if (!isConflict(e)) this.log.debug({ err: e instanceof Error ? e.message : String(e) }, 'Lease renewal without a read failed; reading it');
      }
    }
    const patienceMs = this.options.patienceMs?.();
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>(this.path(this.config.leaseName), { timeoutMs: this.config.retryPeriodMs * 2 });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      this.lastOkMs = now;
      this.seen = undefined;
      if (this.seenUnchangedFor('absent', now) < (patienceMs ?? 0) || this.options.watchOnly) return 'not held';
      const created: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.config.leaseName, namespace: this.config.namespace, ...(this.options.annotations ? { annotations: { ...this.options.annotations } } : {}) },
        spec: { holderIdentity: me, leaseDurationSeconds: Math.ceil(this.config.leaseDurationMs / 1000), acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      };
      try {
        this.held = await this.client.json<Lease>('POST', this.path(), { body: created });
        this.seen = undefined;
        return 'held';
      } catch (err) {
        if (isConflict(err)) return 'not held';
        throw err;
      }
    }
    this.lastOkMs = now;
    const spec = lease.spec ?? {};
    const unchangedMs = this.seenUnchangedFor(JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime]), now);
    const holder = spec.holderIdentity ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.config.leaseDurationMs / 1000)) * 1000;
    this.seen = { holder, annotations: lease.metadata.annotations ?? {}, durationMs };
    if (this.options.watchOnly) return 'not held';
    const claim = lease.metadata.annotations?.[CLAIM_ANNOTATION] ?? '';
    const claimFresh = claim !== '' && this.claimUnchangedFor(claim, now) < this.config.leaseDurationMs;
    const claimIsMine = claim.startsWith(`${me} `);
    if (holder !== me && unchangedMs < (patienceMs ?? (holder === '' ? 0 : durationMs))) {
      if (holder !== '' && this.options.claimsFrom?.(holder)) await this.claim(lease, now);
      return 'not held';
    }
    if (holder === me && this.options.yieldsToClaims && claimFresh && !claimIsMine) return 'yield';
    // A claim is dropped once its claimant holds the Lease, or once it went stale.
    const { [CLAIM_ANNOTATION]: _claim, ...unclaimed } = lease.metadata.annotations ?? {};
    const annotations = { ...(claim !== '' && (claimIsMine || !claimFresh) ? unclaimed : lease.metadata.annotations), ...this.options.annotations };
    const next: Lease = {
      ...lease,
      metadata: { ...lease.metadata, annotations },
      spec: {
        holderIdentity: me,
        leaseDurationSeconds: Math.ceil(this.config.leaseDurationMs / 1000),
        acquireTime: holder === me && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === me ? 0 : 1),
      },
    };
    try {
      this.held = await this.client.json<Lease>('PUT', this.path(this.config.leaseName), { body: next, timeoutMs: this.config.retryPeriodMs * 2 });
      this.seen = undefined;
      return 'held';
    } catch (e) {
      if (isConflict(e)) return 'not held';
      throw e;
    }
  }

  /** Asks the holder for the Lease back; a conflict (the holder renewing) is tried again next round. */
  private async claim(lease: Lease, now: number): Promise<void> {
    const annotations = { ...lease.metadata.annotations, [CLAIM_ANNOTATION]: `${this.config.identity} ${microTime(now)}` };
    try {
      await this.client.json('PUT', this.path(this.config.leaseName), { body: { ...lease, metadata: { ...lease.metadata, annotations } }, timeoutMs: this.config.retryPeriodMs * 2 });
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
  }

  /** How long the claim annotation has had this value on this replica's clock. */
  private claimUnchangedFor(claim: string, now: number): number {
    if (!this.observedClaim || this.observedClaim.record !== claim) this.observedClaim = { record: claim, atMs: now };
    return now - this.observedClaim.atMs;
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
    // A hand-over under way runs its own onStoppedLeading and release.
    const wasLeading = this.leading && !this.yielding;
    this.leading = false;
    this.options.onLeading?.(false);
    if (!wasLeading) return this.transition;
    await this.transition.then(() => this.callbacks?.onStoppedLeading());
    if (this.config.enabled) await this.release();
  }

  /** Hands the Lease back (holder empty) if it is still ours, so another candidate takes it at once. */
  private async release(): Promise<void> {
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
