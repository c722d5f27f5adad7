import { jest } from '@jest/globals';
import { stringify } from 'yaml';
import { shardLeaseName, shardOf } from '../../src/controller/runtime/shards.ts';
import type { ControllerProcess } from './harness/controller.ts';
import { waitFor } from './harness/process.ts';
import { Scenario, auditManifest } from './harness/scenario.ts';

// Three controller replicas with --shards 3 on the real API server: each audit is reconciled by
// the one replica that holds its shard's Lease; a replica that stops (gracefully, then one that is
// killed) has its shards taken over by the survivors, which restore the audits' evidence from
// their ConfigMaps; replicas that come back ask for their home shards, and get them with the
// evidence saved at the hand-over.
jest.setTimeout(600_000);

const NS = 'fleet';
const SHARDS = 3;
const AUDITS = Array.from({ length: 9 }, (_, i) => `audit-${i}`);
const LEASE = ['--leader-elect-lease-duration=6s', '--leader-elect-renew-deadline=4s', '--leader-elect-retry-period=1s', '--state-sync-period=2s', `--shards=${SHARDS}`];
const shard = (audit: string) => shardOf(`${NS}/${audit}`, SHARDS);

let s: Scenario;

interface Lease {
  spec: { holderIdentity?: string; leaseTransitions?: number };
}

