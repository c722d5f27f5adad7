import { jest } from '@jest/globals';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import type { MemoryAudit } from '../../src/controller/api/v1alpha1.ts';
import { mustRun } from '../e2e/harness/exec.ts';
import { waitFor } from '../e2e/harness/process.ts';
import { REPO_ROOT } from '../e2e/harness/tools.ts';
import { CHART_DIR } from '../unit/chart/helm.ts';
import { RealCluster } from './harness/cluster.ts';
import { CACHE, CONTROLLER_IMAGE } from './harness/images.ts';
import { cadvisorValues, containerCgroupDir, getJson, helmCli, kubectl, kubeletRequest, pods, rolledOut, withPortForward } from './harness/kube.ts';
import type { PodJson } from './harness/kube.ts';

// The user's path on a real single-node cluster (test/cluster/harness): the image built here
// (`npm run image`), `helm install` of charts/memaudit, `kubectl apply -f examples/kubernetes/`,
// and the verdicts read back with kubectl, all from a real kubelet (v1.35, cAdvisor inside) and
// containerd 1.6 + runc running the Go targets of test/apps as real pods; kube-controller-manager
// rolls out what the controller patches, and the kernel OOM-kills what outgrows its limit.
// One cluster for the whole file; the workloads of the later tests start together in the
// examples' beforeAll, so their minutes of sampling overlap.
jest.setTimeout(20 * 60_000);

const RELEASE = 'memaudit';
const NS = 'memaudit';
const SHOP = 'shop';
const MiB = 1024 * 1024;
/** e2e-sized audits: the kubelet's cAdvisor refreshes every 10-15 s, so 90 s is about ten samples. */
const SHORT = { interval: '5s', window: '30m', minDuration: '90s' };
const VERDICT_MS = 6 * 60_000;

let c: RealCluster;
/** Numbers for the report (test/cluster/README.md), written to ~/.cache/memaudit/cluster/last-run.json. */
const report: Record<string, unknown> = {};

const audit = (name: string) => getJson<MemoryAudit>(c, ['memoryaudit', name, '-n', SHOP]);

