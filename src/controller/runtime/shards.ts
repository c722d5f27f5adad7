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
import type { Logger } from 'pino';
import type { KubeClient } from './kube/client.ts';
import type { LeaderElectionConfig } from './flags.ts';
import { LeaderElector } from './leader.ts';

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
  now?: () => number;
}

export class ShardLeadership {
  readonly shards: number;
  private readonly electors: LeaderElector[];
  private readonly leading: boolean[];
  private readonly log: Logger;
  private readonly onHeldChanged: ((held: number) => void) | undefined;
  /** Gains and losses of all shards run one after another, in the order they happened. */
  private transitions: Promise<void> = Promise.resolve();

  constructor(client: KubeClient, config: LeaderElectionConfig, log: Logger, options: ShardOptions) {
    this.shards = options.shards;
    this.log = log;
    this.onHeldChanged = options.onHeldChanged;
    this.leading = Array.from({ length: this.shards }, () => false);
    // Without a home (no ordinal), the replica's identity picks where its order of shards starts.
    const anchor = options.home ?? fnv1a32(config.identity) % this.shards;
    this.electors = this.leading.map((_, shard) => {
      const place = (shard - anchor + this.shards) % this.shards;
      const home = shard === options.home || this.shards === 1;
      const patienceMs = home ? undefined : () => (1 + this.held) * config.leaseDurationMs + place * config.retryPeriodMs;
      return new LeaderElector(client, { ...config, leaseName: shardLeaseName(config.leaseName, shard, this.shards) }, log, {
        onLeading: (on) => {
          this.leading[shard] = on;
          this.onHeldChanged?.(this.held);
        },
        ...(patienceMs ? { patienceMs } : {}),
        // A home shard is asked back from a replica for which it is not home too; any other
        // shard is handed over to the replica whose home it is.
        ...(this.shards > 1 && home ? { claimsFrom: (holder: string) => homeShardOf(podNameOf(holder), this.shards) !== shard } : {}),
        ...(this.shards > 1 && !home ? { yieldsToClaims: true } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
    });
  }

  get identity(): string {
    return this.electors[0]!.identity;
  }

  /** Shards whose Lease this replica holds (renewed or not). */
  get held(): number {
    return this.leading.filter(Boolean).length;
  }

  /** True while this replica may act for the shard: it holds its Lease and renewed it within the renew deadline. */
  holds(shard: number): boolean {
    return this.electors[shard]?.isLeader() ?? false;
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
    this.electors.forEach((elector, shard) => {
      const serially = (what: string, run: () => void | Promise<void>) => {
        this.transitions = this.transitions.then(run).catch((e: unknown) => this.log.error({ shard, err: e instanceof Error ? e.message : String(e) }, `Shard ${what} failed`));
        return this.transitions;
      };
      elector.start({
        onStartedLeading: () => serially('gain', () => callbacks.onShardGained(shard)),
        onStoppedLeading: () => serially('loss', () => callbacks.onShardLost(shard)),
      });
    });
  }

  /** Stops every elector; each shard held is lost (its callback runs) and its Lease released. */
  async stop(): Promise<void> {
    await Promise.all(this.electors.map((e) => e.stop()));
  }
}
