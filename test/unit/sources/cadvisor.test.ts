import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isInputError } from '../../../src/errors.ts';
import { ContainerSelection, findContainerSample, parseCadvisorMetrics, parsePrometheusText, scanCadvisorMetrics } from '../../../src/sources/cadvisor.ts';
import { isNoData } from '../../../src/model/no-data.ts';
import { generatePods, NodeScrape } from '../../e2e/harness/generated-cadvisor.ts';
import { referenceParseCadvisor } from '../../helpers/cadvisor-reference.ts';

const FIXTURE = path.join(import.meta.dirname, '../../fixtures/kubelet/metrics-cadvisor-kind-1.16.txt');
const SCRAPE_MS = 1572450210000;

describe('parseCadvisorMetrics on a real kind 1.16 scrape', () => {
  const { containers, withoutUsage } = parseCadvisorMetrics(readFileSync(FIXTURE, 'utf8'), { source: FIXTURE, scrapeTimeMs: SCRAPE_MS });

  it('yields one sample per real container, skipping the root, pod-level and pause cgroups', () => {
    expect(containers.map((c) => `${c.key.namespace}/${c.key.pod}/${c.key.container}`)).toEqual([
      'default/agent-nsvs4/datadog-agent',
      'kube-system/coredns-5644d7b6d9-9msql/coredns',
      'kube-system/etcd-kind-control-plane/etcd',
      'kube-system/kube-proxy-zr52v/kube-proxy',
    ]);
    expect(withoutUsage).toEqual([]);
  });

  it('maps each metric to its field, with the sample timestamp of the usage series', () => {
    const agent = containers.find((c) => c.key.container === 'datadog-agent')!.sample;
    expect(agent).toEqual({
      timestampMs: 1572450197849,
      // The cgroup path: a restarted container gets a new one.
      instance: '/kubepods/podb2a9216f-557b-45de-8305-18c01e3a598a/a27eeae6b6d388f14684fc1a804ef6acaabeee013723df47f5038377fbaf5ef1',
      usageBytes: 74059776, // 7.4059776e+07
      workingSetBytes: 53272576,
      fileBytes: 21520384,
      anonBytes: 47063040,
      mappedFileBytes: 0,
      limitBytes: 268435456, // 256 Mi
    });
  });

  it('treats a spec limit of 0 as unlimited (undefined), not as a 0-byte limit', () => {
    const proxy = containers.find((c) => c.key.container === 'kube-proxy')!.sample;
    expect(proxy.limitBytes).toBeUndefined();
    expect(proxy.usageBytes).toBe(9383936);
    expect(proxy.workingSetBytes).toBe(9363456);
  });

  it('returns NoData, not an error, for a container absent from the scrape', () => {
    const r = findContainerSample(containers, { namespace: 'shop', pod: 'n3-0', container: 'app' });
    expect(isNoData(r)).toBe(true);
    const hit = findContainerSample(containers, { namespace: 'kube-system', pod: 'coredns-5644d7b6d9-9msql', container: 'coredns' });
    expect(isNoData(hit)).toBe(false);
  });
});

