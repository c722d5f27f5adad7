import { jest } from '@jest/globals';
import { pino } from 'pino';
import type { LeaderElectionConfig } from '../../../../src/controller/runtime/flags.ts';
import { KubeApiError } from '../../../../src/controller/runtime/kube/api-error.ts';
import type { KubeClient } from '../../../../src/controller/runtime/kube/client.ts';
import { ShardLeadership, fnv1a32, homeShardOf, shardLeaseName, shardOf, watchedLeaseNames } from '../../../../src/controller/runtime/shards.ts';

// The hash that assigns audits to shards, and the shard Leases' rules on jest's fake clock
// (timers and Date.now together) against an in-memory Lease API with resourceVersion checks.
// The real API server plays the same game in test/e2e/shards.test.ts.

const log = pino({ level: 'silent' });

describe('shard assignment', () => {
  it('has, of any two replicas of different shard counts, one read a Lease the other holds', () => {
    // The rule a change of the count rests on (shards.ts): a replica reads every Lease it watches
    // and does not hold; so whatever Leases two replicas of counts n != m hold, one of them sees the other.
    const subsets = (xs: string[]) => Array.from({ length: 2 ** xs.length - 1 }, (_, bits) => xs.filter((_, i) => ((bits + 1) >> i) & 1));
    const holdable = (n: number) => Array.from({ length: n }, (_, i) => shardLeaseName('ctl', i, n));
    let pairs = 0;
    for (let n = 1; n <= 6; n++) {
      for (let m = 1; m <= 6; m++) {
        if (n === m) continue;
        for (const a of subsets(holdable(n))) {
          for (const b of subsets(holdable(m))) {
            if (a.some((l) => b.includes(l))) continue; // one holder a Lease
            const aReads = watchedLeaseNames('ctl', n).filter((l) => !a.includes(l));
            const bReads = watchedLeaseNames('ctl', m).filter((l) => !b.includes(l));
            expect([n, m, a, b, b.some((l) => aReads.includes(l)) || a.some((l) => bReads.includes(l))]).toEqual([n, m, a, b, true]);
            pairs++;
          }
        }
      }
    }
    expect(pairs).toBeGreaterThan(1000);
  });

  it('is 32-bit FNV-1a (the published test vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('is stable: the same key is in the same shard in every process and release', () => {
    // fnv1a32('shop/checkout') = 0x06a37866 = 111376486 (Python's own loop agrees); mod 3 = 1, mod 4 = 2.
    expect(fnv1a32('shop/checkout')).toBe(111376486);
    expect(shardOf('shop/checkout', 3)).toBe(1);
    expect(shardOf('shop/checkout', 4)).toBe(2);
    expect(shardOf('shop/checkout', 1)).toBe(0);
  });

  it('spreads audits evenly', () => {
    const counts = [0, 0, 0];
    for (let ns = 0; ns < 30; ns++) for (let a = 0; a < 30; a++) counts[shardOf(`team-${ns}/audit-${a}`, 3)]!++;
    // 900 keys: 300 expected per shard.
    for (const c of counts) expect(Math.abs(c - 300)).toBeLessThan(45);
  });

  it('takes the home shard from a StatefulSet ordinal, else from the hash of the pod name', () => {
    expect(homeShardOf('memaudit-controller-0', 3)).toBe(0);
    expect(homeShardOf('memaudit-controller-4', 3)).toBe(1);
    // fnv1a32('memaudit-controller-7d9f8c6b5-x2kqz') = 488452960 (Python agrees); mod 3 = 1.
    expect(homeShardOf('memaudit-controller-7d9f8c6b5-x2kqz', 3)).toBe(1);
    expect(homeShardOf(undefined, 3)).toBeNull();
    expect(homeShardOf('anything', 1)).toBe(0);
  });

  it('names one Lease per shard, and keeps the name with one shard', () => {
    expect(shardLeaseName('memaudit-controller', 0, 1)).toBe('memaudit-controller');
    expect(shardLeaseName('memaudit-controller', 2, 3)).toBe('memaudit-controller-shard-2');
  });
});

interface StoredLease {
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: { holderIdentity?: string };
}

/** Leases kept in memory with the API server's optimistic concurrency; `down` fails one replica's calls. */
class LeaseApi {
  readonly leases = new Map<string, StoredLease>();
  private version = 0;