async function waitForAudit(name: string, what: string, predicate: (a: MemoryAudit) => boolean, timeoutMs = VERDICT_MS): Promise<MemoryAudit> {
  let last: MemoryAudit | undefined;
  try {
    return await waitFor(what, async () => {
      last = await audit(name);
      return predicate(last) ? last : undefined;
    }, timeoutMs, 2000);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nlast status of ${name}: ${JSON.stringify(last?.status, null, 1)?.slice(0, 4000)}`, { cause: e });
  }
}

const hasVerdict = (a: MemoryAudit) => a.status?.verdict !== undefined && a.status.verdict !== 'InsufficientData';

/** The pod holding the controller's Lease. */
async function leaderPod(): Promise<string> {
  const lease = await getJson<{ spec: { holderIdentity?: string } }>(c, ['lease', 'memaudit-controller', '-n', NS]);
  return (lease.spec.holderIdentity ?? '').replace(/_[0-9a-f]+$/, '');
}

beforeAll(async () => {
  const started = Date.now();
  c = await RealCluster.start();
  report.clusterStartSeconds = Math.round((Date.now() - started) / 1000);
  report.clusterStartSteps = c.timings;
}, 30 * 60_000);

afterAll(async () => {
  await c?.stop();
  await mkdir(CACHE, { recursive: true });
  await writeFile(path.join(CACHE, 'last-run.json'), JSON.stringify(report, null, 2));
  console.log(`test/cluster report: ${JSON.stringify(report, null, 1)}`);
}, 5 * 60_000);

describe('the image built here', () => {
  it('is non-root, with production dependencies only and no shell', async () => {
    const [user, size, entrypoint] = (await mustRun('docker', ['image', 'inspect', '-f', '{{.Config.User}} {{.Size}} {{json .Config.Entrypoint}}', CONTROLLER_IMAGE])).trim().split(' ');
    expect(user).toBe('65532:65532');
    expect(JSON.parse(entrypoint!)).toEqual(['/nodejs/bin/node', '/app/dist/cli/bin.js']);
    report.imageSizeMiB = Math.round(Number(size) / MiB);
    const name = `memaudit-cluster-export-${process.pid}`;
    await mustRun('docker', ['create', '--name', name, CONTROLLER_IMAGE]);
    let files: string[];
    try {
      files = (await mustRun('sh', ['-c', `docker export ${name} | tar -t`], { timeoutMs: 120_000 })).split('\n');
    } finally {
      await mustRun('docker', ['rm', name]);
    }
    expect(files).toContain('app/dist/cli/bin.js');
    expect(files).toContain('app/node_modules/@kubernetes/client-node/package.json');
    for (const dev of ['typescript', 'jest', 'ts-jest', 'eslint', '@types/jest', 'node']) expect(files.filter((f) => f.startsWith(`app/node_modules/${dev}/`))).toEqual([]);
    expect(files.filter((f) => /^(usr\/)?bin\/(ba|da)?sh$/.test(f))).toEqual([]);
  });
});

describe('helm install charts/memaudit', () => {
  let controllers: PodJson[];

  it('runs the controller as pods under the chart service account, ready, one of them holding the Lease', async () => {
    // statusSyncPeriod=10s: e2e-sized like the audits (the default writes progress alone every 5 min; verdicts go at once).
    const out = await helmCli(c, ['install', RELEASE, CHART_DIR, '-n', NS, '--create-namespace', '--set', `image.tag=${CONTROLLER_IMAGE.split(':')[1]}`, '--set', 'statusSyncPeriod=10s', '--wait', '--timeout=5m']);
    expect(out).toMatch(/STATUS: deployed/);
    controllers = await pods(c, NS, `app.kubernetes.io/instance=${RELEASE}`);
    expect(controllers).toHaveLength(2);
    for (const p of controllers) {
      expect(p.spec.serviceAccountName).toBe('memaudit-controller');
      expect(p.spec.containers[0]!.image).toBe(CONTROLLER_IMAGE);
      expect(p.status.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
      expect(p.spec.nodeName).toBe(c.node!.name);
    }
    const holder = await waitFor('the Lease held by a controller pod', async () => {
      const lease = await getJson<{ spec: { holderIdentity?: string } }>(c, ['lease', 'memaudit-controller', '-n', NS]);
      return controllers.find((p) => lease.spec.holderIdentity?.startsWith(`${p.metadata.name}_`))?.metadata.name;
    }, 60_000, 1000);
    expect(controllers.map((p) => p.metadata.name)).toContain(holder);
  });

  it('runs as user 65532 on a read-only root filesystem (read from the container process)', async () => {
    const p = controllers[0]!;
    const procs = (await readFile(path.join(containerCgroupDir(c, p, 'controller'), 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean);
    expect(procs.length).toBeGreaterThan(0);
    const status = await readFile(`/proc/${procs[0]}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)/m.exec(status)![1]).toBe('65532');
    // The root mount of the container's own mount namespace.
    const root = (await readFile(`/proc/${procs[0]}/mountinfo`, 'utf8')).split('\n').find((l) => l.split(' ')[4] === '/');
    expect(root!.split(' ')[5]!.split(',')).toContain('ro');
  });
});

describe('the kubelet, read with nodes/metrics and not nodes/proxy', () => {
  it("serves /metrics/cadvisor to the chart's service account token, and refuses it the endpoints nodes/proxy would open", async () => {
    const token = (await kubectl(c, ['create', 'token', 'memaudit-controller', '-n', NS, '--duration=10m'])).trim();
    const metrics = await kubeletRequest(c, '/metrics/cadvisor', token);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^container_memory_working_set_bytes\{container="controller",.*namespace="memaudit"/m);
    // /run executes a command in a container, /pods lists every pod with its spec: nodes/proxy.
    const controller = (await pods(c, NS, `app.kubernetes.io/instance=${RELEASE}`))[0]!;
    const run = await kubeletRequest(c, `/run/${NS}/${controller.metadata.name}/controller?cmd=id`, token, 'POST');
    expect(run).toMatchObject({ status: 403 });
    expect(run.body).toMatch(/resource=nodes, subresource\(s\)=\[proxy\]/);
    expect((await kubeletRequest(c, '/pods', token)).status).toBe(403);
    const canI = await c.cp.kubectl(['auth', 'can-i', 'get', 'nodes', '--subresource=proxy', `--as=system:serviceaccount:${NS}:memaudit-controller`]);
    expect(canI.stdout.trim()).toBe('no');
  });
});