describe('parseCadvisorMetrics label generations and edge cases', () => {
  it('reads pre-1.16 container_name/pod_name labels and skips the POD sandbox', () => {
    const text = [
      'container_memory_usage_bytes{container_name="POD",id="/kubepods/x/a",namespace="default",pod_name="web-1"} 4096',
      'container_memory_usage_bytes{container_name="web",id="/kubepods/x/b",namespace="default",pod_name="web-1"} 1.2e+07',
      'container_spec_memory_limit_bytes{container_name="web",id="/kubepods/x/b",namespace="default",pod_name="web-1"} 9.223372036854772e+18',
    ].join('\n');
    const { containers } = parseCadvisorMetrics(text, { source: 't', scrapeTimeMs: 5000 });
    expect(containers).toEqual([{ key: { namespace: 'default', pod: 'web-1', container: 'web' }, sample: { timestampMs: 5000, usageBytes: 12000000, instance: '/kubepods/x/b' } }]);
  });

  it('keeps the newest cgroup when a restarted container appears twice', () => {
    const text = [
      'container_memory_usage_bytes{container="app",id="/old",namespace="n",pod="p"} 100 1000',
      'container_memory_usage_bytes{container="app",id="/new",namespace="n",pod="p"} 200 2000',
    ].join('\n');
    const { containers } = parseCadvisorMetrics(text, { source: 't', scrapeTimeMs: 0 });
    expect(containers.map((c) => c.sample.usageBytes)).toEqual([200]);
  });

  it("skips an exited container's all-zero series that a kubelet serves with a fresh timestamp after a restart", () => {
    // As a kubelet v1.35 (containerd 1.6, cgroupfs) served them for an OOM-killed container: the old
    // cgroup id with zeros and the newest timestamp, beside the new container's real numbers.
    const labels = (id: string) => `container="app",id="/kubepods/burstable/pod7de9a3e3/${id}",image="docker.io/library/memaudit-examples:dev",name="${id}",namespace="shop",pod="oomfast-54547659c5-qrnk7"`;
    const old = labels('5d341322510c');
    const fresh = labels('570cbe3ce4f5');
    const both = [
      `container_memory_rss{${old}} 0 1796055060300`,
      `container_memory_usage_bytes{${old}} 0 1796055060300`,
      `container_memory_rss{${fresh}} 1.5624192e+07 1796055057900`,
      `container_memory_usage_bytes{${fresh}} 1.6148480e+07 1796055057900`,
    ].join('\n');
    const r = parseCadvisorMetrics(both, { source: 't', scrapeTimeMs: 0 });
    expect(r.containers).toEqual([{ key: { namespace: 'shop', pod: 'oomfast-54547659c5-qrnk7', container: 'app' }, sample: { timestampMs: 1796055057900, usageBytes: 16148480, anonBytes: 15624192, instance: '/kubepods/burstable/pod7de9a3e3/570cbe3ce4f5' } }]);
    // Alone (the new container not started yet): no sample, not a 0-byte one.
    const alone = parseCadvisorMetrics(`container_memory_usage_bytes{${old}} 0 1796055043700\n`, { source: 't', scrapeTimeMs: 0 });
    expect(alone.containers).toEqual([]);
    expect(alone.withoutUsage).toEqual([{ namespace: 'shop', pod: 'oomfast-54547659c5-qrnk7', container: 'app' }]);
  });

  it('leaves NaN values unknown and reports containers without a usage series', () => {
    const text = [
      'container_memory_usage_bytes{container="a",namespace="n",pod="p"} 100',
      'container_memory_rss{container="a",namespace="n",pod="p"} NaN',
      'container_memory_working_set_bytes{container="b",namespace="n",pod="p"} 7',
    ].join('\n');
    const r = parseCadvisorMetrics(text, { source: 't', scrapeTimeMs: 1 });
    expect(r.containers[0]!.sample).toEqual({ timestampMs: 1, usageBytes: 100 });
    expect(r.withoutUsage).toEqual([{ namespace: 'n', pod: 'p', container: 'b' }]);
  });
});

describe('parsePrometheusText', () => {
  it('handles escaped quotes, backslashes and newlines in label values, comments, NaN/+Inf and timestamps', () => {
    const text = [
      '# HELP m A metric with "quotes" in help',
      '# TYPE m gauge',
      '# just a comment',
      'm{a="x\\"y",b="c\\\\d",c="l1\\nl2",} +Inf 1700000000000',
      'm{a="z"} NaN',
      'm -1.5e-3',
      '',
    ].join('\n');
    const s = parsePrometheusText(text, 't');
    expect(s).toHaveLength(3);
    expect(s[0]).toEqual({ name: 'm', labels: { a: 'x"y', b: 'c\\d', c: 'l1\nl2' }, value: Infinity, timestampMs: 1700000000000 });
    expect(Number.isNaN(s[1]!.value)).toBe(true);
    expect(s[2]).toEqual({ name: 'm', labels: {}, value: -0.0015 });
  });

  it('names the source and the line of a malformed sample', () => {
    const text = 'ok 1\nbroken{a="b} 1\n';
    try {
      parsePrometheusText(text, 'scrape.txt');
      throw new Error('no error');
    } catch (e) {
      expect(isInputError(e)).toBe(true);
      expect((e as Error).message).toMatch(/^scrape\.txt:2: .*unterminated value of label a/);
    }
    expect(() => parsePrometheusText('m{a="b"} twelve', 's')).toThrow(/s:1: .*bad value "twelve"/);
    expect(() => parsePrometheusText('m 1 2 3', 's')).toThrow(/s:1:/);
    expect(() => parsePrometheusText('<html>', 's')).toThrow(/bad metric name/);
  });
});

