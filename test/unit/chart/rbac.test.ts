import { jest } from '@jest/globals';
import { configRbac, find, grants, only, render } from './helm.ts';
import type { KubeObject, PolicyRule } from './helm.ts';

// The chart's RBAC is config/rbac/ (what the controller's code calls, each rule commented with its
// caller), rendered by the real helm: a rule added on one side only fails here.
jest.setTimeout(30_000);

const rules = (o: KubeObject): PolicyRule[] => o.rules as PolicyRule[];
const subjects = (o: KubeObject) => o.subjects as { kind: string; name: string; namespace: string }[];
const roleRef = (o: KubeObject) => o.roleRef as { kind: string; name: string };
const CLUSTER_SCOPED = new Set(['nodes', 'nodes/proxy', 'nodes/metrics']);

describe('chart RBAC, cluster-wide (watchNamespaces: [])', () => {
  let objects: KubeObject[];
  beforeAll(async () => {
    objects = await render({ namespace: 'ops' });
  });

  it('has a ClusterRole with exactly the rules of config/rbac/role.yaml, in the same order', async () => {
    expect(rules(only(objects, 'ClusterRole', 'memaudit-controller'))).toEqual(await configRbac('role.yaml'));
    expect(find(objects, 'Role', 'memaudit-controller')).toEqual([]);
  });

  it('binds it to the chart service account in the release namespace', () => {
    const binding = only(objects, 'ClusterRoleBinding', 'memaudit-controller');
    expect(roleRef(binding)).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'memaudit-controller' });
    const sa = only(objects, 'ServiceAccount');
    expect(subjects(binding)).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'ops' }]);
    expect(sa.metadata.namespace).toBe('ops');
  });

  it('grants the Lease rules of config/rbac/leader_election_role.yaml in the release namespace only', async () => {
    const role = only(objects, 'Role', 'memaudit-leader-election');
    expect(role.metadata.namespace).toBe('ops');
    expect(rules(role)).toEqual(await configRbac('leader_election_role.yaml'));
    const binding = only(objects, 'RoleBinding', 'memaudit-leader-election');
    expect(binding.metadata.namespace).toBe('ops');
    expect(roleRef(binding)).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'memaudit-leader-election' });
    expect(subjects(binding)).toEqual([{ kind: 'ServiceAccount', name: 'memaudit-controller', namespace: 'ops' }]);
  });

  it('names objects after the release', async () => {
    const other = await render({ release: 'audit', namespace: 'ops' });
    expect(find(other, 'ClusterRole').map((o) => o.metadata.name)).toEqual(['audit-memaudit-controller']);
    expect(subjects(only(other, 'ClusterRoleBinding'))).toEqual([{ kind: 'ServiceAccount', name: 'audit-memaudit-controller', namespace: 'ops' }]);
  });

  it('drops the Lease rules without leader election', async () => {
    const single = await render({ values: { replicas: 1, leaderElection: { enabled: false } } });
    expect(find(single, 'Role')).toEqual([]);
    expect(find(single, 'RoleBinding')).toEqual([]);
  });

  it('binds an existing service account when told not to create one', async () => {
    const existing = await render({ values: { serviceAccount: { create: false, name: 'audit-bot' } } });
    expect(find(existing, 'ServiceAccount')).toEqual([]);
    for (const b of [...find(existing, 'ClusterRoleBinding'), ...find(existing, 'RoleBinding')]) expect(subjects(b)[0]!.name).toBe('audit-bot');
  });
});

describe('chart RBAC for the kubelet and pprof access', () => {
  it('grants nodes/metrics but neither nodes/proxy nor pods/proxy by default (direct access)', async () => {
    const granted = grants(rules(only(await render(), 'ClusterRole', 'memaudit-controller')));
    expect(granted).toContain('core/nodes/metrics:get');
    expect(granted).toContain('core/nodes:get');
    expect(granted.filter((g) => /proxy/.test(g))).toEqual([]);
  });

  it('adds exactly config/rbac-proxy/ for kubelet.access and pprof.access proxy, each only for its own', async () => {
    const proxy = await configRbac('role.yaml', 'rbac-proxy');
    const base = grants(await configRbac('role.yaml'));
    const both = await render({ values: { kubelet: { access: 'proxy' }, pprof: { access: 'proxy' } } });
    expect(grants(rules(only(both, 'ClusterRole', 'memaudit-controller')))).toEqual(grants([...(await configRbac('role.yaml')), ...proxy]));
    const kubeletOnly = grants(rules(only(await render({ values: { kubelet: { access: 'proxy' } } }), 'ClusterRole', 'memaudit-controller')));
    expect(kubeletOnly.filter((g) => !base.includes(g))).toEqual(['core/nodes/proxy:get']);
    const pprofOnly = grants(rules(only(await render({ values: { pprof: { access: 'proxy' } } }), 'ClusterRole', 'memaudit-controller')));
    expect(pprofOnly.filter((g) => !base.includes(g))).toEqual(['core/pods/proxy:get']);
  });

  it('keeps nodes/proxy in the cluster-scoped role of a namespace-scoped install when asked for', async () => {
    const objects = await render({ values: { watchNamespaces: ['shop'], kubelet: { access: 'proxy' } } });
    expect(grants(rules(only(objects, 'ClusterRole', 'memaudit-controller-nodes')))).toEqual(['core/nodes/metrics:get', 'core/nodes/proxy:get', 'core/nodes:get']);
  });
});