  client(replica: { down: boolean; readsFail?: boolean }): KubeClient {
    const fail = () => {
      if (replica.down) throw new Error('connection refused');
    };
    const name = (path: string) => decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
    return {
      get: async (path: string) => {
        fail();
        if (replica.readsFail) throw new Error('forbidden');
        const l = this.leases.get(name(path));
        if (!l) throw new KubeApiError(404, 'NotFound', 'not found');
        return structuredClone(l);
      },
      json: async (method: string, path: string, options: { body: StoredLease }) => {
        fail();
        const body = structuredClone(options.body);
        const key = body.metadata.name;
        const current = this.leases.get(key);
        if (method === 'POST' && current) throw new KubeApiError(409, 'AlreadyExists', 'exists');
        if (method === 'PUT' && current?.metadata.resourceVersion !== body.metadata.resourceVersion) throw new KubeApiError(409, 'Conflict', 'conflict');
        body.metadata.resourceVersion = String(++this.version);
        this.leases.set(key, body);
        return body;
      },
    } as unknown as KubeClient;
  }

  holder(shard: number): string {
    return this.leases.get(shardLeaseName('memaudit-controller', shard, 3))?.spec?.holderIdentity ?? '';
  }
}

const ELECTION: Omit<LeaderElectionConfig, 'identity'> = { enabled: true, namespace: 'memaudit-system', leaseName: 'memaudit-controller', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
/** A replica acts for a shard a renew deadline after taking its Lease (and seeing no other shard count), at its next look. */
const SETTLE = ELECTION.renewDeadlineMs + ELECTION.retryPeriodMs;

describe('shard Leases', () => {
  let api: LeaseApi;
  let replicas: { name: string; down: boolean; readsFail: boolean; shards: ShardLeadership; gained: number[]; lost: number[] }[];

  const start = (name: string, home: number | null, incarnation = '0a1b2c3d', shards = 3) => {
    const r = { name, down: false, readsFail: false, gained: [] as number[], lost: [] as number[], shards: undefined as unknown as ShardLeadership };
    r.shards = new ShardLeadership(api.client(r), { ...ELECTION, identity: `${name}_${incarnation}` }, log, { shards, home });
    r.shards.start({ onShardGained: (s) => void r.gained.push(s), onShardLost: (s) => void r.lost.push(s) });
    replicas.push(r);
    return r;
  };
  const heldBy = (r: (typeof replicas)[number]) => [0, 1, 2].filter((s) => r.shards.holds(s));
  const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);

  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
    api = new LeaseApi();
    replicas = [];
  });

  afterEach(async () => {
    for (const r of replicas) r.down = true;
    const stopping = Promise.all(replicas.map((r) => r.shards.stop()));
    await jest.runOnlyPendingTimersAsync();
    await stopping;
    jest.useRealTimers();
  });

  it('gives each replica its home shard at once, acts for it once settled, and takes nothing else while the others live', async () => {
    const [a, b, c] = [start('ctl-0', 0), start('ctl-1', 1), start('ctl-2', 2)];
    await advance(100);
    expect([a!.shards.held, b!.shards.held, c!.shards.held]).toEqual([1, 1, 1]);
    expect(api.leases.get('memaudit-controller-shard-1')!.metadata.annotations?.['memaudit.io/shards']).toBe('3');
    // Held, not yet acted for: a replica of another shard count must have had the time to see it.
    expect([heldBy(a!), heldBy(b!), heldBy(c!)]).toEqual([[], [], []]);
    expect(a!.gained).toEqual([]);
    await advance(SETTLE);
    expect([heldBy(a!), heldBy(b!), heldBy(c!)]).toEqual([[0], [1], [2]]);
    // Ten lease durations later, nobody took a shard that is renewed.
    await advance(150_000);
    expect([heldBy(a!), heldBy(b!), heldBy(c!)]).toEqual([[0], [1], [2]]);
    expect([a!.gained, b!.gained, c!.gained]).toEqual([[0], [1], [2]]);
    expect([api.holder(0), api.holder(1), api.holder(2)]).toEqual(['ctl-0_0a1b2c3d', 'ctl-1_0a1b2c3d', 'ctl-2_0a1b2c3d']);
  });

  it('has a survivor take a dead replica\'s shard once its Lease expired, and the replica stop acting for it first', async () => {
    const [a, b, c] = [start('ctl-0', 0), start('ctl-1', 1), start('ctl-2', 2)];
    await advance(SETTLE);
    c!.down = true; // ctl-2 can no longer reach the API server: it cannot renew
    await advance(11_000);
    // Past the renew deadline: ctl-2 stopped acting, and nobody else has shard 2 yet.
    expect(heldBy(c!)).toEqual([]);
    expect(c!.lost).toEqual([2]);
    expect(heldBy(a!).concat(heldBy(b!))).toEqual([0, 1]);
    // A survivor holding one shard waits two lease durations (plus its place) after the last renewal, then settles.
    await advance(30_000 + SETTLE);
    const owners = [a!, b!].filter((r) => r.shards.holds(2));
    expect(owners).toHaveLength(1);
    expect(owners[0]!.gained).toEqual([owners[0] === a ? 0 : 1, 2]);
    expect(api.holder(2)).toBe(owners[0]!.name + '_0a1b2c3d');
    expect(a!.shards.held + b!.shards.held).toBe(3);
  });

  it('has a restarted replica take its released home back before any survivor', async () => {
    const [a, b] = [start('ctl-0', 0), start('ctl-1', 1)];
    const c = start('ctl-2', 2);
    await advance(100);
    replicas.splice(replicas.indexOf(c), 1);
    await c.shards.stop(); // graceful: the Lease is released
    expect(api.holder(2)).toBe('');
    await advance(10_000);
    const back = start('ctl-2-again', 2);
    await advance(2_100 + SETTLE);
    expect(heldBy(back)).toEqual([2]);
    await advance(60_000);
    expect([heldBy(a!), heldBy(b!), heldBy(back)]).toEqual([[0], [1], [2]]);
  });

  it('has a replica that comes back claim its home from the survivor that took it, which hands it over', async () => {
    const [a, b, c] = [start('ctl-0', 0), start('ctl-1', 1), start('ctl-2', 2)];
    await advance(SETTLE);
    c!.down = true;
    await advance(40_000 + SETTLE);
    const survivor = [a!, b!].find((r) => r.shards.holds(2))!;
    expect(survivor.shards.held).toBe(2);
    const back = start('ctl-2', 2, 'ffff0000');
    // It asks (one round), the survivor hands over at its next renewal, it takes the released Lease and settles.
    await advance(8_000 + SETTLE);
    expect([heldBy(a!), heldBy(b!), heldBy(back)]).toEqual([[0], [1], [2]]);
    expect(survivor.lost).toEqual([2]);
    expect(api.holder(2)).toBe('ctl-2_ffff0000');
    expect(api.leases.get('memaudit-controller-shard-2')!.metadata.annotations?.['memaudit.io/claimed-by']).toBeUndefined();
    await advance(60_000);
    expect([heldBy(a!), heldBy(b!), heldBy(back)]).toEqual([[0], [1], [2]]);
    expect(survivor.gained).toHaveLength(2);
  });

  it('ignores, then removes, a claim its claimant stopped refreshing: no endless hand-overs', async () => {
    const [a, b, c] = [start('ctl-0', 0), start('ctl-1', 1), start('ctl-2', 2)];
    await advance(SETTLE);
    c!.down = true;
    await advance(40_000 + SETTLE);
    const survivor = [a!, b!].find((r) => r.shards.holds(2))!;
    const back = start('ctl-2', 2, 'ffff0000');
    await advance(100); // it claims once, and is gone before it can take the Lease
    back.down = true;
    expect(api.leases.get('memaudit-controller-shard-2')!.metadata.annotations?.['memaudit.io/claimed-by']).toMatch(/^ctl-2_ffff0000 /);
    await advance(300_000);
    // The fresh claim was honoured once; then a survivor took the shard again and dropped the stale claim.
    expect(survivor.lost).toEqual([2]);
    expect([a!, b!].filter((r) => r.shards.holds(2))).toHaveLength(1);
    expect(a!.gained.length + b!.gained.length).toBe(4);
    expect(api.leases.get('memaudit-controller-shard-2')!.metadata.annotations?.['memaudit.io/claimed-by']).toBeUndefined();
  });

  it('does not claim a home shard from a replica whose home it is too', async () => {
    const a = start('ctl-0', 0);
    await advance(100);
    const spare = start('ctl-3', 0); // ordinal 3 of 3 shards: home 0 as well
    await advance(60_000);
    expect(heldBy(a)[0]).toBe(0);
    expect(api.leases.get('memaudit-controller-shard-0')!.metadata.annotations?.['memaudit.io/claimed-by']).toBeUndefined();
    // The shards nobody's home is were taken, each by one of them, the spare (holding none) first.
    expect([...heldBy(a), ...heldBy(spare)].sort()).toEqual([0, 1, 2]);
    expect(heldBy(spare).length).toBeGreaterThan(0);
  });

  it('spreads the shards over replicas without a home (no pod name)', async () => {
    const [a, b, c] = [start('ctl-a', null), start('ctl-b', null), start('ctl-c', null)];
    await advance(14_000);
    // No home: an absent Lease is taken only after a lease duration.
    expect(a!.shards.held + b!.shards.held + c!.shards.held).toBe(0);
    await advance(60_000);
    const held = [a!, b!, c!].map((r) => r.shards.held);
    expect(held.reduce((x, y) => x + y)).toBe(3);
    for (const s of [0, 1, 2]) expect([a!, b!, c!].filter((r) => r.shards.holds(s))).toHaveLength(1);
    expect(Math.max(...held)).toBeLessThanOrEqual(2);
  });

  it('stops acting while it cannot read the Leases it does not hold, though it renews its own', async () => {
    const [a, b] = [start('ctl-0', 0), start('ctl-1', 1)];
    await advance(SETTLE);
    expect(heldBy(a!)).toEqual([0]);
    a!.readsFail = true; // its renewals (writes) still succeed
    await advance(ELECTION.renewDeadlineMs + ELECTION.retryPeriodMs);
    // A replica of another count could hold one of them: it stops, its Lease kept.
    expect([heldBy(a!), a!.shards.held, a!.lost]).toEqual([[], 1, [0]]);
    expect(heldBy(b!)).toEqual([1]);
    a!.readsFail = false;
    await advance(SETTLE);
    expect([heldBy(a!), a!.gained]).toEqual([[0], [0, 0]]);
  });

  describe('a change of the shard count, rolling out', () => {
    const KEYS = Array.from({ length: 60 }, (_, i) => `team-${i % 7}/audit-${i}`);
    /** Every second for `ms`: no key is acted for by two replicas at once. */
    const advanceChecking = async (ms: number) => {
      for (let t = 0; t < ms; t += 1_000) {
        await advance(1_000);
        for (const key of KEYS) {
          const owners = replicas.filter((r) => r.shards.owns(key)).map((r) => r.name);
          if (owners.length > 1) throw new Error(`${key} acted for by ${owners.join(' and ')} at ${Date.now()} ms`);
        }
      }
    };
    const owners = (key: string) => replicas.filter((r) => r.shards.owns(key));
    const stop = async (r: (typeof replicas)[number]) => {
      replicas.splice(replicas.indexOf(r), 1);
      await r.shards.stop();
    };

    it('never has two replicas act for one audit when the count grows (2 -> 3), and ends with one owner each', async () => {
      const old = [start('ctl-0', 0, 'aaaa0000', 2), start('ctl-1', 1, 'aaaa0000', 2)];
      await advanceChecking(SETTLE);
      for (const key of KEYS) expect(owners(key)).toHaveLength(1);
      // A rollout: a new pod first (its home, shard 2, is a Lease the old pods do not know), then
      // each old pod replaced by a new one of the same ordinal.
      const fresh = [start('ctl-2', 2, 'bbbb0000', 3)];
      await advanceChecking(30_000);
      // It holds its Lease, but acts for nothing while a replica of two shards holds one.
      expect(fresh[0]!.shards.held).toBe(1);
      expect(fresh[0]!.gained).toEqual([]);
      for (const key of KEYS) expect(owners(key).map((r) => r.name)).toEqual([old[shardOf(key, 2)]!.name]);
      for (const [i, o] of old.entries()) {
        await stop(o);
        fresh.push(start(`ctl-${i}`, i, 'bbbb0000', 3));
        await advanceChecking(30_000);
      }
      await advanceChecking(60_000);
      for (const key of KEYS) expect(owners(key).map((r) => r.name)).toEqual([`ctl-${shardOf(key, 3)}`]);
      // The old pods' Leases were let go; the new ones carry their count.
      for (const i of [0, 1, 2]) expect(api.leases.get(`memaudit-controller-shard-${i}`)!.metadata.annotations?.['memaudit.io/shards']).toBe('3');
    });

    it('never has two replicas act for one audit when the count shrinks (3 -> 1 -> 2)', async () => {
      const three = [start('ctl-0', 0, 'aaaa0000', 3), start('ctl-1', 1, 'aaaa0000', 3), start('ctl-2', 2, 'aaaa0000', 3)];
      await advanceChecking(SETTLE);
      // One replica of one shard (its Lease is the plain name, which no replica of three holds).
      const one = start('ctl-x', 0, 'bbbb0000', 1);
      await advanceChecking(20_000);
      // The replicas of three read that Lease and stand still (it reads none of theirs and, once
      // settled, acts), their Leases still held, their audits' evidence saved for it.
      for (const key of KEYS) expect(owners(key).map((r) => r.name)).toEqual(['ctl-x']);
      for (const r of three) {
        expect([r.shards.held, r.gained.length, r.lost.length]).toEqual([1, 1, 1]);
        await stop(r);
        await advanceChecking(10_000);
      }
      for (const key of KEYS) expect(owners(key).map((r) => r.name)).toEqual(['ctl-x']);
      // And back to two shards, starting beside it.
      const two = [start('ctl-0', 0, 'cccc0000', 2), start('ctl-1', 1, 'cccc0000', 2)];
      await advanceChecking(30_000);
      for (const key of KEYS) expect(owners(key).map((r) => r.name)).toEqual(['ctl-x']);
      await stop(one);
      await advanceChecking(SETTLE + 4_000);
      for (const key of KEYS) expect(owners(key).map((r) => r.name)).toEqual([two[shardOf(key, 2)]!.name]);
    });
  });
});
