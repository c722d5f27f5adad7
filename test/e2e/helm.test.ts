import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { access, cp as copy, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CONTROLLER_USAGE } from '../../src/controller/runtime/flags.ts';
import { ControlPlane } from './harness/control-plane.ts';
import { freePort } from './harness/ports.ts';
import { Proc, waitFor } from './harness/process.ts';
import { CRDS_DIR, NODE_BIN, REPO_ROOT } from './harness/tools.ts';
import { CHART_DIR, configRbac, helm, template } from '../unit/chart/helm.ts';
import type { KubeObject, PolicyRule } from '../unit/chart/helm.ts';

// charts/memaudit against a real kube-apiserver + etcd, with the real helm and kubectl, and the
// container image's file tree.
//
// Tested here: helm lint --strict; every rendered object accepted by the API server (server-side
// dry run, the CRD included); helm install / upgrade / uninstall and the objects they leave;
// what the chart's service account may do, asked of the API server's RBAC authorizer; and
// `memaudit controller` started from the image's file tree with the installed Deployment's
// arguments and a token of the installed service account, leading and writing status.
// Not tested here, because this cluster has only etcd and kube-apiserver: pods (no scheduler, no
// kubelet, no image: the Deployment's pods are never created, nor probed) and in-cluster config
// (the controller gets a kubeconfig with the service account's token instead). test/cluster/
// installs the chart on a real node, with the image `npm run image` builds, and runs its pods.
// The chart's ServiceMonitor and PrometheusRule are checked against the Prometheus Operator's real
// CRDs (from its Go module: hack/build-kube-tools.sh crds), and the NOTES' commands are run.
jest.setTimeout(240_000);

const execFileAsync = promisify(execFile);
const cp = new ControlPlane();
const RELEASE = 'memaudit';
const NS = 'memaudit';
const SA = `system:serviceaccount:${NS}:memaudit-controller`;
let dir = '';
let helmHome = '';
let appDir = '';
let tscResult: { code: number; output: string };

/**
 * /app as the Dockerfile leaves it: `npm run build` output (tsc -p tsconfig.build.json, here into
 * the temp dir), the production dependencies only (what `npm prune --omit=dev` keeps: the
 * packages `npm ls --omit=dev` lists, each without its nested node_modules, which are listed on
 * their own) and package.json. Copied rather than linked, so Node resolves nothing outside it.
 */
