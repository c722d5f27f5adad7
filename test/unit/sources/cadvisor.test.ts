import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isInputError } from '../../../src/errors.ts';
import { findContainerSample, parseCadvisorMetrics, parsePrometheusText } from '../../../src/sources/cadvisor.ts';
import { isNoData } from '../../../src/model/no-data.ts';

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
