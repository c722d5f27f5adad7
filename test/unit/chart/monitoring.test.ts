import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { ControllerMetrics } from '../../../src/controller/runtime/metrics.ts';
import { CHART_DIR, find, only, render, renderNotes, template } from './helm.ts';
import type { KubeObject } from './helm.ts';

// The chart's PrometheusRule and Grafana dashboard against the metrics the controller really
// exports (its registry), and the rules against a real Prometheus rule engine: promtool (Debian's
// prometheus package, hack/install-deps.sh) checks them and runs unit tests of each alert on
// made-up series. test/e2e/helm.test.ts applies the rendered rule to a real API server with the
// Prometheus Operator's CRD.
jest.setTimeout(60_000);

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
type PrometheusRule = KubeObject & { spec: { groups: { name: string; rules: Rule[] }[] } };

const ALL_ON = { metrics: { prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true }, serviceMonitor: { enabled: true } } };
const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads (label matchers, ranges, label lists and functions left out). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const after = bare.slice(m.index + m[0].length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Every series name the controller's /metrics can have (histograms as _bucket, _sum, _count). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new ControllerMetrics(false);
  const out = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) out.add(m.name + suffix);
    else out.add(m.name);
  }
  return out;
}

function promtool(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('promtool', args, { cwd }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('promtool is missing: hack/install-deps.sh installs Debian\'s prometheus package');
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
let rule: PrometheusRule;
let rules: Rule[];
let dashboard: { templating: { list: { name: string; type: string; query?: { query: string } | string; definition?: string }[] }; panels: { title: string; type: string; datasource?: { uid: string }; targets?: { expr: string }[] }[] };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'memaudit-monitoring-'));
  const objects = await render({ values: ALL_ON, namespace: 'monitoring' });
  rule = only(objects, 'PrometheusRule') as PrometheusRule;
  rules = rule.spec.groups.flatMap((g) => g.rules);
  await writeFile(path.join(dir, 'rules.yaml'), stringify(rule.spec));
  dashboard = JSON.parse(await readFile(path.join(CHART_DIR, 'files/grafana-dashboard.json'), 'utf8')) as typeof dashboard;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the PrometheusRule (metrics.prometheusRule)', () => {
  it('is rendered only when enabled, in the release namespace, with the labels the Prometheus selects by', async () => {
    expect(find(await render(), 'PrometheusRule')).toEqual([]);
    expect(rule.metadata).toMatchObject({ name: 'memaudit-controller', namespace: 'monitoring' });
    const labelled = only(await render({ values: { metrics: { prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' } } } } }), 'PrometheusRule');
    expect(labelled.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack', 'app.kubernetes.io/name': 'memaudit' });
  });

  it('alerts on a Leak near its limit, and on a limit far above or below the recommendation', () => {
    expect(rules.map((r) => [r.alert, r.for, r.labels.severity])).toEqual([
      ['MemauditLeakNearLimit', '10m', 'critical'],
      ['MemauditLimitFarAboveRecommendation', '1h', 'info'],
      ['MemauditLimitBelowRecommendation', '30m', 'warning'],
    ]);
  });

  it('reads only metrics the controller exports', async () => {
    const exported = await exportedNames();
    for (const r of rules) {
      const names = metricNames(r.expr);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) expect({ alert: r.alert, metric: n, exported: exported.has(n) }).toEqual({ alert: r.alert, metric: n, exported: true });
    }
    expect(new Set(rules.flatMap((r) => metricNames(r.expr)))).toEqual(new Set(['memaudit_target_time_to_limit_seconds', 'memaudit_target_verdict', 'memaudit_target_limit_bytes', 'memaudit_target_recommended_limit_bytes']));
  });

  it('passes promtool check rules', async () => {
    const r = await promtool(['check', 'rules', 'rules.yaml'], dir);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('SUCCESS: 3 rules found');
  });

  it('fires as promised on made-up series, evaluated by promtool test rules', async () => {
    // Two controller replicas (instances): the one that led before still shows its old series.
    const target = (audit: string, pod: string) => `namespace="shop",audit="${audit}",pod="${pod}",container="app"`;
    const series = (name: string, labels: string, values: string, instance = 'c-0') => ({ series: `${name}{${labels},instance="${instance}"}`, values });
    const MiB = 1024 * 1024;
    const test = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // heap: a Leak reaching its limit in 1 h; old: a Leak 2 days away.
            series('memaudit_target_verdict', `${target('heap', 'heap-0')},verdict="Leak"`, '1x120'),
            series('memaudit_target_time_to_limit_seconds', target('heap', 'heap-0'), '3600x120'),
            series('memaudit_target_verdict', `${target('heap', 'heap-0')},verdict="Leak"`, '1x120', 'c-1'),
            series('memaudit_target_verdict', `${target('old', 'old-0')},verdict="Leak"`, '1x120'),
            series('memaudit_target_time_to_limit_seconds', target('old', 'old-0'), '172800x120'),
            // files: page cache, limit 1 GiB for 48 MiB recommended; tight: 32 MiB for 48 MiB.
            series('memaudit_target_verdict', `${target('files', 'files-0')},verdict="CacheGrowth"`, '1x120'),
            series('memaudit_target_limit_bytes', target('files', 'files-0'), `${1024 * MiB}x120`),
            series('memaudit_target_recommended_limit_bytes', target('files', 'files-0'), `${48 * MiB}x120`),
            series('memaudit_target_verdict', `${target('tight', 'tight-0')},verdict="Stable"`, '1x120'),
            series('memaudit_target_limit_bytes', target('tight', 'tight-0'), `${32 * MiB}x120`),
            series('memaudit_target_recommended_limit_bytes', target('tight', 'tight-0'), `${48 * MiB}x120`),
            // A Leak's limit is not the fix: no limit alert for it, however far the limit is.
            series('memaudit_target_limit_bytes', target('heap', 'heap-0'), `${1024 * MiB}x120`),
            series('memaudit_target_recommended_limit_bytes', target('heap', 'heap-0'), `${48 * MiB}x120`),
          ],
          alert_rule_test: [
            { eval_time: '5m', alertname: 'MemauditLeakNearLimit', exp_alerts: [] },
            {
              eval_time: '15m',
              alertname: 'MemauditLeakNearLimit',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', namespace: 'shop', audit: 'heap', pod: 'heap-0', container: 'app' },
                  exp_annotations: {
                    summary: 'shop/heap-0 container app leaks memory and reaches its limit in 1h 0m 0s',
                    description: rules[0]!.annotations.description!.replaceAll('{{ $labels.audit }}', 'heap').replaceAll('{{ $labels.namespace }}', 'shop'),
                  },
                },
              ],
            },
            {
              eval_time: '90m',
              alertname: 'MemauditLimitFarAboveRecommendation',
              exp_alerts: [
                {
                  exp_labels: { severity: 'info', namespace: 'shop', audit: 'files', pod: 'files-0', container: 'app' },
                  exp_annotations: { summary: 'shop/files-0 container app has a memory limit over 2x what it needs', description: "The limit is 1GiB; memaudit's audit files recommends less (its status.recommendation, or action: Patch)." },
                },
              ],
            },
            {
              eval_time: '40m',
              alertname: 'MemauditLimitBelowRecommendation',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', namespace: 'shop', audit: 'tight', pod: 'tight-0', container: 'app' },
                  exp_annotations: {
                    summary: 'shop/tight-0 container app has a memory limit below what it needs',
                    description: "The limit is 32MiB, under 0.8x memaudit's recommendation (audit tight): the memory the kernel cannot reclaim, with headroom, does not fit; expect OOM kills or a cache the program keeps re-reading.",
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    await writeFile(path.join(dir, 'rules.test.yaml'), stringify(test));
    const r = await promtool(['test', 'rules', 'rules.test.yaml'], dir);
    expect([r.code, r.stdout + r.stderr]).toEqual([0, expect.stringContaining('SUCCESS')]);
  });

  it('takes its thresholds from the values, and leaves out an alert turned off', async () => {
    const tuned = only(
      await render({ values: { metrics: { prometheusRule: { enabled: true, leakNearLimit: { timeToLimitBelowSeconds: 3600, for: '5m', severity: 'page' }, limitAboveRecommendation: { enabled: false }, limitBelowRecommendation: { ratio: 0.5 } } } } }),
      'PrometheusRule',
    ) as PrometheusRule;
    const got = tuned.spec.groups[0]!.rules;
    expect(got.map((r) => r.alert)).toEqual(['MemauditLeakNearLimit', 'MemauditLimitBelowRecommendation']);
    expect(got[0]).toMatchObject({ for: '5m', labels: { severity: 'page' }, expr: expect.stringContaining('(memaudit_target_time_to_limit_seconds) < 3600\n') });
    expect(got[1]!.expr).toContain('< 0.5 * max by');
  });

  it('refuses thresholds that would say nothing', async () => {
    for (const prometheusRule of [{ limitAboveRecommendation: { ratio: 0.5 } }, { limitBelowRecommendation: { ratio: 2 } }, { leakNearLimit: { for: 'soon' } }]) {
      const r = await template({ values: { metrics: { prometheusRule: { enabled: true, ...prometheusRule } } } });
      expect([prometheusRule, r.code]).toEqual([prometheusRule, 1]);
      expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
    }
  });
});

describe('the ServiceMonitor', () => {
  it("keeps the metrics' namespace, pod and container labels (honorLabels): they name the audited container", async () => {
    const sm = only(await render({ values: ALL_ON }), 'ServiceMonitor');
    expect((sm.spec as { endpoints: unknown[] }).endpoints).toEqual([expect.objectContaining({ port: 'metrics', honorLabels: true })]);
  });
});

describe('the Grafana dashboard (metrics.grafanaDashboard)', () => {
  const queries = () => [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
    // label_values(SELECTOR, LABEL): the selector is the query.
    ...dashboard.templating.list.filter((v) => v.type === 'query').map((v) => ({ where: `$${v.name}`, expr: (typeof v.query === 'string' ? v.query : v.query!.query).replace(/^label_values\((.*), \w+\)$/, '$1') })),
  ];

  it('is a ConfigMap with the label Grafana\'s sidecar loads, holding files/grafana-dashboard.json as it is', async () => {
    const objects = await render({ values: ALL_ON, namespace: 'monitoring' });
    const cm = only(objects, 'ConfigMap', 'memaudit-dashboard');
    expect(cm.metadata).toMatchObject({ namespace: 'monitoring', labels: { grafana_dashboard: '1' } });
    const text = await readFile(path.join(CHART_DIR, 'files/grafana-dashboard.json'), 'utf8');
    expect((cm.data as Record<string, string>)['memaudit.json']).toBe(text.trimEnd());
    expect(find(await render(), 'ConfigMap', 'memaudit-dashboard')).toEqual([]);
    const elsewhere = only(await render({ values: { metrics: { grafanaDashboard: { enabled: true, namespace: 'grafana', labels: { dashboards: 'memaudit' }, annotations: { grafana_folder: 'memaudit' } } } } }), 'ConfigMap', 'memaudit-dashboard');
    expect(elsewhere.metadata).toMatchObject({ namespace: 'grafana', labels: { dashboards: 'memaudit' }, annotations: { grafana_folder: 'memaudit' } });
  });

  it('parses, and every panel reads the Prometheus of the $datasource variable', () => {
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace', 'audit', 'pod', 'container']);
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect({ panel: p.title, uid: p.datasource?.uid, targets: (p.targets ?? []).length > 0 }).toEqual({ panel: p.title, uid: '${datasource}', targets: true });
    }
  });

  it('queries only metrics the controller exports, and shows each target metric', async () => {
    const exported = await exportedNames();
    const used = new Set<string>();
    for (const q of queries()) {
      const names = metricNames(q.expr);
      expect({ where: q.where, some: names.length > 0 }).toEqual({ where: q.where, some: true });
      for (const n of names) {
        expect({ where: q.where, metric: n, exported: exported.has(n) }).toEqual({ where: q.where, metric: n, exported: true });
        used.add(n);
      }
    }
    for (const n of [...exported].filter((x) => x.startsWith('memaudit_target_'))) expect({ metric: n, shown: used.has(n) }).toEqual({ metric: n, shown: true });
  });

  it('has PromQL that Prometheus parses (promtool, with the Grafana variables filled in)', async () => {
    const filled = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replace(/\$(\w+)/g, '.*');
    const file = { groups: [{ name: 'dashboard', rules: queries().map((q, i) => ({ record: `memaudit:dashboard:${i}`, expr: filled(q.expr) })) }] };
    await writeFile(path.join(dir, 'dashboard-queries.yaml'), stringify(file));
    const r = await promtool(['check', 'rules', 'dashboard-queries.yaml'], dir);
    expect([r.code, r.stdout + r.stderr]).toEqual([0, expect.stringContaining(`SUCCESS: ${queries().length} rules found`)]);
  });
});

describe('NOTES.txt, as helm install prints it', () => {
  it('works from a Helm repository: no path of the memaudit repository in it', async () => {
    for (const values of [{}, ALL_ON, { watchNamespaces: ['shop'] }]) {
      const notes = await renderNotes({ values });
      expect(notes).not.toMatch(/(^|\s)(crds|config|examples|charts|hack|docs)\/|-f crds|apply -k/m);
    }
  });

  it('shows how to create a first MemoryAudit (YAML that parses) and read its status', async () => {
    const notes = await renderNotes({ values: { watchNamespaces: ['shop'] } });
    const heredoc = /kubectl apply -n shop -f - <<'YAML'\n([\s\S]*?)\n {2}YAML\n/.exec(notes);
    expect(heredoc).not.toBeNull();
    const { parse } = await import('yaml');
    expect(parse(heredoc![1]!.replace(/^ {2}/gm, ''))).toEqual({ apiVersion: 'memaudit.io/v1alpha1', kind: 'MemoryAudit', metadata: { name: 'my-app' }, spec: { selector: { matchLabels: { app: 'my-app' } }, action: 'Recommend' } });
    for (const command of ['kubectl get memoryaudits -n shop', 'kubectl describe memoryaudit my-app -n shop', "-o jsonpath='{.status.recommendation.memoryLimit}"]) expect(notes).toContain(command);
    expect(notes).toMatch(/helm show crds .* --version 0\.1\.0 \| kubectl apply --server-side -f -/);
  });

  it('says when the image is not one a node can pull yet, and names what monitoring it installed', async () => {
    expect(await renderNotes()).toMatch(/No image is published yet: the nodes must be able to pull memaudit:0\.1\.0/);
    const notes = await renderNotes({ values: { ...ALL_ON, image: { repository: 'registry.example/memaudit' } } });
    expect(notes).not.toMatch(/No image is published/);
    expect(notes).toContain('PrometheusRule memaudit/memaudit-controller: alerts MemauditLeakNearLimit');
    expect(notes).toContain('ConfigMap memaudit/memaudit-dashboard: the Grafana dashboard');
  });
});

describe('memory values are Kubernetes quantities', () => {
  it('takes 128Mi and 128M (10^6 bytes), refuses 128m (thousandths of a byte)', async () => {
    for (const memory of ['128Mi', '128M', '1Gi', 134217728]) expect((await template({ values: { resources: { limits: { memory } } } })).code).toBe(0);
    const slip = await template({ values: { resources: { limits: { memory: '128m' } } } });
    expect(slip.code).toBe(1);
    expect(slip.stderr).toMatch(/\/resources\/limits\/memory': '128m' does not match pattern/);
  });
});