describe('chart RBAC, namespace-scoped (watchNamespaces: [shop])', () => {
  let objects: KubeObject[];
  beforeAll(async () => {
    objects = await render({ namespace: 'ops', values: { watchNamespaces: ['shop'] } });
  });

  it('puts every namespaced rule in a Role in the watched namespace', () => {
    const role = only(objects, 'Role', 'memaudit-controller');
    expect(role.metadata.namespace).toBe('shop');
    expect(rules(role).flatMap((r) => r.resources).filter((r) => CLUSTER_SCOPED.has(r))).toEqual([]);
    const binding = only(objects, 'RoleBinding', 'memaudit-controller');
    expect(binding.metadata.namespace).toBe('shop');
    expect(roleRef(binding)).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'memaudit-controller' });
    expect(subjects(binding)).toEqual([{ kind: 'ServiceAccount', name: 'memaudit-controller', namespace: 'ops' }]);
  });

  it('renders no ClusterRole but the one for nodes, which only a ClusterRole can grant', () => {
    expect(find(objects, 'ClusterRole').map((o) => o.metadata.name)).toEqual(['memaudit-controller-nodes']);
    const nodes = only(objects, 'ClusterRole', 'memaudit-controller-nodes');
    expect(rules(nodes).flatMap((r) => r.resources).every((r) => CLUSTER_SCOPED.has(r))).toBe(true);
    expect(find(objects, 'ClusterRoleBinding').map((o) => roleRef(o).name)).toEqual(['memaudit-controller-nodes']);
  });

  it('grants together exactly what config/rbac/role.yaml grants', async () => {
    const granted = [...rules(only(objects, 'Role', 'memaudit-controller')), ...rules(only(objects, 'ClusterRole', 'memaudit-controller-nodes'))];
    expect(grants(granted)).toEqual(grants(await configRbac('role.yaml')));
  });

  it('keeps the Lease rules in the release namespace', async () => {
    const role = only(objects, 'Role', 'memaudit-leader-election');
    expect(role.metadata.namespace).toBe('ops');
    expect(rules(role)).toEqual(await configRbac('leader_election_role.yaml'));
  });
});

describe('chart RBAC, several namespaces (watchNamespaces: [shop, payments])', () => {
  let objects: KubeObject[];
  beforeAll(async () => {
    objects = await render({ namespace: 'ops', values: { watchNamespaces: ['shop', 'payments'] } });
  });

  it('puts the same Role and RoleBinding in each watched namespace, and passes them all to --namespace', () => {
    const roles = find(objects, 'Role').filter((o) => o.metadata.name === 'memaudit-controller');
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['payments', 'shop']);
    expect(rules(roles[0]!)).toEqual(rules(roles[1]!));
    const bindings = find(objects, 'RoleBinding').filter((o) => o.metadata.name === 'memaudit-controller');
    expect(bindings.map((b) => b.metadata.namespace).sort()).toEqual(['payments', 'shop']);
    for (const b of bindings) expect(subjects(b)).toEqual([{ kind: 'ServiceAccount', name: 'memaudit-controller', namespace: 'ops' }]);
    expect(find(objects, 'ClusterRole').map((o) => o.metadata.name)).toEqual(['memaudit-controller-nodes']);
    const args = (only(objects, 'Deployment', 'memaudit-controller') as unknown as { spec: { template: { spec: { containers: { args: string[] }[] } } } }).spec.template.spec.containers[0]!.args;
    expect(args).toContain('--namespace=shop,payments');
  });
});
