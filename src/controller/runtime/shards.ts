// Shards, the way kube-state-metrics and Argo CD spread objects over replicas: every object key
// belongs to one of N shards by a stable hash, and each shard has a Lease of its own. A replica
// contends at once for its home shard (its StatefulSet ordinal, else the hash of its pod name),
// and for any other shard only
// once that shard's Lease has gone unrenewed (or stayed released, or absent) for
// (1 + shards it already holds) x the lease duration, plus one retry period per place the shard
// stands after its home (so one replica's candidates do not all win in the same instant): in
// steady state each replica holds one shard, a dead replica's shard goes to the survivor holding
// the fewest, and a replica that comes back asks for its home (an annotation on the Lease): the
// holder saves the shard's evidence and hands the Lease over (leader.ts).
// With one shard this is exactly one Lease under the configured name, as without shards.
//
// A change of the shard count (a rollout from N to M) reassigns most audits, and for the length
// of the rollout pods of both counts run: each writes its count on the Leases it holds
// (SHARDS_ANNOTATION), and a replica acts for no shard while it sees a Lease held, and renewed, by
// a replica of another count, nor before it has held a shard and seen no such Lease for the renew
// deadline (so the other side, which reads every Lease it does not hold each retry period, has
// seen this one first). Of two replicas of different counts, at least one reads a Lease the other
// holds (watchedLeaseNames; the unit test checks every pair of counts up to 6), so they never act
// at once: the audits pause for the rollout instead, and each resumes from its evidence ConfigMap.
// A replica with shards reads the single-shard Lease as well (a one-shard replica holds nothing else).
import type { Logger } from 'pino';
import type { KubeClient } from './kube/client.ts';
import type { LeaderElectionConfig } from './flags.ts';
import { LeaderElector } from './leader.ts';

/** The shard count of the replica holding a Lease: written by every holder (absent on a Lease written by an earlier release). */
export const SHARDS_ANNOTATION = 'memaudit.io/shards';

/** 32-bit FNV-1a of the UTF-8 bytes: stable across processes, versions and platforms. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The shard of an object key (`namespace/name`), 0 .. shards-1. */
export function shardOf(key: string, shards: number): number {
  return shards <= 1 ? 0 : fnv1a32(key) % shards;
}

/**
 * The home shard of a replica: the ordinal of a StatefulSet's pod (`name-3`) mod shards, so N
 * pods have N different homes; else the hash of its pod name (a Deployment's pods may share
 * one); null without a pod name.
 */
export function homeShardOf(podName: string | undefined, shards: number): number | null {
  if (shards <= 1) return 0;
  if (!podName) return null;
  const m = /-(\d+)$/.exec(podName);
  return m ? Number(m[1]) % shards : shardOf(podName, shards);
}

/** The pod name in a Lease holder's identity (`<pod>_<random>`, flags.ts). */
const podNameOf = (identity: string) => identity.replace(/_[0-9a-f]+$/, '');

/** The Lease of shard `i`: the configured name itself when there is one shard. */
export function shardLeaseName(leaseName: string, shard: number, shards: number): string {
  return shards <= 1 ? leaseName : `${leaseName}-shard-${shard}`;
}

/**
 * The Leases a replica with this shard count reads or holds: its shards', and, with shards, the
 * single-shard Lease (the only one a one-shard replica holds). The last is read, never taken.
 */
export function watchedLeaseNames(leaseName: string, shards: number): string[] {
  const own = Array.from({ length: Math.max(1, shards) }, (_, i) => shardLeaseName(leaseName, i, shards));
  return shards > 1 ? [...own, leaseName] : own;
}

export interface ShardCallbacks {
  onShardGained: (shard: number) => void | Promise<void>;
  onShardLost: (shard: number) => void | Promise<void>;
}

export interface ShardOptions {
  shards: number;
  /** The shard contended for at once; null: none (every shard only once its Lease expired). */
  home: number | null;
  /** Told the number of shards held each time it changes (a gauge). */
  onHeldChanged?: (held: number) => void;
  /** Told the number of shards acted for each time it changes (a gauge). */
  onActingChanged?: (acting: number) => void;
  now?: () => number;
}

