import { jest } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CONTROLLER_FLAGS, controllerConfigFromArgs } from '../../../src/controller/runtime/flags.ts';
import { homeShardOf, shardLeaseName } from '../../../src/controller/runtime/shards.ts';
import type { ControllerConfig } from '../../../src/controller/runtime/flags.ts';
import { REPO_ROOT } from '../../e2e/harness/tools.ts';
import { find, only, render, renderNotes, template } from './helm.ts';
import type { KubeObject } from './helm.ts';

// The Deployment the chart renders, read back through the controller's own flag parser: every
// argument it passes is one `memaudit controller` accepts, the values reach the config, and the
// chart's defaults are the controller's defaults.
jest.setTimeout(30_000);

interface Container {
  name: string;
  image: string;
  args: string[];
  env: { name: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  securityContext: Record<string, unknown>;
  resources: Record<string, unknown>;
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  affinity: Record<string, unknown>;
}
interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

const deployment = (objects: KubeObject[]) => only(objects, 'Deployment').spec as DeploymentSpec;
const container = (objects: KubeObject[]) => deployment(objects).template.spec.containers[0]!;
const DOWNWARD_API = { POD_NAME: 'memaudit-controller-7d9f-abcde', POD_NAMESPACE: 'ops' };

function parsed(objects: KubeObject[]): Omit<ControllerConfig, 'leaderElection'> & { leaderElection: Omit<ControllerConfig['leaderElection'], 'identity'> } {
  const [command, ...flags] = container(objects).args;
  expect(command).toBe('controller');
  const result = controllerConfigFromArgs(flags, DOWNWARD_API);
  if (result.help) throw new Error('the chart asked for --help');
  const { identity, ...leaderElection } = result.config.leaderElection;
  expect(identity.startsWith(`${DOWNWARD_API.POD_NAME}_`)).toBe(true);
  return { ...result.config, leaderElection };
}

const flagNames = (objects: KubeObject[]) => container(objects).args.slice(1).map((a) => a.replace(/^--/, '').replace(/=.*$/, ''));

// Flags the chart never passes, and why.
const NOT_FROM_THE_CHART: Record<string, string> = {
  kubeconfig: 'in a pod the client uses the in-cluster service account',
  'leader-elect': 'on by default; the chart passes --no-leader-elect to turn it off',
  'leader-election-namespace': 'the Lease is in $POD_NAMESPACE (the release namespace), where the chart grants leases',
  help: 'not for a Deployment',
};

const EVERYTHING = {
  watchNamespaces: ['shop'],
  kubelet: { access: 'direct', caFile: '/etc/kubelet-ca/ca.crt', insecureSkipTlsVerify: true, timeout: '5s' },
  pprof: { access: 'proxy', timeout: '3s' },
  leaderElection: { enabled: true, leaseName: 'audits', leaseDuration: '30s', renewDeadline: '20s', retryPeriod: '4s' },
  replicas: 3,
  shards: 3,
  stateSyncPeriod: '0s',
  statusSyncPeriod: '10s',
  maxSamplesPerTarget: 500,
  maxTargetsPerAudit: 50,
  concurrentReconciles: 2,
  logLevel: 'debug',
  metrics: { port: 9090 },
  prometheus: { url: 'https://thanos-query.monitoring:9090/', bearerTokenFile: '/var/run/secrets/prometheus/token', caFile: '/etc/p/ca.crt', insecureSkipTlsVerify: true, headers: { 'X-Scope-OrgID': 'team-a' }, selector: 'cluster="prod",env=~"a|b"', timeout: '45s' },
};

describe('chart Deployment', () => {
  let defaults: KubeObject[];
  beforeAll(async () => {
    defaults = await render({ namespace: 'ops' });
  });

  it("passes arguments whose parsed config is the controller's own defaults, but for reading kubelets directly with the cluster CA", () => {
    // The chart reads kubelets directly (nodes/metrics), never through the API server's node
    // proxy unless asked (nodes/proxy reaches /exec and /run), and verifies them with the cluster
    // CA every pod gets with its service account.
    const none = controllerConfigFromArgs(['--kubelet-access=direct', '--kubelet-ca-file=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt'], DOWNWARD_API);
    if (none.help) throw new Error('unreachable');
    const { identity: _identity, ...leaderElection } = none.config.leaderElection;
    expect(parsed(defaults)).toEqual({ ...none.config, leaderElection });
  });

  it('carries every value into the controller config', async () => {
    const config = parsed(await render({ namespace: 'ops', values: EVERYTHING }));
    expect(config).toEqual({
      kubeconfig: null,
      namespaces: ['shop'],
      listen: { host: '0.0.0.0', port: 9090 },
      kubeletAccess: 'direct',
      kubeletCaFile: '/etc/kubelet-ca/ca.crt',
      kubeletInsecureSkipTlsVerify: true,
      kubeletTimeoutMs: 5000,
      pprofAccess: 'proxy',
      pprofTimeoutMs: 3000,
      leaderElection: { enabled: true, namespace: 'ops', leaseName: 'audits', leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 4000 },
      shards: 3,
      // A Deployment's pod names carry no ordinal: the home is the hash of the name
      // (fnv1a32('memaudit-controller-7d9f-abcde') = 2531500997, mod 3 = 2).
      homeShard: 2,
      stateSyncPeriodMs: 0,
      statusSyncPeriodMs: 10_000,
      maxSamplesPerTarget: 500,
      maxTargetsPerAudit: 50,
      concurrentReconciles: 2,
      logLevel: 'debug',
      prometheus: {
        url: 'https://thanos-query.monitoring:9090/',
        bearerTokenFile: '/var/run/secrets/prometheus/token',
        basicAuthFile: null,
        caFile: '/etc/p/ca.crt',
        insecureSkipTlsVerify: true,
        headers: { 'x-scope-orgid': 'team-a' },
        selector: [
          { name: 'cluster', op: '=', value: 'prod' },
          { name: 'env', op: '=~', value: 'a|b' },
        ],
        timeoutMs: 45_000,
      },
    });
  });

  it('turns leader election off only for a single replica', async () => {
    const single = await render({ values: { replicas: 1, leaderElection: { enabled: false } } });
    expect(parsed(single).leaderElection.enabled).toBe(false);
    expect(deployment(single).replicas).toBe(1);
    const two = await template({ values: { leaderElection: { enabled: false } } });
    expect(two.code).not.toBe(0);
    expect(two.stderr).toMatch(/replicas > 1 needs leaderElection.enabled/);
    const sharded = await template({ values: { replicas: 1, shards: 2, leaderElection: { enabled: false } } });
    expect(sharded.code).not.toBe(0);
    expect(sharded.stderr).toMatch(/shards > 1 needs leaderElection.enabled/);
  });

  it('owns the Lease the controller elects its leader with (so helm uninstall removes it), leaving its spec to the controller', async () => {
    const lease = only(defaults, 'Lease');
    expect(lease.metadata).toMatchObject({ name: parsed(defaults).leaderElection.leaseName, namespace: 'ops' });
    expect(lease.spec).toBeUndefined();
    const named = await render({ values: { leaderElection: { leaseName: 'audits' } } });
    expect(only(named, 'Lease').metadata.name).toBe('audits');
    expect(find(await render({ values: { replicas: 1, leaderElection: { enabled: false } } }), 'Lease')).toEqual([]);
  });

  it('owns one Lease per shard, named as the controller names them', async () => {
    const sharded = await render({ namespace: 'ops', values: { replicas: 3, shards: 3, leaderElection: { leaseName: 'audits' } } });
    const names = find(sharded, 'Lease').map((l) => l.metadata.name);
    expect(names).toEqual([0, 1, 2].map((i) => shardLeaseName('audits', i, 3)));
    expect(names).toEqual(['audits-shard-0', 'audits-shard-1', 'audits-shard-2']);
    expect(parsed(sharded).shards).toBe(3);
    expect(find(sharded, 'Lease').every((l) => l.spec === undefined)).toBe(true);
  });

  it('renders a StatefulSet on request: the same pods, started at once, each replica at home on a shard of its own', async () => {
    const values = { replicas: 3, shards: 3 };
    const asDeployment = await render({ namespace: 'ops', values });
    const asStatefulSet = await render({ namespace: 'ops', values: { ...values, workload: 'StatefulSet' } });
    expect(find(asStatefulSet, 'Deployment')).toEqual([]);
    const sts = only(asStatefulSet, 'StatefulSet');
    const spec = sts.spec as DeploymentSpec & { podManagementPolicy: string; serviceName: string };
    expect(spec).toMatchObject({ replicas: 3, podManagementPolicy: 'Parallel', serviceName: only(asStatefulSet, 'Service').metadata.name });
    expect(spec.template).toEqual(deployment(asDeployment).template);
    expect(spec.selector).toEqual(deployment(asDeployment).selector);
    // Its pods are named by ordinal: three homes, one a shard.
    expect([0, 1, 2].map((i) => homeShardOf(`${sts.metadata.name}-${i}`, 3))).toEqual([0, 1, 2]);
    expect(await renderNotes({ values: { workload: 'StatefulSet' } })).toMatch(/rollout status statefulset\/memaudit-controller\n/);
    expect(await renderNotes()).toMatch(/rollout status deployment\/memaudit-controller\n/);
    const refused = await template({ values: { workload: 'DaemonSet' } });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/workload.*must be one of 'Deployment', 'StatefulSet'/);
  });

  it('covers every flag of `memaudit controller` (a new flag needs a value or a reason here)', async () => {
    const basicAuth = await render({ values: { prometheus: { url: 'http://prometheus:9090', basicAuthFile: '/etc/p/auth' } } });
    expect(parsed(basicAuth).prometheus).toMatchObject({ url: 'http://prometheus:9090/', basicAuthFile: '/etc/p/auth', bearerTokenFile: null, timeoutMs: 30_000 });
    const rendered = new Set([...flagNames(defaults), ...flagNames(await render({ values: EVERYTHING })), ...flagNames(await render({ values: { replicas: 1, leaderElection: { enabled: false } } })), ...flagNames(basicAuth)]);
    const known = Object.keys(CONTROLLER_FLAGS);
    expect([...rendered].filter((f) => !known.includes(f))).toEqual([]);
    expect(known.filter((f) => !rendered.has(f) && !(f in NOT_FROM_THE_CHART))).toEqual([]);
    expect(Object.keys(NOT_FROM_THE_CHART).filter((f) => rendered.has(f))).toEqual([]);
  });

  it('appends extraArgs as given', async () => {
    const args = container(await render({ values: { extraArgs: ['--log-level=trace'] } })).args;
    expect(args.at(-1)).toBe('--log-level=trace');
  });

  it('runs two replicas by default, spread over nodes, as the chart service account', () => {
    const spec = deployment(defaults);
    expect(spec.replicas).toBe(2);
    expect(spec.template.spec.serviceAccountName).toBe(only(defaults, 'ServiceAccount').metadata.name);
    expect(spec.template.metadata.labels).toMatchObject(spec.selector.matchLabels);
    expect(spec.template.spec.affinity).toEqual({
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: spec.selector.matchLabels } } }] },
    });
  });

  it('sets POD_NAME and POD_NAMESPACE from the downward API', () => {
    expect(container(defaults).env).toEqual([
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    ]);
  });

  it('probes /healthz and /readyz on the port it listens on', async () => {
    const c = container(await render({ values: { metrics: { port: 9090 } } }));
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
    expect(c.args).toContain('--listen=:9090');
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
  });

  it('runs non-root, read-only, without privilege escalation or capabilities, seccomp RuntimeDefault', async () => {
    const pod = deployment(defaults).template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container(defaults).securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    // The same uid as the image's USER, so runAsNonRoot holds whichever of the two a runtime uses.
    const dockerfile = await readFile(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const user = /^USER\s+(\d+):(\d+)\s*$/m.exec(dockerfile);
    expect(user).not.toBeNull();
    expect(pod.securityContext).toMatchObject({ runAsUser: Number(user![1]), runAsGroup: Number(user![2]) });
  });

  it("uses the chart's appVersion as the default image tag", async () => {
    expect(container(defaults).image).toBe('memaudit:0.1.0');
    expect(container(await render({ values: { image: { repository: 'registry.example/memaudit', tag: '0.2.0' } } })).image).toBe('registry.example/memaudit:0.2.0');
  });
});

describe('chart metrics Service and ServiceMonitor', () => {
  it('serves the metrics port through a Service that selects the controller pods', async () => {
    const objects = await render();
    const service = only(objects, 'Service').spec as { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string }[] };
    expect(service.ports).toEqual([{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }]);
    expect(deployment(objects).template.metadata.labels).toMatchObject(service.selector);
    expect(find(objects, 'ServiceMonitor')).toEqual([]);
  });

  it('renders a ServiceMonitor on request, selecting that Service', async () => {
    const objects = await render({ namespace: 'ops', values: { metrics: { serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } } } });
    const monitor = only(objects, 'ServiceMonitor');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.labels).toMatchObject({ release: 'prometheus' });
    const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; namespaceSelector: unknown; endpoints: unknown[] };
    expect(only(objects, 'Service').metadata.labels).toMatchObject(spec.selector.matchLabels);
    expect(spec.namespaceSelector).toEqual({ matchNames: ['ops'] });
    expect(spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s', honorLabels: true }]);
  });

  it('refuses a ServiceMonitor without the Service', async () => {
    const r = await template({ values: { metrics: { service: { enabled: false }, serviceMonitor: { enabled: true } } } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/serviceMonitor.enabled needs metrics.service.enabled/);
  });
});