describe('kubectl apply -f examples/kubernetes/', () => {
  beforeAll(async () => {
    await kubectl(c, ['create', 'namespace', SHOP]);
    await kubectl(c, ['apply', '-n', SHOP, '-f', path.join(REPO_ROOT, 'examples/kubernetes')]);
    // The examples sample every 30 s to 1 min and decide after 30 min to 2 h: e2e-sized here.
    for (const name of ['filesaver', 'heapleak', 'web']) await kubectl(c, ['patch', 'memoryaudit', name, '-n', SHOP, '--type=merge', '-p', JSON.stringify({ spec: SHORT })]);
    for (const m of ['oomloop.yaml', 'oomfast.yaml']) await kubectl(c, ['apply', '-n', SHOP, '-f', path.join(REPO_ROOT, 'test/cluster/manifests', m)]);
    for (const d of ['filesaver', 'heapleak', 'web', 'oomloop', 'oomfast']) await rolledOut(c, SHOP, d, 120_000);
  }, 5 * 60_000);

  it('applies the audits and the workloads they select', async () => {
    const applied = (await kubectl(c, ['get', 'deployments,memoryaudits', '-n', SHOP, '-o', 'name'])).trim().split('\n').sort();
    expect(applied).toEqual(['deployment.apps/filesaver', 'deployment.apps/heapleak', 'deployment.apps/oomfast', 'deployment.apps/oomloop', 'deployment.apps/web', 'memoryaudit.memaudit.io/filesaver', 'memoryaudit.memaudit.io/heapleak', 'memoryaudit.memaudit.io/oomfast', 'memoryaudit.memaudit.io/oomloop', 'memoryaudit.memaudit.io/web']);
    for (const f of ['memoryaudit-filesaver.yaml', 'memoryaudit-heapleak.yaml', 'memoryaudit-patch.yaml']) {
      const doc = parse(await readFile(path.join(REPO_ROOT, 'examples/kubernetes', f), 'utf8')) as { spec: { selector: { matchLabels?: Record<string, string>; matchExpressions?: { values: string[] }[] } } };
      const app = doc.spec.selector.matchLabels?.app ?? doc.spec.selector.matchExpressions![0]!.values[0]!;
      expect([f, (await pods(c, SHOP, `app=${app}`)).length]).toEqual([f, 1]);
    }
  });

  it('says CacheGrowth for the file-saving listener, from the real kubelet', async () => {
    const a = await waitForAudit('filesaver', 'a verdict for filesaver', hasVerdict);
    expect(a.status!.verdict).toBe('CacheGrowth');
    expect(a.status!.leakSource ?? null).toBeNull();
    const t = a.status!.targets![0]!;
    const pod = (await pods(c, SHOP, 'app=filesaver'))[0]!;
    expect(t).toMatchObject({ pod: pod.metadata.name, container: 'app', node: c.node!.name, state: 'Sampling', verdict: 'CacheGrowth', limit: '256Mi' });
    expect(t.growthBytesPerHour!.file!).toBeGreaterThan(1024 * MiB);
    expect(a.status!.recommendedLimit).toMatch(/^\d+Mi$/);
    expect(a.status!.recommendation).toMatchObject({ container: 'app', goMemLimit: expect.stringMatching(/MiB$/) });
    expect(a.status!.conditions!.find((x) => x.type === 'MemoryGrowth')).toMatchObject({ status: 'True', reason: 'PageCache' });
    report.filesaver = { verdict: t.verdict, explanation: t.explanation, recommendedLimit: a.status!.recommendedLimit, samples: t.samples };
  });

  it('says Leak in the Go heap for the heap leaker, naming main.retainRequest from its pprof endpoint', async () => {
    const a = await waitForAudit('heapleak', 'a verdict for heapleak', hasVerdict);
    expect(`${a.status!.verdict}/${a.status!.leakSource}`).toBe('Leak/heap');
    const t = a.status!.targets![0]!;
    expect(t.topGrowingFunctions![0]!.function).toBe('main.retainRequest');
    expect(t.growthBytesPerHour!.goHeap!).toBeGreaterThan(1024 * MiB);
    expect(t.timeToLimitSeconds!).toBeGreaterThan(0);
    expect(a.status!.recommendation!.warning).toMatch(/leak/i);
    expect(a.status!.conditions!.find((x) => x.type === 'MemoryGrowth')).toMatchObject({ status: 'True', reason: 'GoHeap' });
    report.heapleak = { verdict: `${t.verdict}/${t.leakSource}`, explanation: t.explanation, samples: t.samples };
  });

  it('fills the printer columns, and answers kubectl wait, describe and a jsonpath as README shows', async () => {
    const lines = (await kubectl(c, ['get', 'memoryaudits', '-n', SHOP])).trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+VERDICT\s+SOURCE\s+GROWTH\s+LIMIT\s+AGE$/);
    expect(lines.find((l) => l.startsWith('filesaver '))).toMatch(/^filesaver\s+CacheGrowth\s+\+\d+(\.\d)?[KMG]i\/h\s+\d+Mi\s+\d+m/);
    expect(lines.find((l) => l.startsWith('heapleak '))).toMatch(/^heapleak\s+Leak\s+heap\s+\+\d+(\.\d)?[KMG]i\/h\s+\d+Mi\s+\d+m/);
    expect(await kubectl(c, ['wait', '-n', SHOP, '--for=condition=MemoryGrowth', '--timeout=60s', 'memoryaudit/filesaver', 'memoryaudit/heapleak'])).toMatch(/memoryaudit.memaudit.io\/filesaver condition met\nmemoryaudit.memaudit.io\/heapleak condition met/);
    expect(await kubectl(c, ['get', 'memoryaudit', 'filesaver', '-n', SHOP, '-o', 'jsonpath={.status.recommendation.memoryLimit}'])).toMatch(/^\d+Mi$/);
    const described = await kubectl(c, ['describe', 'memoryaudit', 'heapleak', '-n', SHOP]);
    expect(described).toMatch(/Verdict:\s+Leak/);
    expect(described).toMatch(/main\.retainRequest/);
    expect(described).toMatch(/Warning\s+VerdictChanged/);
  });

  it('records Events on the audits', async () => {
    const events = (await getJson<{ items: { reason: string; type: string; message: string; involvedObject: { kind: string; name: string } }[] }>(c, ['events', '-n', SHOP])).items.filter((e) => e.involvedObject.kind === 'MemoryAudit');
    expect(events.find((e) => e.involvedObject.name === 'heapleak' && e.reason === 'VerdictChanged')).toMatchObject({ type: 'Warning', message: expect.stringMatching(/InsufficientData -> Leak \(heap\)/) });
    expect(events.find((e) => e.involvedObject.name === 'filesaver' && e.reason === 'VerdictChanged')).toMatchObject({ type: 'Normal', message: expect.stringMatching(/InsufficientData -> CacheGrowth/) });
  });

  it('patches the recommended limit into the web Deployment; the controller-manager rolls it out and the new pod runs in a cgroup with that limit', async () => {
    const a = await waitForAudit('web', 'the web Deployment patched', (x) => x.status?.lastPatch?.result === 'Applied');
    const patched = a.status!.lastPatch!;
    expect(patched).toMatchObject({ kind: 'Deployment', name: 'web', container: 'app', previousLimit: '256Mi', previousRequest: '128Mi' });
    const limitBytes = Number(/^(\d+)Mi$/.exec(patched.limit!)![1]) * MiB;
    expect(limitBytes).toBeLessThan(256 * MiB);
    const dep = await getJson<{ spec: { template: { spec: { containers: { resources: { limits: { memory: string }; requests: { memory: string } } }[] } } } }>(c, ['deployment', 'web', '-n', SHOP]);
    expect(dep.spec.template.spec.containers[0]!.resources).toMatchObject({ limits: { memory: patched.limit }, requests: { memory: patched.request } });
    await rolledOut(c, SHOP, 'web', 180_000);
    const pod = await waitFor('the new web pod running', async () => {
      const ps = (await pods(c, SHOP, 'app=web')).filter((p) => p.status.phase === 'Running' && p.spec.containers[0]!.resources?.limits?.memory === patched.limit);
      return ps.length === 1 && ps[0]!.status.containerStatuses?.[0]?.containerID ? ps[0] : undefined;
    }, 120_000, 1000);
    const cgroup = containerCgroupDir(c, pod, 'app');
    expect(Number(await readFile(path.join(cgroup, 'memory.limit_in_bytes'), 'utf8'))).toBe(limitBytes);
    const events = (await getJson<{ items: { reason: string; involvedObject: { name: string } }[] }>(c, ['events', '-n', SHOP])).items;
    expect(events.some((e) => e.reason === 'Patched' && e.involvedObject.name === 'web')).toBe(true);
    report.patch = { limit: patched.limit, request: patched.request, cgroupLimitBytes: limitBytes, cgroup: path.relative(c.cgroupRoot.memoryDir(), cgroup) };
  });

  /** Waits until the audit counts the OOM kills as the pod status counts restarts (at least two). */
  async function followedOomLoop(name: string, limit: string) {
    let last: unknown;
    const hit = new RegExp(`It already hit the ${limit.replace('.', '\\.')} limit: (\\d+) restarts? at the limit \\(OOM kills\\)`);
    const seen = await waitFor(`two OOM kills of ${name}, counted by the audit as the pod status counts restarts`, async () => {
      const [a, p] = await Promise.all([audit(name), pods(c, SHOP, `app=${name}`)]);
      const status = p[0]?.status.containerStatuses?.[0];
      last = { explanation: a.status?.targets?.[0]?.explanation, status };
      const m = hit.exec(a.status?.targets?.[0]?.explanation ?? '');
      return m && Number(m[1]) >= 2 && Number(m[1]) === status?.restartCount ? { a, status } : undefined;
    }, 12 * 60_000, 2000).catch((e: Error) => {
      throw new Error(`${e.message}\nlast seen: ${JSON.stringify(last)}`);
    });
    expect(seen.status.lastState?.terminated).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
    const t = seen.a.status!.targets![0]!;
    expect(`${t.verdict}/${t.leakSource}`).toBe('Leak/heap');
    // Heap profiles are diffed within one incarnation: across a restart the new heap starts over.
    expect(t.topGrowingFunctions![0]!.function).toBe('main.retainRequest');
    // The kubelet has no series for the container while it waits to restart and just after: that
    // is the pod status' to say, not a sampling failure.
    const events = (await getJson<{ items: { reason: string; involvedObject: { kind: string; name: string } }[] }>(c, ['events', '-n', SHOP])).items;
    expect(events.filter((e) => e.involvedObject.kind === 'MemoryAudit' && e.involvedObject.name === name && e.reason === 'SamplingFailed')).toEqual([]);
    expect(t.state).toBe('Sampling');
    return { restartCount: seen.status.restartCount, explanation: t.explanation, samples: t.samples, limit: t.limit };
  }

  it('follows a container the kernel OOM-kills and the kubelet restarts, and says the limit was hit', async () => {
    // Two minutes a run: about ten of the kubelet's samples each.
    const r = await followedOomLoop('oomloop', '64.0 MiB');
    expect(r.limit).toBe('64Mi');
    report.oomloop = r;
  });

  it('says the same of an OOM loop faster than the kubelet samples (runs of about 45 s, pooled)', async () => {
    const r = await followedOomLoop('oomfast', '48.0 MiB');
    expect(r.limit).toBe('48Mi');
    report.oomfast = r;
  });
});