export class ShardLeadership {
  readonly shards: number;
  private readonly electors: LeaderElector[];
  /** The single-shard Lease, read (never taken) by a replica with shards: see the file comment. */
  private readonly watcher: LeaderElector | undefined;
  /** The electors, and the watcher: every Lease this replica reads (watchedLeaseNames). */
  private readonly readers: LeaderElector[];
  private readonly leading: boolean[];
  /** When each shard's Lease was last taken (NaN: not held). */
  private readonly heldSince: number[];
  /** Shards this replica acts for: their callbacks ran onShardGained last. */
  private readonly acting: boolean[];
  private readonly config: LeaderElectionConfig;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly onHeldChanged: ((held: number) => void) | undefined;
  private readonly onActingChanged: ((acting: number) => void) | undefined;
  /** Since when no Lease of another shard count was seen (NaN: one is seen, or not every Lease read yet). */
  private clearSince = NaN;
  /** What otherCountHolder() said last, so that each change is logged once ('' at the start: nothing read yet). */
  private pausedBy: string | null = '';
  private callbacks: ShardCallbacks | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Gains and losses of all shards run one after another, in the order they happened. */
  private transitions: Promise<void> = Promise.resolve();

  constructor(client: KubeClient, config: LeaderElectionConfig, log: Logger, options: ShardOptions) {
    this.shards = options.shards;
    this.config = config;
    this.log = log;
    this.now = options.now ?? Date.now;
    this.onHeldChanged = options.onHeldChanged;
    this.onActingChanged = options.onActingChanged;
    this.leading = Array.from({ length: this.shards }, () => false);
    this.heldSince = this.leading.map(() => NaN);
    this.acting = this.leading.map(() => false);
    const annotations = { [SHARDS_ANNOTATION]: String(this.shards) };
    const onObserved = () => this.evaluate();
    const names = watchedLeaseNames(config.leaseName, this.shards);
    // Without a home (no ordinal), the replica's identity picks where its order of shards starts.
    const anchor = options.home ?? fnv1a32(config.identity) % this.shards;
    this.electors = this.leading.map((_, shard) => {
      const place = (shard - anchor + this.shards) % this.shards;
      const home = shard === options.home || this.shards === 1;
      const patienceMs = home ? undefined : () => (1 + this.held) * config.leaseDurationMs + place * config.retryPeriodMs;
      return new LeaderElector(client, { ...config, leaseName: names[shard]! }, log, {
        onLeading: (on) => {
          this.leading[shard] = on;
          this.heldSince[shard] = on ? this.now() : NaN;
          this.onHeldChanged?.(this.held);
        },
        annotations,
        onObserved,
        ...(patienceMs ? { patienceMs } : {}),
        // A home shard is asked back from a replica for which it is not home too; any other
        // shard is handed over to the replica whose home it is.
        ...(this.shards > 1 && home ? { claimsFrom: (holder: string) => homeShardOf(podNameOf(holder), this.shards) !== shard } : {}),
        ...(this.shards > 1 && !home ? { yieldsToClaims: true } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
    });
    const watched = names[this.shards];
    if (watched !== undefined && config.enabled) this.watcher = new LeaderElector(client, { ...config, leaseName: watched }, log, { watchOnly: true, onObserved, ...(options.now ? { now: options.now } : {}) });
    this.readers = this.watcher ? [...this.electors, this.watcher] : this.electors;
  }

  get identity(): string {
    return this.electors[0]!.identity;
  }

  /** Shards whose Lease this replica holds (renewed or not; acting for them or not). */
  get held(): number {
    return this.leading.filter(Boolean).length;
  }

  /** True while this replica may act for the shard: it holds its Lease, renewed within the renew deadline, and no replica of another shard count holds one. */
  holds(shard: number): boolean {
    return this.acting[shard] === true && this.mayAct(shard);
  }

  /** True while the shard's Lease is this replica's, also while handing it over: what it may still save. */
  holdsLease(shard: number): boolean {
    return this.electors[shard]?.holdsLease() ?? false;
  }

  /** True while this replica may act for the object key. */
  owns(key: string): boolean {
    return this.holds(shardOf(key, this.shards));
  }

  start(callbacks: ShardCallbacks): void {
    this.callbacks = callbacks;
    for (const elector of this.electors) {
      elector.start({
        onStartedLeading: () => this.evaluate(),
        // The elector waits for this (a hand-over saves before it releases the Lease).
        onStoppedLeading: () => {
          this.evaluate();
          return this.transitions;
        },
      });
    }
    this.watcher?.start({ onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    // Time alone ends a settling period: look again every retry period.
    this.timer = setInterval(() => this.evaluate(), this.config.retryPeriodMs);
  }

  /** Stops every elector; each shard held is lost (its callback runs) and its Lease released. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.readers.map((e) => e.stop()));
    this.evaluate();
    await this.transitions;
  }

  /** Whether the shard may be acted for now: see the file comment. */
  private mayAct(shard: number): boolean {
    if (!this.electors[shard]!.isLeader()) return false;
    if (!this.config.enabled) return true;
    const now = this.now();
    const since = Math.max(this.clearSince, this.heldSince[shard]!);
    return this.otherCountHolder() === null && now - since >= this.config.renewDeadlineMs;
  }

  /**
   * The holder of a fresh Lease of another shard count, '' while some Lease has not been read
   * within the renew deadline (it could be one), null when neither.
   */
  private otherCountHolder(): string | null {
    const mine = String(this.shards);
    for (const e of this.readers) {
      if (e.sinceLastOkMs() >= this.config.renewDeadlineMs) return '';
      const seen = e.observedLease();
      if (!seen?.fresh) continue;
      const count = seen.annotations[SHARDS_ANNOTATION];
      // The single-shard Lease is only ever held by a one-shard replica; a shard Lease without
      // the annotation was written before it existed: taken to be of this count.
      if (e === this.watcher ? count !== mine : count !== undefined && count !== mine) return `${seen.holder} (shards ${count ?? 1})`;
    }
    return null;
  }

  /** Starts and stops acting for each shard as its Lease and the other counts' Leases say. */
  private evaluate(): void {
    if (!this.callbacks) return;
    const other = this.config.enabled ? this.otherCountHolder() : null;
    if (other === null) {
      if (Number.isNaN(this.clearSince)) this.clearSince = this.now();
    } else this.clearSince = NaN;
    if (other !== this.pausedBy) {
      if (other) this.log.warn({ holder: other, shards: this.shards }, 'A replica with another shard count holds a Lease (a change of --shards rolling out): acting for no shard until it is gone');
      else if (other === '' && this.pausedBy === null) this.log.warn({ shards: this.shards }, 'Leases not read within the renew deadline: acting for no shard until they are');
      else if (other === null && this.pausedBy) this.log.info({ shards: this.shards }, 'No replica with another shard count holds a Lease: acting again');
      this.pausedBy = other;
    }
    const callbacks = this.callbacks;
    let changed = false;
    this.acting.forEach((was, shard) => {
      const now = this.mayAct(shard);
      if (now === was) return;
      changed = true;
      this.acting[shard] = now;
      // Logged when decided: the callbacks may wait behind another shard's (a save).
      this.log.info({ shard, shards: this.shards }, now ? 'Acting for the shard' : 'No longer acting for the shard');
      const [what, run] = now ? (['gain', () => callbacks.onShardGained(shard)] as const) : (['loss', () => callbacks.onShardLost(shard)] as const);
      this.transitions = this.transitions.then(run).catch((e: unknown) => this.log.error({ shard, err: e instanceof Error ? e.message : String(e) }, `Shard ${what} failed`));
    });
    if (changed) this.onActingChanged?.(this.acting.filter(Boolean).length);
  }
}
