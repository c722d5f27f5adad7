import { jest } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { Scenario } from './harness/scenario.ts';
import { REPO_ROOT } from './harness/tools.ts';

// The product's main promise, end to end: `kubectl apply -f` the example MemoryAudits (with
// e2e-sized durations), and the status read with kubectl says CacheGrowth for the file-saving
// listener and Leak/heap with the growing function for the heap leaker, printer columns filled.
// The numbers are the kernel's accounting of two real Go processes, served as kubelet's
// /metrics/cadvisor; the controller runs as its own process with the RBAC of config/rbac.
jest.setTimeout(240_000);

const NS = 'shop';
let s: Scenario;

beforeAll(async () => {
  s = await Scenario.start();
  const fs = await s.addTarget({ namespace: NS, pod: 'filesaver-0', labels: { app: 'filesaver' }, app: 'filesaver', args: ['-selfload', '200', '-size', '8192'] });
  const hl = await s.addTarget({ namespace: NS, pod: 'heapleak-0', labels: { app: 'heapleak' }, app: 'heapleak', args: ['-rate', '1048576'] });
  // The examples as shipped, with e2e durations and the fixtures' pprof ports (both on loopback).
  for (const [file, port] of [['memoryaudit-filesaver.yaml', fs.pprofPort], ['memoryaudit-heapleak.yaml', hl.pprofPort]] as const) {
    const doc = parse(await readFile(path.join(REPO_ROOT, 'examples/kubernetes', file), 'utf8')) as { spec: Record<string, unknown> };
    Object.assign(doc.spec, { interval: '1s', window: '10m', minDuration: '30s', pprof: { ...(doc.spec.pprof as object), port } });
    const out = path.join(s.cp.dir, file);
    await writeFile(out, stringify(doc));
    const r = await s.cp.kubectl(['apply', '-n', NS, '-f', out]);
    expect(r.stderr).toBe('');
  }
  await s.startController('controller-0');
});

afterAll(async () => {
  await s?.teardown();
});

describe('verdicts from real cgroups through the MemoryAudit status', () => {
  it('says CacheGrowth for the file-saving listener, with a recommended limit', async () => {
    const a = await s.waitForAudit(NS, 'filesaver', 'filesaver verdict', (x) => x.status?.verdict !== undefined && x.status.verdict !== 'InsufficientData', 120_000);
    expect(a.status!.verdict).toBe('CacheGrowth');
    // A merge patch cannot store null: no leak source is an absent field.
    expect(a.status!.leakSource ?? null).toBeNull();
    const t = a.status!.targets![0]!;
    expect(t).toMatchObject({ pod: 'filesaver-0', container: 'app', node: 'node-1', state: 'Sampling', verdict: 'CacheGrowth' });
    expect(t.growthBytesPerHour!.file!).toBeGreaterThan(100 * 1024 * 1024);
    expect(a.status!.recommendedLimit).toMatch(/^\d+Mi$/);
    expect(a.status!.recommendation).toMatchObject({ container: 'app' });
    expect(a.status!.conditions!.find((c) => c.type === 'MemoryGrowth')).toMatchObject({ status: 'True', reason: 'PageCache', observedGeneration: 1 });
    expect(a.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Sampling' });
    expect(a.status!.observedGeneration).toBe(1);
  });

  it('says Leak in the Go heap for the heap leaker and names main.retainRequest', async () => {
    const a = await s.waitForAudit(NS, 'heapleak', 'heapleak verdict', (x) => x.status?.verdict !== undefined && x.status.verdict !== 'InsufficientData', 120_000);
    expect(a.status!.verdict).toBe('Leak');
    expect(a.status!.leakSource).toBe('heap');
    const t = a.status!.targets![0]!;
    expect(t.topGrowingFunctions![0]!.function).toBe('main.retainRequest');
    expect(t.growthBytesPerHour!.goHeap!).toBeGreaterThan(1024 * 1024 * 1024);
    expect(t.recommendedLimit).toBeUndefined();
    expect(a.status!.recommendation!.warning).toMatch(/leak/i);
    expect(a.status!.conditions!.find((c) => c.type === 'MemoryGrowth')).toMatchObject({ status: 'True', reason: 'GoHeap' });
  });

  it('fills the printer columns of kubectl get', async () => {
    const out = await s.cp.kubectlOk(['get', 'memoryaudits', '-n', NS]);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+VERDICT\s+SOURCE\s+GROWTH\s+LIMIT\s+AGE$/);
    expect(lines.find((l) => l.startsWith('filesaver'))).toMatch(/^filesaver\s+CacheGrowth\s+\+\d+(\.\d)?[KMG]i\/h\s+\d+Mi\s+\d+[sm]/);
    expect(lines.find((l) => l.startsWith('heapleak'))).toMatch(/^heapleak\s+Leak\s+heap\s+\+\d+(\.\d)?[KMG]i\/h\s+\d+[sm]/);
  });

  it('records the verdict change as an Event on the audit', async () => {
    const events = await s.events(NS);
    const leak = events.find((e) => e.involvedObject.name === 'heapleak' && e.reason === 'VerdictChanged');
    expect(leak).toMatchObject({ type: 'Warning' });
    expect(leak!.message).toMatch(/heapleak-0\/app: InsufficientData -> Leak \(heap\)/);
    expect(events.find((e) => e.involvedObject.name === 'filesaver' && e.reason === 'VerdictChanged')).toMatchObject({ type: 'Normal' });
  });

  it('exports per-target metrics and scrapes the node once per round for both audits', async () => {
    const m = await s.controllers[0]!.metrics();
    expect(m).toMatch(/memaudit_target_verdict\{namespace="shop",audit="heapleak",pod="heapleak-0",container="app",verdict="Leak"\} 1/);
    expect(m).toMatch(/memaudit_target_verdict\{namespace="shop",audit="filesaver",pod="filesaver-0",container="app",verdict="CacheGrowth"\} 1/);
    expect(m).toMatch(/memaudit_target_growth_bytes_per_hour\{namespace="shop",audit="heapleak",pod="heapleak-0",container="app",component="goHeap"\} \d/);
    expect(m).toMatch(/memaudit_reconcile_total\{result="ok"\} \d+/);
    // Every step a round runs is timed under its name.
    for (const step of ['findTargets', 'sample', 'evaluate', 'writeStatus', 'emitEvents', 'persistEvidence']) expect(m).toMatch(new RegExp(`memaudit_reconcile_step_duration_seconds_count\\{step="${step}"\\} [1-9]`));
    const rounds = Number(/memaudit_sampling_total\{source="pprof",result="ok"\} (\d+)/.exec(m)![1]) / 2;
    const scrapes = Number(/memaudit_sampling_total\{source="kubelet",result="ok"\} (\d+)/.exec(m)![1]);
    // Two audits sampling every second share one kubelet fetch per round (not two).
    expect(scrapes).toBeLessThan(rounds * 1.5);
    expect(s.kubelet.scrapes).toBeGreaterThanOrEqual(scrapes);
    // Status is written when it changed (a new round), never in a loop of its own update events.
    const writes = Number(/memaudit_status_writes_total\{result="ok"\} (\d+)/.exec(m)![1]);
    expect(writes).toBeLessThanOrEqual(2 * rounds + 6);
    expect(await s.controllers[0]!.ready()).toBe(true);
  });
});