describe('scanCadvisorMetrics: the byte scanner against the text parser it replaced (test/helpers/cadvisor-reference.ts)', () => {
  const T = 1_796_000_123_456;
  const node = new NodeScrape(generatePods('web', 'shop', 40, 2));
  const body = node.body(T);

  it('gives the same samples as the text parser on a generated node (every cAdvisor family, pod cgroups, pause containers)', () => {
    const scanned = scanCadvisorMetrics(body, { source: 't', scrapeTimeMs: T });
    expect(scanned.containers).toHaveLength(80);
    expect(scanned).toEqual(referenceParseCadvisor(body.toString('utf8'), T));
    expect(scanned.containers[0]!.sample).toEqual(expect.objectContaining({ usageBytes: expect.any(Number), anonBytes: expect.any(Number), activeFileBytes: expect.any(Number), inactiveFileBytes: expect.any(Number), kernelBytes: expect.any(Number), limitBytes: expect.any(Number), majorFaultCount: expect.any(Number), failCount: expect.any(Number) }));
  });

  it('gives the same samples on the kind 1.16 capture and on the edge cases above', () => {
    const texts = [
      readFileSync(FIXTURE, 'utf8'),
      'container_memory_usage_bytes{container_name="web",id="/kubepods/x/b",namespace="default",pod_name="web-1"} 1.2e+07\ncontainer_spec_memory_limit_bytes{container_name="web",id="/kubepods/x/b",namespace="default",pod_name="web-1"} 9.223372036854772e+18\n',
      'container_memory_usage_bytes{container="a",namespace="n",pod="p"} 100\ncontainer_memory_rss{container="a",namespace="n",pod="p"} NaN\ncontainer_memory_working_set_bytes{container="b",namespace="n",pod="p"} 7',
    ];
    for (const text of texts) expect(parseCadvisorMetrics(text, { source: 't', scrapeTimeMs: SCRAPE_MS })).toEqual(referenceParseCadvisor(text, SCRAPE_MS));
  });

  it('keeps only the selected containers, and the same samples for them', () => {
    const all = referenceParseCadvisor(body.toString('utf8'), T);
    const chosen = all.containers.filter((_, i) => i % 3 === 0).map((c) => c.key);
    const scanned = scanCadvisorMetrics(body, { source: 't', scrapeTimeMs: T, select: new ContainerSelection([...chosen, { namespace: 'shop', pod: 'not-here', container: 'app' }]) });
    expect(scanned.containers.map((c) => c.key)).toEqual(chosen);
    expect(scanned.containers).toEqual(all.containers.filter((_, i) => i % 3 === 0));
  });

  it('does not depend on HELP and TYPE lines: families without them, or a commented family followed by one without', () => {
    const lines = body.toString('utf8').split('\n');
    const bare = lines.filter((l) => !l.startsWith('#')).join('\n');
    // The TYPE of an unread family, then (no comment) memory lines of another family: read line by line.
    const mixed = ['# HELP container_cpu_user_seconds_total x', '# TYPE container_cpu_user_seconds_total counter', 'container_cpu_user_seconds_total{container="a",namespace="n",pod="p"} 5', 'container_memory_usage_bytes{container="a",namespace="n",pod="p"} 4096 1000', '# HELP container_threads t', 'container_threads{container="a",namespace="n",pod="p"} 3'].join('\n');
    for (const text of [bare, mixed]) {
      const scanned = parseCadvisorMetrics(text, { source: 't', scrapeTimeMs: T });
      expect(scanned).toEqual(referenceParseCadvisor(text, T));
      expect(scanned.containers.length).toBeGreaterThan(0);
    }
  });

  it('decodes escaped label values, CRLF line ends and blank lines as the text parser does', () => {
    const text = ['', 'container_memory_usage_bytes{container="a\\"b",id="/x\\\\y",namespace="n",pod="p"} 4096 1000\r', '   ', 'container_memory_rss{container="a\\"b",id="/x\\\\y",namespace="n",pod="p"}   2048   1000  '].join('\n');
    const scanned = parseCadvisorMetrics(text, { source: 't', scrapeTimeMs: T });
    expect(scanned.containers[0]).toEqual({ key: { namespace: 'n', pod: 'p', container: 'a"b' }, sample: { timestampMs: 1000, usageBytes: 4096, anonBytes: 2048, instance: '/x\\y' } });
    expect(scanned).toEqual(referenceParseCadvisor(text, T));
    const selected = parseCadvisorMetrics(text, { source: 't', scrapeTimeMs: T, select: new ContainerSelection([{ namespace: 'n', pod: 'p', container: 'a"b' }]) });
    expect(selected.containers).toHaveLength(1);
  });

  it('reads values as Number() does: exponents, fractions, signs, 16+ digits, NaN and infinities', () => {
    const values = ['0', '1', '-0', '1.2345678e+07', '9.223372036854772e+18', '123456789012345678', '0.1', '3.14159', '1e-7', '-2.5E3', '+7', '.5', '5.', '1.7976931348623157e+308', '4.9e-324', 'NaN', '+Inf', '-Inf'];
    for (const v of values) {
      const text = `container_memory_rss{container="a",namespace="n",pod="p"} ${v}\ncontainer_memory_usage_bytes{container="a",namespace="n",pod="p"} 1\n`;
      const got = parseCadvisorMetrics(text, { source: 't', scrapeTimeMs: 1 }).containers[0]!.sample.anonBytes;
      const want = Number(v === '+Inf' ? 'Infinity' : v === '-Inf' ? '-Infinity' : v);
      expect([v, Number.isFinite(want) ? got : undefined]).toEqual([v, Number.isFinite(want) ? want : undefined]);
    }
  });

  it('reads each line by its own labels whatever the order: families listing their cgroups in other orders, or some of them only', () => {
    // The scanner reads a line whose label block is the one at its place in the family before from
    // its value on (src/sources/cadvisor.ts); the order only saves time.
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const families: string[][] = [];
    for (const l of body.toString('utf8').split('\n')) {
      if (l.startsWith('# HELP') || families.length === 0) families.push([]);
      families.at(-1)!.push(l);
    }
    const shuffled = families.map((f) => [...f.filter((l) => l.startsWith('#')), ...f.filter((l) => !l.startsWith('#')).sort(() => random() - 0.5)]);
    const thinned = families.map((f, i) => (i % 2 === 0 ? f : f.filter((l, j) => l.startsWith('#') || j % 7 !== 3)));
    // The same cgroups in the same order, one of them under another image in one family: another block.
    const relabelled = families.map((f) => (f[0]!.includes('container_memory_rss ') ? f.map((l) => (l.includes('pod="web-3"') ? l.replace(/image="[^"]*"/, 'image="other:2"') : l)) : f));
    for (const variant of [shuffled, thinned, relabelled]) {
      const text = variant.flat().join('\n');
      expect(text).not.toBe(body.toString('utf8'));
      const scanned = parseCadvisorMetrics(text, { source: 't', scrapeTimeMs: T });
      expect(scanned).toEqual(referenceParseCadvisor(text, T));
      // A container whose usage line was dropped is seen, not sampled.
      expect(scanned.containers.length + scanned.withoutUsage.length).toBe(80);
      expect(scanned.containers.length).toBeGreaterThan(60);
    }
  });

  it('names the line of a malformed value on a line read from its value on', () => {
    const lines = body.toString('utf8').split('\n');
    // The rss line of a container of pod web-5: its label block is the one of its line in the family before.
    const at = lines.findIndex((l) => l.startsWith('container_memory_rss{container="app"') && l.includes('pod="web-5"'));
    lines[at] = lines[at]!.replace(/} \S+/, '} 12x4');
    expect(() => parseCadvisorMetrics(lines.join('\n'), { source: 'node-1', scrapeTimeMs: T })).toThrow(new RegExp(`^node-1:${at + 1}: .*bad value "12x4"`));
  });

  it('names the source and the line of a malformed memory series', () => {
    const text = 'container_memory_usage_bytes{container="a",namespace="n",pod="p"} 1\ncontainer_memory_rss{container="a} 1\n';
    expect(() => parseCadvisorMetrics(text, { source: 'scrape.txt', scrapeTimeMs: 1 })).toThrow(/^scrape\.txt:2: .*unterminated value of label container/);
    expect(() => parseCadvisorMetrics('<html>', { source: 's', scrapeTimeMs: 1 })).toThrow(/bad metric name/);
    expect(() => parseCadvisorMetrics('container_memory_rss{container="a",namespace="n",pod="p"} twelve', { source: 's', scrapeTimeMs: 1 })).toThrow(/s:1: .*bad value "twelve"/);
  });
});