const holderOf = async (i: number) => (await s.cp.json<Lease>('GET', `/apis/coordination.k8s.io/v1/namespaces/memaudit-system/leases/${shardLeaseName('memaudit-controller', i, SHARDS)}`)).spec.holderIdentity ?? '';
const samples = async (audit: string) => (await s.audit(NS, audit)).status?.targets?.[0]?.samples ?? 0;
const allSamples = async () => Object.fromEntries(await Promise.all(AUDITS.map(async (a) => [a, await samples(a)] as const)));
/** The audits whose targets this replica exports metrics for: the ones it evaluates. */
const evaluatedBy = async (c: ControllerProcess) => new Set([...(await c.metrics()).matchAll(/^memaudit_target_samples\{[^}]*audit="([^"]+)"/gm)].map((m) => m[1]!));
const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
/** Log lines with this message (a restarted replica appends to the same file: `since` skips the earlier process). */
const logged = async (c: ControllerProcess, msg: string, since = 0) => (await c.logLines()).filter((l) => l.msg === msg && Number(l.time) >= since);

beforeAll(async () => {
  s = await Scenario.start();
  for (let p = 0; p < 3; p++) await s.addTarget({ namespace: NS, pod: `leaker-${p}`, labels: { app: `leaker-${p}` }, app: 'heapleak', args: ['-rate', '65536'] });
  const manifests = AUDITS.map((a, i) => stringify(auditManifest(a, { selector: { matchLabels: { app: `leaker-${i % 3}` } }, minDuration: '20s' })));
  await s.cp.kubectlOk(['apply', '-n', NS, '-f', '-'], manifests.join('---\n'));
});

afterAll(async () => {
  await s?.teardown();
});

it('spreads audits over three replicas, one owner each, and hands a stopped replica\'s audits to the survivors with their evidence', async () => {
  // The test is only meaningful when every shard has audits.
  expect(new Set(AUDITS.map(shard)).size).toBe(SHARDS);
  const replicas = await Promise.all([0, 1, 2].map((i) => s.startController(`memaudit-controller-${i}`, LEASE)));

  // Every replica takes its own shard (its ordinal) and only that.
  await waitFor('each replica holds its home shard', async () => (await Promise.all([0, 1, 2].map(holderOf))).every((h, i) => h.startsWith(`memaudit-controller-${i}_`)), 60_000);
  await waitFor('every audit sampled', async () => Object.values(await allSamples()).every((n) => n >= 10), 120_000);

  // Exactly one replica evaluates each audit: the holder of its shard.
  const owners = await Promise.all(replicas.map(evaluatedBy));
  for (const a of AUDITS) {
    expect([0, 1, 2].filter((i) => owners[i]!.has(a))).toEqual([shard(a)]);
  }
  for (const [i, r] of replicas.entries()) {
    const m = await r.metrics();
    expect(metric(m, /^memaudit_shards_held (\d+)$/m)).toBe(1);
    expect(metric(m, /^memaudit_audits (\d+)$/m)).toBe(AUDITS.filter((a) => shard(a) === i).length);
    expect(metric(m, /memaudit_status_writes_total\{result="ok"\} (\d+)/)).toBeGreaterThan(0);
    expect((await logged(r, 'Shard gained')).map((l) => l.shard)).toEqual([i]);
  }
  console.log(`audits per replica: ${owners.map((o, i) => `memaudit-controller-${i}: ${[...o].sort().join(' ')}`).join('; ')}`);

  // 1. memaudit-controller-2 stops gracefully: it saves its evidence and releases its Lease; a
  //    survivor takes shard 2 and resumes every audit of it from the saved samples.
  const stopped = replicas[2]!;
  const mine = AUDITS.filter((a) => shard(a) === 2);
  const stopAt = Date.now();
  await stopped.stop();
  const atStop = await allSamples();
  const survivors = [replicas[0]!, replicas[1]!];
  const taker = await waitFor('a survivor takes shard 2', async () => {
    for (const r of survivors) if ((await logged(r, 'Shard gained')).some((l) => l.shard === 2)) return r;
    return undefined;
  }, 120_000);
  const gainedAt = Number((await logged(taker, 'Shard gained')).find((l) => l.shard === 2)!.time);
  expect((await holderOf(2)).startsWith(`${taker.name}_`)).toBe(true);
  for (const a of mine) {
    const restored = await waitFor(`${a} restored`, async () => (await logged(taker, 'Restored evidence')).find((l) => l.audit === `${NS}/${a}`), 60_000);
    // Nothing was lost: the saved evidence holds every sample the status showed at the stop.
    expect(restored.samples as number).toBeGreaterThanOrEqual(atStop[a]!);
    await waitFor(`${a} advancing`, async () => (await samples(a)) > atStop[a]! + 3, 60_000);
  }
  const other = survivors.find((r) => r !== taker)!;
  expect([...(await evaluatedBy(other))].filter((a) => shard(a) === 2)).toEqual([]);
  console.log(`graceful stop: shard 2 taken by ${taker.name} ${((gainedAt - stopAt) / 1000).toFixed(1)} s after the stop; samples at the stop ${mine.map((a) => `${a}=${atStop[a]}`).join(' ')}, restored ${(await logged(taker, 'Restored evidence')).filter((l) => mine.includes(String(l.audit).slice(NS.length + 1))).map((l) => `${String(l.audit).slice(NS.length + 1)}=${String(l.samples)}`).join(' ')}`);

  // 2. The replica now holding two shards is killed (no release, no last save): the last survivor
  //    takes both once their Leases expire, losing at most one --state-sync-period of samples.
  const killed = taker;
  const killedShards = [0, 1, 2].filter((i) => i !== (killed === replicas[0] ? 1 : 0));
  const last = other;
  const lastShard = last === replicas[0] ? 0 : 1;
  const killAt = Date.now();
  await killed.proc.kill();
  const atKill = await allSamples();
  await waitFor('the last replica holds every shard', async () => metric(await last.metrics(), /^memaudit_shards_held (\d+)$/m) === 3, 180_000);
  // It acts for a Lease it took a renew deadline later.
  const gains = await waitFor('the last replica acts for every shard', async () => {
    const g = (await logged(last, 'Shard gained')).filter((l) => l.shard !== lastShard);
    return g.length === killedShards.length ? g : undefined;
  }, 30_000);
  expect(gains.map((l) => l.shard).sort()).toEqual(killedShards);
  for (const a of AUDITS.filter((x) => shard(x) !== lastShard)) {
    const restored = await waitFor(`${a} restored by ${last.name}`, async () => (await logged(last, 'Restored evidence')).find((l) => l.audit === `${NS}/${a}`), 60_000);
    // One sync period is 2 s = 2 samples at 1 s; one more for the round in flight.
    expect(restored.samples as number).toBeGreaterThanOrEqual(atKill[a]! - 3);
    await waitFor(`${a} advancing`, async () => (await samples(a)) > atKill[a]! + 3, 60_000);
  }
  expect(await evaluatedBy(last)).toEqual(new Set(AUDITS));
  const takeover = Math.max(...gains.map((l) => Number(l.time))) - killAt;
  const restoredByLast = (await logged(last, 'Restored evidence')).map((l) => `${String(l.audit).slice(NS.length + 1)}=${String(l.samples)}`);
  console.log(`kill: shards ${killedShards.join(',')} taken by ${last.name} ${(takeover / 1000).toFixed(1)} s after the kill; samples at the kill ${AUDITS.filter((x) => shard(x) !== lastShard).map((a) => `${a}=${atKill[a]}`).join(' ')}, restored ${restoredByLast.join(' ')}, now ${Object.entries(await allSamples()).map(([a, n]) => `${a}=${n}`).join(' ')}`);

  // 3. Both gone replicas come back under their names: each asks for its home shard, the last
  //    replica saves that shard's evidence and hands it over, and each replica holds one shard again.
  const comeback = Date.now();
  const beforeComeback = await allSamples();
  const back = await Promise.all(killedShards.map((i) => s.startController(`memaudit-controller-${i}`, LEASE)));
  await waitFor('each replica holds its home shard again', async () => (await Promise.all([0, 1, 2].map(holderOf))).every((h, i) => h.startsWith(`memaudit-controller-${i}_`)), 120_000);
  await waitFor(`${last.name} holds one shard`, async () => metric(await last.metrics(), /^memaudit_shards_held (\d+)$/m) === 1, 60_000);
  expect((await logged(last, 'Handing the Lease over to the replica that claims it', comeback)).length).toBe(2);
  for (const [j, i] of killedShards.entries()) {
    for (const a of AUDITS.filter((x) => shard(x) === i)) {
      const restored = await waitFor(`${a} restored by ${back[j]!.name}`, async () => (await logged(back[j]!, 'Restored evidence', comeback)).find((l) => l.audit === `${NS}/${a}`), 60_000);
      // Saved at the hand-over, after these samples were read: none lost.
      expect(restored.samples as number).toBeGreaterThanOrEqual(beforeComeback[a]!);
      await waitFor(`${a} advancing`, async () => (await samples(a)) > (restored.samples as number) + 2, 60_000);
    }
  }
  const final = [last, ...back].sort((x, y) => x.name.localeCompare(y.name));
  const finalOwners = await Promise.all(final.map(evaluatedBy));
  for (const a of AUDITS) expect([0, 1, 2].filter((i) => finalOwners[i]!.has(a))).toEqual([shard(a)]);
  const handedAt = await Promise.all(back.map(async (r) => Number((await logged(r, 'Shard gained', comeback))[0]!.time)));
  console.log(`come back: ${back.map((r, j) => `${r.name} got its shard ${((handedAt[j]! - comeback) / 1000).toFixed(1)} s after the restart`).join(', ')}; restored ${(await Promise.all(back.map(async (r) => (await logged(r, 'Restored evidence', comeback)).map((l) => `${String(l.audit).slice(NS.length + 1)}=${String(l.samples)}`)))).flat().join(' ')} (samples before the restart ${killedShards.flatMap((i) => AUDITS.filter((x) => shard(x) === i)).map((a) => `${a}=${beforeComeback[a]}`).join(' ')})`);
  for (const r of final) await r.stop();
});

// A change of --shards rolled out the way a Deployment does it (a new pod beside the old ones, then
// each old pod replaced): for the length of the rollout replicas of both counts run, and no audit
// is ever acted for by two of them; the new replicas end with one owner per audit, resumed from the
// evidence the old ones saved.
it('rolls a change from two shards to three without two replicas ever acting for one audit', async () => {
  const TWO = LEASE.map((a) => (a.startsWith('--shards=') ? '--shards=2' : a));
  const shard2 = (audit: string) => shardOf(`${NS}/${audit}`, 2);
  const t0 = Date.now();
  // Replicas of one name share a log file: a process's own lines.
  const ownLines = async (c: ControllerProcess) => (await c.logLines()).filter((l) => l.pid === c.proc.pid);
  const old = await Promise.all([0, 1].map((i) => s.startController(`memaudit-controller-${i}`, TWO)));
  await waitFor('the two replicas evaluate every audit', async () => (await Promise.all(old.map(evaluatedBy))).reduce((n, o) => n + o.size, 0) === AUDITS.length, 120_000);
  const atStart = await allSamples();
  await waitFor('every audit advancing', async () => Object.entries(await allSamples()).every(([a, n]) => n > atStart[a]! + 2), 60_000);

  // 1. A pod of the new count beside them: it takes its home Lease (shard 2, unknown to the old
  //    count) and acts for nothing while they hold theirs.
  const fresh = [await s.startController('memaudit-controller-2', LEASE)];
  await waitFor('the new replica holds shard 2', async () => (await holderOf(2)).startsWith('memaudit-controller-2_'), 60_000);
  await waitFor('the new replica sees the other count', async () => (await logged(fresh[0]!, 'A replica with another shard count holds a Lease (a change of --shards rolling out): acting for no shard until it is gone', t0)).length > 0, 30_000);
  await new Promise((r) => setTimeout(r, 8_000)); // past its settling time
  expect((await ownLines(fresh[0]!)).filter((l) => l.msg === 'Acting for the shard')).toEqual([]);
  expect((await evaluatedBy(fresh[0]!)).size).toBe(0);
  const pausedMetrics = await fresh[0]!.metrics();
  expect([metric(pausedMetrics, /^memaudit_shards_held (\d+)$/m), metric(pausedMetrics, /^memaudit_shards_acting (\d+)$/m)]).toEqual([1, 0]);
  const byOld = await Promise.all(old.map(evaluatedBy));
  for (const a of AUDITS) expect([0, 1].filter((i) => byOld[i]!.has(a))).toEqual([shard2(a)]);

  // 2. Each old pod replaced by one of the new count.
  let atLastStop: Record<string, number> = {};
  for (const i of [1, 0]) {
    await old[i]!.stop();
    atLastStop = await allSamples();
    fresh.push(await s.startController(`memaudit-controller-${i}`, LEASE));
  }
  await waitFor('each new replica holds its home shard', async () => (await Promise.all([0, 1, 2].map(holderOf))).every((h, i) => h.startsWith(`memaudit-controller-${i}_`)), 120_000);
  const byNew = await waitFor('one new owner per audit', async () => {
    const sets = await Promise.all([0, 1, 2].map((i) => evaluatedBy(fresh.find((r) => r.name === `memaudit-controller-${i}`)!)));
    return AUDITS.every((a) => [0, 1, 2].filter((i) => sets[i]!.has(a)).join() === String(shard(a))) ? sets : undefined;
  }, 120_000);
  expect(byNew).toHaveLength(3);
  for (const r of fresh) expect(metric(await r.metrics(), /^memaudit_shards_acting (\d+)$/m)).toBe(1);
  for (const a of AUDITS) {
    const owner = fresh.find((r) => r.name === `memaudit-controller-${shard(a)}`)!;
    const restored = await waitFor(`${a} restored by ${owner.name}`, async () => (await ownLines(owner)).find((l) => l.msg === 'Restored evidence' && l.audit === `${NS}/${a}`), 60_000);
    // Saved by the old owner when it stopped acting (it then still held the Lease): nothing lost.
    expect(restored.samples as number).toBeGreaterThanOrEqual(atLastStop[a]!);
    await waitFor(`${a} advancing`, async () => (await samples(a)) > (restored.samples as number) + 2, 60_000);
  }

  // 3. What each replica said it did, and when: the times it acted for a shard never overlap
  //    between the two counts.
  const spans = async (c: ControllerProcess, count: number) => {
    const lines = (await ownLines(c)).filter((l) => l.msg === 'Acting for the shard' || l.msg === 'No longer acting for the shard');
    const out: { count: number; name: string; from: number; to: number }[] = [];
    const open = new Map<number, number>();
    for (const l of lines) {
      if (l.msg === 'Acting for the shard') open.set(l.shard as number, Number(l.time));
      else if (open.has(l.shard as number)) {
        out.push({ count, name: c.name, from: open.get(l.shard as number)!, to: Number(l.time) });
        open.delete(l.shard as number);
      }
    }
    for (const from of open.values()) out.push({ count, name: c.name, from, to: Infinity });
    return out;
  };
  const all = [...(await Promise.all(old.map((c) => spans(c, 2)))).flat(), ...(await Promise.all(fresh.map((c) => spans(c, 3)))).flat()];
  const twos = all.filter((x) => x.count === 2);
  const threes = all.filter((x) => x.count === 3);
  expect(twos.length).toBeGreaterThanOrEqual(2);
  expect(threes.length).toBeGreaterThanOrEqual(3);
  for (const x of twos) for (const y of threes) expect([x.name, y.name, x.to <= y.from || y.to <= x.from]).toEqual([x.name, y.name, true]);
  const lastOld = Math.max(...twos.map((x) => x.to));
  const firstNew = Math.min(...threes.map((x) => x.from));
  console.log(`shards 2 -> 3: the old count stopped acting ${((lastOld - t0) / 1000).toFixed(1)} s in, the new one started ${((firstNew - lastOld) / 1000).toFixed(1)} s later; restored ${(await Promise.all(fresh.map(async (r) => (await ownLines(r)).filter((l) => l.msg === 'Restored evidence').map((l) => `${String(l.audit).slice(NS.length + 1)}=${String(l.samples)}`)))).flat().join(' ')} (samples at the last old stop ${AUDITS.map((a) => `${a}=${atLastStop[a]}`).join(' ')})`);
  for (const r of fresh) await r.stop();
});