describe('the controller while auditing', () => {
  it('uses memory and CPU, as the kubelet reports them, inside the chart\'s limit', async () => {
    const token = (await kubectl(c, ['create', 'token', 'memaudit-controller', '-n', NS, '--duration=10m'])).trim();
    const leader = await leaderPod();
    const read = async () => {
      const text = (await kubeletRequest(c, '/metrics/cadvisor', token)).body;
      return { workingSet: cadvisorValues(text, 'container_memory_working_set_bytes', NS, 'controller'), cpu: cadvisorValues(text, 'container_cpu_usage_seconds_total', NS, 'controller'), atMs: Date.now() };
    };
    const first = await read();
    // cAdvisor refreshes every 10-15 s: a minute apart gives a CPU rate over about that long.
    await new Promise((r) => setTimeout(r, 60_000));
    const second = await read();
    const ws = second.workingSet.get(leader)!;
    const cores = (second.cpu.get(leader)! - first.cpu.get(leader)!) / ((second.atMs - first.atMs) / 1000);
    const standby = [...second.workingSet.entries()].find(([pod]) => pod !== leader);
    expect(ws).toBeGreaterThan(10 * MiB);
    expect(ws).toBeLessThan(256 * MiB);
    expect(cores).toBeGreaterThan(0);
    report.controller = { auditsServed: 5, leaderWorkingSetMiB: +(ws / MiB).toFixed(1), leaderCpuMillicores: Math.round(cores * 1000), standbyWorkingSetMiB: standby ? +(standby[1] / MiB).toFixed(1) : null };
  });

  it('exports the verdicts on /metrics and shares one kubelet scrape among the audits of a round', async () => {
    const leader = await leaderPod();
    const m = await withPortForward(c, NS, leader, 8080, async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    expect(m).toMatch(/^memaudit_leader 1$/m);
    expect(m).toMatch(/^memaudit_target_verdict\{namespace="shop",audit="heapleak",pod="heapleak-[a-z0-9-]+",container="app",verdict="Leak"\} 1$/m);
    expect(m).toMatch(/^memaudit_target_verdict\{namespace="shop",audit="filesaver",pod="filesaver-[a-z0-9-]+",container="app",verdict="CacheGrowth"\} 1$/m);
    // Every step a round runs is timed under its name.
    for (const step of ['findTargets', 'sample', 'evaluate', 'writeStatus', 'emitEvents', 'persistEvidence']) expect(m).toMatch(new RegExp(`^memaudit_reconcile_step_duration_seconds_count\\{step="${step}"\\} [1-9]`, 'm'));
    // Every round, four audits read their pods' runtime stats and all five need the node's
    // cAdvisor numbers: one scrape per node serves the audits of a round (five without sharing).
    const count = (re: RegExp) => Number(re.exec(m)?.[1] ?? NaN);
    const kubelet = count(/^memaudit_sampling_total\{source="kubelet",result="ok"\} (\d+)$/m);
    const pprof = count(/^memaudit_sampling_total\{source="pprof",result="ok"\} (\d+)$/m);
    expect(kubelet).toBeGreaterThan(0);
    expect(kubelet).toBeLessThan(pprof);
    // Status is written when a round changed it (about once a round per audit: 5 x pprof / 4),
    // never in a loop of its own update events.
    const writes = count(/^memaudit_status_writes_total\{result="ok"\} (\d+)$/m);
    expect(writes).toBeLessThanOrEqual(2 * (5 / 4) * pprof);
    report.controllerMetrics = { kubeletScrapes: kubelet, runtimeStatsReads: pprof, statusWrites: writes };
  });

  it('hands over to the standby when the leader pod is deleted, keeping every sample', async () => {
    const leader = await leaderPod();
    const before = (await audit('heapleak')).status!.targets![0]!.samples!;
    await kubectl(c, ['delete', 'pod', leader, '-n', NS, '--wait=false']);
    // On SIGTERM the leader saves the evidence and releases the Lease; the standby resumes from it.
    let fewest = before;
    const next = await waitFor('a new leader sampling', async () => {
      const holder = await leaderPod();
      const samples = (await audit('heapleak')).status?.targets?.[0]?.samples ?? 0;
      fewest = Math.min(fewest, samples);
      return holder !== leader && samples > before + 2 ? holder : undefined;
    }, 180_000, 1000);
    expect(next).not.toBe(leader);
    expect(fewest).toBeGreaterThanOrEqual(before);
    await rolledOut(c, NS, 'memaudit-controller', 180_000);
  });
});

describe('helm upgrade and helm uninstall', () => {
  it('helm upgrade to kubelet.access=proxy grants nodes/proxy, and the new pods read the real kubelet through the API server', async () => {
    const before = (await pods(c, NS, `app.kubernetes.io/instance=${RELEASE}`)).map((p) => p.metadata.name);
    const out = await helmCli(c, ['upgrade', RELEASE, CHART_DIR, '-n', NS, '--reuse-values', '--set', 'kubelet.access=proxy', '--wait', '--timeout=5m']);
    expect(out).toMatch(/REVISION: 2/);
    const canI = await c.cp.kubectl(['auth', 'can-i', 'get', 'nodes', '--subresource=proxy', `--as=system:serviceaccount:${NS}:memaudit-controller`]);
    expect(canI.stdout.trim()).toBe('yes');
    await rolledOut(c, NS, 'memaudit-controller', 180_000);
    const after = await waitFor('only new controller pods', async () => {
      const ps = await pods(c, NS, `app.kubernetes.io/instance=${RELEASE}`);
      return ps.length === 2 && ps.every((p) => !before.includes(p.metadata.name)) ? ps : undefined;
    }, 180_000, 1000);
    for (const p of after) expect(p.spec.containers[0]!.image).toBe(CONTROLLER_IMAGE);
    const args = (await getJson<{ spec: { template: { spec: { containers: { args: string[] }[] } } } }>(c, ['deployment', 'memaudit-controller', '-n', NS])).spec.template.spec.containers[0]!.args;
    expect(args).toContain('--kubelet-access=proxy');
    await waitFor('the Lease held by a new pod', async () => {
      const lease = await getJson<{ spec: { holderIdentity?: string } }>(c, ['lease', 'memaudit-controller', '-n', NS]);
      return after.some((p) => lease.spec.holderIdentity?.startsWith(`${p.metadata.name}_`));
    }, 120_000, 1000);
    // Samples keep coming, now through /api/v1/nodes/<node>/proxy/metrics/cadvisor.
    const samples = (await audit('filesaver')).status!.targets![0]!.samples!;
    const a = await waitForAudit('filesaver', 'new samples taken by the new leader', (x) => (x.status?.targets?.[0]?.samples ?? 0) > samples + 2, 120_000);
    expect(a.status!.conditions!.find((x) => x.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Sampling' });
  });

  it('helm uninstall leaves nothing of the release behind but the CRD (and the audits it serves)', async () => {
    await helmCli(c, ['uninstall', RELEASE, '-n', NS, '--wait', '--timeout=5m']);
    await waitFor('the controller pods gone', async () => (await pods(c, NS, `app.kubernetes.io/instance=${RELEASE}`)).length === 0, 120_000, 1000);
    const left = (await kubectl(c, ['get', 'deployments,replicasets,pods,services,serviceaccounts,roles,rolebindings,leases,configmaps,secrets', '-n', NS, '-o', 'name'])).trim().split('\n').filter(Boolean);
    // What every namespace has, made by the controller-manager, not by the release.
    expect(left.sort()).toEqual(['configmap/kube-root-ca.crt', 'serviceaccount/default']);
    const cluster = (await kubectl(c, ['get', 'clusterroles,clusterrolebindings', '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name'])).trim();
    expect(cluster).toBe('');
    expect((await kubectl(c, ['get', 'crd', 'memoryaudits.memaudit.io', '-o', 'name'])).trim()).toBe('customresourcedefinition.apiextensions.k8s.io/memoryaudits.memaudit.io');
    expect((await kubectl(c, ['get', 'memoryaudits', '-n', SHOP, '-o', 'name'])).trim().split('\n')).toHaveLength(5);
    expect((await helmCli(c, ['list', '-n', NS, '-q'])).trim()).toBe('');
  });
});