async function assembleImageTree(app: string): Promise<void> {
  await mkdir(app, { recursive: true });
  try {
    await execFileAsync(NODE_BIN, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', path.join(app, 'dist')], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
    tscResult = { code: 0, output: '' };
  } catch (e) {
    const err = e as { code?: number; stdout?: string };
    tscResult = { code: err.code ?? 1, output: err.stdout ?? String(e) };
  }
  const { stdout } = await execFileAsync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
  for (const pkgDir of stdout.trim().split('\n').slice(1)) {
    const rel = path.relative(REPO_ROOT, pkgDir);
    const nested = path.join(pkgDir, 'node_modules');
    await copy(pkgDir, path.join(app, rel), { recursive: true, filter: (src) => src !== nested });
  }
  await copy(path.join(REPO_ROOT, 'package.json'), path.join(app, 'package.json'));
}

/** Runs a program from the image tree with an environment like the image's (no NODE_OPTIONS from jest). */
async function inImage(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(NODE_BIN, args, { cwd: appDir, env: { PATH: '/usr/bin:/bin', NODE_ENV: 'production' }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(e) };
  }
}

async function kubeHelm(args: string[], values?: Record<string, unknown>): Promise<string> {
  const r = await helm([...args, `--kubeconfig=${cp.kubeconfigPath}`, ...(values ? ['-f', '-'] : [])], { home: helmHome, ...(values ? { input: JSON.stringify(values) } : {}) });
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function getJson<T = KubeObject>(args: string[]): Promise<T> {
  return JSON.parse(await cp.kubectlOk(['get', ...args, '-o', 'json'])) as T;
}

async function exists(args: string[]): Promise<boolean> {
  const r = await cp.kubectl(['get', ...args, '-o', 'name']);
  if (r.code !== 0 && !/NotFound/.test(r.stderr)) throw new Error(`kubectl get ${args.join(' ')}: ${r.stderr}`);
  return r.code === 0;
}

/** The API server's RBAC authorizer, asked as the chart's service account. */
async function canI(verb: string, resource: string, scope: string[], subresource?: string): Promise<boolean> {
  const r = await cp.kubectl(['auth', 'can-i', verb, resource, ...scope, `--as=${SA}`, ...(subresource ? [`--subresource=${subresource}`] : [])]);
  return r.stdout.trim() === 'yes';
}

type Deployment = KubeObject & { spec: { replicas: number; template: { spec: { serviceAccountName: string; containers: { image: string; args: string[]; ports: { containerPort: number }[] }[] } } } };

/**
 * `memaudit controller` from the image tree with the installed Deployment's arguments and a token
 * of the installed service account (the container port is not reachable here, so it listens on a
 * free loopback port); `check` runs once it is ready, then it is stopped and must exit 0.
 */
async function withInstalledController(check: (proc: Proc, podName: string) => Promise<void>): Promise<void> {
  const dep = await getJson<Deployment>(['deployment', 'memaudit-controller', '-n', NS]);
  const [command, ...flags] = dep.spec.template.spec.containers[0]!.args;
  expect(command).toBe('controller');
  const port = await freePort();
  const args = flags.map((f) => (f.startsWith('--listen=') ? `--listen=127.0.0.1:${port}` : f));
  const token = (await cp.kubectlOk(['create', 'token', 'memaudit-controller', '-n', NS, '--duration=1h'])).trim();
  const kubeconfig = path.join(dir, 'controller.kubeconfig');
  await writeFile(kubeconfig, await cp.tokenKubeconfig('memaudit-controller', token));
  const podName = 'memaudit-controller-5c7d9f8b6-x2x4q';
  const proc = new Proc('controller', NODE_BIN, [path.join(appDir, 'dist/cli/bin.js'), 'controller', ...args, `--kubeconfig=${kubeconfig}`], path.join(dir, 'controller.log'), {
    PATH: '/usr/bin:/bin',
    NODE_ENV: 'production',
    // What the Deployment's downward API sets.
    POD_NAME: podName,
    POD_NAMESPACE: NS,
  });
  try {
    await waitFor('controller /readyz', async () => {
      if (!proc.running) throw new Error(`controller exited: ${(await proc.log()).slice(-3000)}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
    }, 60_000);
    await check(proc, podName);
  } finally {
    await proc.stop(15_000);
  }
  expect(await proc.exited).toBe(0);
}

/** Applies an audit selecting nothing in `ns` and waits for the Ready condition the controller writes. */
async function readyOf(ns: string, name: string): Promise<{ status: string; reason: string }> {
  await cp.kubectlOk(['apply', '-n', ns, '-f', '-'], `apiVersion: memaudit.io/v1alpha1\nkind: MemoryAudit\nmetadata: {name: ${name}}\nspec: {selector: {matchLabels: {app: nothing}}}\n`);
  return waitFor(`status of ${ns}/${name} written through memoryaudits/status`, async () => {
    const audit = await getJson<{ status?: { conditions?: { type: string; status: string; reason: string }[] } }>(['memoryaudit', name, '-n', ns]);
    return audit.status?.conditions?.find((c) => c.type === 'Ready');
  }, 60_000);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'memaudit-e2e-helm-'));
  helmHome = path.join(dir, 'helm');
  appDir = path.join(dir, 'image/app');
  await Promise.all([cp.start(), assembleImageTree(appDir)]);
});
afterAll(async () => {
  await cp.stop();
  if (dir && !process.env.MEMAUDIT_E2E_KEEP) await rm(dir, { recursive: true, force: true });
});

describe('the container image file tree (assembled as the Dockerfile does)', () => {
  it('tsc -p tsconfig.build.json emits the entrypoint dist/cli/bin.js', async () => {
    expect(tscResult).toEqual({ code: 0, output: '' });
    await access(path.join(appDir, 'dist/cli/bin.js'));
  });

  it('resolves nothing from outside the tree', async () => {
    for (let d = path.dirname(appDir); ; d = path.dirname(d)) {
      await expect(access(path.join(d, 'node_modules'))).rejects.toThrow(/ENOENT/);
      if (d === path.dirname(d)) break;
    }
  });

  it('holds the production dependencies only', async () => {
    await access(path.join(appDir, 'node_modules/@kubernetes/client-node/package.json'));
    for (const dev of ['typescript', 'jest', 'ts-jest', 'eslint', 'node', '@types/jest']) await expect(access(path.join(appDir, 'node_modules', dev))).rejects.toThrow(/ENOENT/);
  });

  it('runs `node dist/cli/bin.js --help` with the production dependencies only', async () => {
    const r = await inImage(['dist/cli/bin.js', '--help']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^ {2}controller +run the MemoryAudit Kubernetes controller$/m);
    const controller = await inImage(['dist/cli/bin.js', 'controller', '--help']);
    expect(controller).toMatchObject({ code: 0, stderr: '' });
    expect(controller.stdout.startsWith(CONTROLLER_USAGE)).toBe(true);
    expect(controller.stdout).toContain('-V, --version');
    // Every command loads from the image tree: the completion script reads them all.
    const completion = await inImage(['dist/cli/bin.js', 'completion', 'bash']);
    expect(completion).toMatchObject({ code: 0, stderr: '' });
    expect(completion.stdout).toContain('complete -F _memaudit memaudit');
    expect(await inImage(['dist/cli/bin.js', 'version'])).toEqual({ code: 0, stdout: 'memaudit 0.1.0\n', stderr: '' });
  });
});

describe('charts/memaudit on a real API server', () => {
  it('passes helm lint --strict, cluster-wide and namespace-scoped', async () => {
    for (const set of [[], ['--set', 'watchNamespaces={shop}'], ['--set', 'watchNamespaces={shop,payments}'], ['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'replicas=1', '--set', 'leaderElection.enabled=false'], ['--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.grafanaDashboard.enabled=true']]) {
      const r = await helm(['lint', '--strict', CHART_DIR, ...set]);
      expect([set, r.code, r.stderr]).toEqual([set, 0, '']);
      expect(r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders objects the API server accepts (server-side dry run)', async () => {
    await cp.kubectlOk(['create', 'namespace', 'memaudit-dry']);
    await cp.kubectlOk(['create', 'namespace', 'shop']);
    // The Prometheus Operator's own CRDs: the ServiceMonitor's and PrometheusRule's specs are
    // validated against their schemas (PromQL itself is promtool's: test/unit/chart/monitoring.test.ts).
    for (const crd of ['servicemonitors', 'prometheusrules']) {
      await cp.kubectlOk(['apply', '--server-side', '-f', path.join(CRDS_DIR, `monitoring.coreos.com_${crd}.yaml`)]);
      await cp.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', `crd/${crd}.monitoring.coreos.com`]);
    }
    const monitoring = { serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } }, prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' } }, grafanaDashboard: { enabled: true } };
    const variants: Record<string, unknown>[] = [{}, { watchNamespaces: ['shop'], metrics: monitoring }, { replicas: 1, leaderElection: { enabled: false }, kubelet: { access: 'direct', insecureSkipTlsVerify: true }, pprof: { access: 'proxy' } }, { replicas: 3, shards: 3 }, { replicas: 3, shards: 3, workload: 'StatefulSet' }];
    for (const values of variants) {
      const rendered = await template({ namespace: 'memaudit-dry', values, includeCrds: true, kubeVersion: 'v1.35.0' });
      expect(rendered.code).toBe(0);
      const objects = rendered.stdout.split(/^---$/m).filter((d) => /^kind:/m.test(d)).length;
      const r = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], rendered.stdout);
      expect([values, r.stderr]).toEqual([values, '']);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(objects);
      for (const line of lines) expect(line).toMatch(/ (created|configured|unchanged) \(server dry run\)$/);
      expect(r.stdout).toMatch(/customresourcedefinition.apiextensions.k8s.io\/memoryaudits.memaudit.io created \(server dry run\)/);
      expect(r.stdout).toMatch(values.workload === 'StatefulSet' ? /statefulset.apps\/memaudit-controller created \(server dry run\)/ : /deployment.apps\/memaudit-controller created \(server dry run\)/);
      expect(r.stdout).not.toMatch(values.workload === 'StatefulSet' ? /deployment.apps/ : /statefulset.apps/);
      if (values.shards) {
        for (const i of [0, 1, 2]) expect(r.stdout).toMatch(new RegExp(`lease.coordination.k8s.io/memaudit-controller-shard-${i} created \\(server dry run\\)`));
        expect(r.stdout).not.toMatch(/lease.coordination.k8s.io\/memaudit-controller created/);
      }
      if (values.metrics) {
        expect(r.stdout).toMatch(/prometheusrule.monitoring.coreos.com\/memaudit-controller created \(server dry run\)/);
        expect(r.stdout).toMatch(/servicemonitor.monitoring.coreos.com\/memaudit-controller created \(server dry run\)/);
        expect(r.stdout).toMatch(/configmap\/memaudit-dashboard created \(server dry run\)/);
      }
    }
    // The API server's schema does check the rule: a rule without its expression is refused.
    const rendered = await template({ namespace: 'memaudit-dry', values: { metrics: { prometheusRule: { enabled: true } } }, kubeVersion: 'v1.35.0' });
    const broken = rendered.stdout.replace(/^( +)expr: \|-\n(?:\1 +.*\n)+/m, '');
    expect(broken).not.toBe(rendered.stdout);
    const refused = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], broken);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/PrometheusRule.*is invalid: .*expr: Required value/);
  });

  it('helm install creates the CRD, the RBAC, the ServiceAccount, the Deployment and the Service', async () => {
    const out = await kubeHelm(['install', RELEASE, CHART_DIR, '-n', NS, '--create-namespace']);
    expect(out).toMatch(/STATUS: deployed/);
    expect(out).toMatch(/memaudit 0\.1\.0 is installed in namespace memaudit/);
    await cp.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/memoryaudits.memaudit.io']);

    // The NOTES' own commands, as a user pastes them: the first MemoryAudit, reading it back, and
    // the CRD applied from the chart (helm show crds) as after an upgrade.
    const audit = /kubectl apply -n default -f - <<'YAML'\n([\s\S]*?)\n {2}YAML\n/.exec(out)![1]!.replace(/^ {2}/gm, '');
    expect(await cp.kubectlOk(['apply', '-n', 'default', '-f', '-'], audit)).toMatch(/memoryaudit.memaudit.io\/my-app created/);
    expect(await cp.kubectlOk(['get', 'memoryaudits', '-n', 'default'])).toMatch(/^my-app\b/m);
    expect(out).toContain('kubectl describe memoryaudit my-app -n default');
    const crds = await helm(['show', 'crds', CHART_DIR, '--version', '0.1.0']);
    expect(await cp.kubectlOk(['apply', '--server-side', '-f', '-'], crds.stdout)).toMatch(/customresourcedefinition.apiextensions.k8s.io\/memoryaudits.memaudit.io serverside-applied/);
    await cp.kubectlOk(['delete', 'memoryaudit', 'my-app', '-n', 'default', '--wait=false']);

    const role = await getJson<KubeObject & { rules: PolicyRule[] }>(['clusterrole', 'memaudit-controller']);
    expect(role.rules).toEqual(await configRbac('role.yaml'));
    const binding = await getJson<KubeObject & { subjects: unknown[] }>(['clusterrolebinding', 'memaudit-controller']);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'memaudit-controller', namespace: NS }]);
    const lease = await getJson<KubeObject & { rules: PolicyRule[] }>(['role', 'memaudit-leader-election', '-n', NS]);
    expect(lease.rules).toEqual(await configRbac('leader_election_role.yaml'));
    expect(await exists(['rolebinding', 'memaudit-leader-election', '-n', NS])).toBe(true);
    expect(await exists(['serviceaccount', 'memaudit-controller', '-n', NS])).toBe(true);

    const dep = await getJson<Deployment>(['deployment', 'memaudit-controller', '-n', NS]);
    expect(dep.spec.replicas).toBe(2);
    expect(dep.spec.template.spec.serviceAccountName).toBe('memaudit-controller');
    expect(dep.spec.template.spec.containers[0]!.image).toBe('memaudit:0.1.0');
    expect(dep.metadata.labels).toMatchObject({ 'app.kubernetes.io/instance': RELEASE, 'app.kubernetes.io/managed-by': 'Helm' });
    const svc = await getJson<KubeObject & { spec: { ports: { name: string; port: number }[] } }>(['service', 'memaudit-controller-metrics', '-n', NS]);
    expect(svc.spec.ports).toMatchObject([{ name: 'metrics', port: 8080 }]);
  });

  it("gives the service account what the controller calls, cluster-wide, and nothing more", async () => {
    const all = ['--all-namespaces'];
    expect(await canI('list', 'memoryaudits.memaudit.io', all)).toBe(true);
    expect(await canI('watch', 'pods', all)).toBe(true);
    expect(await canI('patch', 'memoryaudits.memaudit.io', all, 'status')).toBe(true);
    expect(await canI('get', 'nodes', [], 'metrics')).toBe(true);
    expect(await canI('patch', 'deployments.apps', ['-n', 'shop'])).toBe(true);
    expect(await canI('create', 'leases.coordination.k8s.io', ['-n', NS])).toBe(true);
    // Not granted: the kubelet's and pods' API server proxies (nodes/proxy reaches /exec and /run),
    // writing audits' specs, touching pods, Leases outside the release namespace, Secrets.
    expect(await canI('get', 'nodes', [], 'proxy')).toBe(false);
    expect(await canI('get', 'pods', all, 'proxy')).toBe(false);
    expect(await canI('update', 'memoryaudits.memaudit.io', all)).toBe(false);
    expect(await canI('delete', 'pods', all)).toBe(false);
    expect(await canI('create', 'leases.coordination.k8s.io', ['-n', 'default'])).toBe(false);
    expect(await canI('get', 'secrets', ['-n', NS])).toBe(false);
  });

  it('runs the controller from the image tree with the installed arguments and service account: it leads and writes status', async () => {
    await withInstalledController(async (proc, podName) => {
      const holder = await waitFor('the Lease in the release namespace', async () => {
        const lease = await getJson<{ spec: { holderIdentity?: string } }>(['lease', 'memaudit-controller', '-n', NS]);
        return lease.spec.holderIdentity?.startsWith(`${podName}_`) ? lease.spec.holderIdentity : undefined;
      }, 60_000);
      expect(holder).toMatch(new RegExp(`^${podName}_[0-9a-f]{8}$`));
      expect(await readyOf('shop', 'nothing')).toMatchObject({ status: 'False', reason: 'TargetsMissing' });
      expect(await proc.log()).not.toMatch(/forbidden/i);
    });
    const released = await getJson<{ spec: { holderIdentity?: string } }>(['lease', 'memaudit-controller', '-n', NS]);
    expect(released.spec.holderIdentity ?? '').toBe('');
    await cp.kubectlOk(['delete', 'memoryaudit', 'nothing', '-n', 'shop', '--wait=false']);
  });

  it('helm upgrade applies changed values', async () => {
    const out = await kubeHelm(['upgrade', RELEASE, CHART_DIR, '-n', NS], { replicas: 3, logLevel: 'debug', image: { repository: 'registry.example/memaudit', tag: '0.1.1' }, metrics: { port: 9090 } });
    expect(out).toMatch(/REVISION: 2/);
    const dep = await getJson<Deployment>(['deployment', 'memaudit-controller', '-n', NS]);
    const c = dep.spec.template.spec.containers[0]!;
    expect(dep.spec.replicas).toBe(3);
    expect(c.image).toBe('registry.example/memaudit:0.1.1');
    expect(c.args).toEqual(expect.arrayContaining(['--log-level=debug', '--listen=:9090']));
    expect(c.ports).toMatchObject([{ containerPort: 9090 }]);
  });

  it('helm upgrade to watchNamespaces: [shop] swaps the ClusterRole for a Role in shop', async () => {
    await kubeHelm(['upgrade', RELEASE, CHART_DIR, '-n', NS], { watchNamespaces: ['shop'] });
    expect(await exists(['clusterrole', 'memaudit-controller'])).toBe(false);
    expect(await exists(['clusterrolebinding', 'memaudit-controller'])).toBe(false);
    const role = await getJson<KubeObject & { rules: PolicyRule[] }>(['role', 'memaudit-controller', '-n', 'shop']);
    expect(role.rules.flatMap((r) => r.resources)).toContain('memoryaudits');
    const nodes = await getJson<KubeObject & { rules: PolicyRule[] }>(['clusterrole', 'memaudit-controller-nodes']);
    expect(nodes.rules.flatMap((r) => r.resources).sort()).toEqual(['nodes', 'nodes/metrics']);
    const dep = await getJson<Deployment>(['deployment', 'memaudit-controller', '-n', NS]);
    expect(dep.spec.template.spec.containers[0]!.args).toContain('--namespace=shop');
    expect(await canI('list', 'memoryaudits.memaudit.io', ['-n', 'shop'])).toBe(true);
    expect(await canI('list', 'memoryaudits.memaudit.io', ['-n', 'default'])).toBe(false);
    expect(await canI('get', 'nodes', [], 'metrics')).toBe(true);
    expect(await canI('get', 'nodes', [], 'proxy')).toBe(false);
  });

  it('helm upgrade to watchNamespaces: [shop, payments]: a Role in each, and the controller serves both with those rights alone', async () => {
    for (const ns of ['payments', 'elsewhere']) await cp.kubectlOk(['create', 'namespace', ns]);
    await kubeHelm(['upgrade', RELEASE, CHART_DIR, '-n', NS], { watchNamespaces: ['shop', 'payments'] });
    for (const ns of ['shop', 'payments']) expect(await canI('watch', 'pods', ['-n', ns])).toBe(true);
    expect(await canI('list', 'memoryaudits.memaudit.io', ['-n', 'elsewhere'])).toBe(false);
    const dep = await getJson<Deployment>(['deployment', 'memaudit-controller', '-n', NS]);
    expect(dep.spec.template.spec.containers[0]!.args).toContain('--namespace=shop,payments');
    await withInstalledController(async (proc) => {
      expect(await readyOf('shop', 'two-a')).toMatchObject({ status: 'False', reason: 'TargetsMissing' });
      expect(await readyOf('payments', 'two-b')).toMatchObject({ status: 'False', reason: 'TargetsMissing' });
      // An audit outside the watched namespaces is not the controller's: no status, and no attempt.
      await cp.kubectlOk(['apply', '-n', 'elsewhere', '-f', '-'], 'apiVersion: memaudit.io/v1alpha1\nkind: MemoryAudit\nmetadata: {name: not-mine}\nspec: {selector: {matchLabels: {app: nothing}}}\n');
      await new Promise((r) => setTimeout(r, 3000));
      expect((await getJson<{ status?: unknown }>(['memoryaudit', 'not-mine', '-n', 'elsewhere'])).status).toBeUndefined();
      expect(await proc.log()).not.toMatch(/forbidden/i);
    });
    for (const [ns, name] of [['shop', 'two-a'], ['payments', 'two-b'], ['elsewhere', 'not-mine']]) await cp.kubectlOk(['delete', 'memoryaudit', name!, '-n', ns!, '--wait=false']);
  });

  it('helm uninstall removes every object of the release but the CRD, which Helm never deletes', async () => {
    await kubeHelm(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout=60s']);
    const selector = `app.kubernetes.io/instance=${RELEASE}`;
    for (const kinds of ['deployments,services,serviceaccounts,roles,rolebindings,leases', 'clusterroles,clusterrolebindings']) {
      const left = await cp.kubectlOk(['get', kinds, '-A', '-l', selector, '-o', 'name']);
      expect([kinds, left.trim()]).toEqual([kinds, '']);
    }
    expect(await exists(['deployment', 'memaudit-controller', '-n', NS])).toBe(false);
    expect(await exists(['role', 'memaudit-controller', '-n', 'shop'])).toBe(false);
    expect(await exists(['role', 'memaudit-controller', '-n', 'payments'])).toBe(false);
    expect(await exists(['clusterrole', 'memaudit-controller-nodes'])).toBe(false);
    // The Lease is the release's (templates/lease.yaml), not left behind by the controller that held it.
    expect(await exists(['lease', 'memaudit-controller', '-n', NS])).toBe(false);
    expect(await exists(['crd', 'memoryaudits.memaudit.io'])).toBe(true);
    expect((await kubeHelm(['list', '-n', NS, '-q'])).trim()).toBe('');
  });
});
