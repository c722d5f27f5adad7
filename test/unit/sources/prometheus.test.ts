import path from 'node:path';
import { expectInputError } from '../../helpers/errors.ts';
import { parsePrometheusResponsesText, readPrometheusResponsesFile, samplesFromPrometheusResponses } from '../../../src/sources/prometheus.ts';

const DIR = path.join(import.meta.dirname, '../../fixtures/prometheus');

/** The label set a kube-prometheus kubelet/cAdvisor scrape carries. */
const labels = (name: string, container: string, pod = 'n3-7d9f8-abcde') => ({
  __name__: name,
  container,
  endpoint: 'https-metrics',
  id: `/kubepods.slice/kubepods-burstable.slice/pod1/${container}`,
  image: 'registry.local/n3:1.4',
  instance: '10.2.0.50:10250',
  job: 'kubelet',
  metrics_path: '/metrics/cadvisor',
  name: `cri-${container}`,
  namespace: 'shop',
  node: 'node2',
  pod,
  service: 'kubelet',
});
const matrix = (...result: unknown[]) => ({ status: 'success', data: { resultType: 'matrix', result } });
const series = (name: string, container: string, values: [number, string][]) => ({ metric: labels(name, container), values });

const T0 = 1_700_000_000; // unix seconds
const at = (i: number) => T0 + 30 * i;

describe('the documented query_range shape (real fixtures)', () => {
  it('reads the Prometheus docs example and ignores its non-cAdvisor series', async () => {
    const r = await readPrometheusResponsesFile(path.join(DIR, 'query_range-docs-example.json'));
    expect(r.containers).toEqual([]);
    expect(r.warnings).toEqual([expect.stringMatching(/ignored series of up \(not a cAdvisor memory metric\)$/)]);
  });

  it('reads a real cAdvisor response captured from GKE (integer timestamps), ignoring the CPU series', async () => {
    const r = await readPrometheusResponsesFile(path.join(DIR, 'query_range-cadvisor-gke.json'));
    expect(r.containers).toEqual([]);
    expect(r.warnings).toEqual([expect.stringMatching(/ignored series of container_cpu_usage_seconds_total/)]);
  });
});

describe('joining one response per metric into samples', () => {
  const usage = matrix(series('container_memory_usage_bytes', 'app', [[at(0), '104857600'], [at(1), '110100480'], [at(2), '115343360']]), series('container_memory_usage_bytes', 'POD', [[at(0), '425984']]));
  const ws = matrix(series('container_memory_working_set_bytes', 'app', [[at(0), '52428800'], [at(1), '52428800'], [at(2), '52428800']]));
  const cache = matrix(series('container_memory_cache', 'app', [[at(0), '62914560'], [at(2), '73400320']]));
  const inactive = matrix(series('container_memory_total_inactive_file_bytes', 'app', [[at(0), '52428800'], [at(1), '57671680'], [at(2), '62914560']]));
  const limit = matrix(series('container_spec_memory_limit_bytes', 'app', [[at(0), '268435456'], [at(1), '268435456'], [at(2), '268435456']]));

  it('joins by (namespace, pod, container) and time, skipping the pause container', () => {
    const r = samplesFromPrometheusResponses([usage, ws, cache, inactive, limit], 'prom');
    expect(r.warnings).toEqual([]);
    expect(r.containers).toHaveLength(1);
    expect(r.containers[0]!.key).toEqual({ namespace: 'shop', pod: 'n3-7d9f8-abcde', container: 'app' });
    const instance = '/kubepods.slice/kubepods-burstable.slice/pod1/app'; // the usage series' cgroup id
    expect(r.containers[0]!.samples).toEqual([
      { timestampMs: at(0) * 1000, usageBytes: 104857600, workingSetBytes: 52428800, fileBytes: 62914560, inactiveFileBytes: 52428800, limitBytes: 268435456, instance },
      { timestampMs: at(1) * 1000, usageBytes: 110100480, workingSetBytes: 52428800, inactiveFileBytes: 57671680, limitBytes: 268435456, instance },
      { timestampMs: at(2) * 1000, usageBytes: 115343360, workingSetBytes: 52428800, fileBytes: 73400320, inactiveFileBytes: 62914560, limitBytes: 268435456, instance },
    ]);
  });

  it('accepts the same responses as a JSON array or as JSON lines', () => {
    const asArray = parsePrometheusResponsesText(JSON.stringify([usage, limit]), 'a.json');
    const asLines = parsePrometheusResponsesText(`${JSON.stringify(usage)}\n\n${JSON.stringify(limit)}\n`, 'l.jsonl');
    expect(asLines.containers).toEqual(asArray.containers);
    expect(asArray.containers[0]!.samples).toHaveLength(3);
  });

  it('treats a 0 limit as unlimited, drops points without usage, and keeps the first of conflicting duplicates', () => {
    const zeroLimit = matrix(series('container_spec_memory_limit_bytes', 'app', [[at(0), '0']]));
    const lonely = matrix(series('container_memory_rss', 'app', [[at(5), '1000']]));
    const dup = matrix(series('container_memory_usage_bytes', 'app', [[at(0), '999']]));
    const r = samplesFromPrometheusResponses([usage, zeroLimit, lonely, dup], 'prom');
    expect(r.containers[0]!.samples[0]).toEqual({ timestampMs: at(0) * 1000, usageBytes: 104857600, instance: '/kubepods.slice/kubepods-burstable.slice/pod1/app' });
    expect(r.containers[0]!.samples).toHaveLength(3);
    expect(r.warnings).toEqual([
      'prom: 1 point(s) had two different values for the same container, metric and time (duplicate scrape jobs?); the first was kept',
      'prom: 1 point(s) without container_memory_usage_bytes at that time were dropped',
    ]);
  });
});

describe('Prometheus responses that cannot be used', () => {
  const expectInput = expectInputError;

  it('reports status "error" with its errorType and error', () => {
    const err = { status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:11: parse error: unexpected "}"' };
    expectInput(() => parsePrometheusResponsesText(JSON.stringify(err), 'q.json'), /^q\.json: response\[0\]: Prometheus answered status "error" \(bad_data: invalid parameter "query"/);
    expectInput(() => parsePrometheusResponsesText(`${JSON.stringify(matrix())}\n${JSON.stringify(err)}\n`, 'q.jsonl'), /^q\.jsonl:2: response: Prometheus answered status "error"/);
  });

  it('rejects an instant query (vector) and a scalar, pointing at query_range', () => {
    const vector = { status: 'success', data: { resultType: 'vector', result: [{ metric: labels('container_memory_usage_bytes', 'app'), value: [T0, '1'] }] } };
    expectInput(() => samplesFromPrometheusResponses([vector], 'v'), /^v: response\[0\]: resultType is "vector", expected "matrix": use \/api\/v1\/query_range/);
    expectInput(() => samplesFromPrometheusResponses([{ status: 'success', data: { resultType: 'scalar', result: [T0, '1'] } }], 's'), /resultType is "scalar"/);
  });

  it('rejects series without __name__ (an aggregation) and malformed values', () => {
    const agg = matrix({ metric: { namespace: 'shop', pod: 'p', container: 'app' }, values: [[T0, '1']] });
    expectInput(() => samplesFromPrometheusResponses([agg], 'a'), /no __name__ label; query the raw metric/);
    const bad = matrix({ metric: labels('container_memory_usage_bytes', 'app'), values: [[T0, 1]] });
    expectInput(() => samplesFromPrometheusResponses([bad], 'b'), /values\[0\]: expected \[unix seconds, "value"\]/);
  });

  it('rejects empty and non-JSON input naming the line', () => {
    expectInput(() => parsePrometheusResponsesText(' \n', 'e.json'), /^e\.json: empty file/);
    expectInput(() => parsePrometheusResponsesText(`${JSON.stringify(matrix())}\n<html>oops</html>\n`, 'h.jsonl'), /^h\.jsonl:2: not JSON/);
  });
});

describe('series without Kubernetes labels', () => {
  const point = (name: string, metric: Record<string, string>, values: [number, string][]) => matrix({ metric: { __name__: name, ...metric }, values });

  it('standalone cAdvisor next to Docker: joined by the container name, a restart seen in the cgroup id', () => {
    const web = { name: 'web', image: 'web:1', instance: 'cadvisor:8080', job: 'cadvisor' };
    const r = samplesFromPrometheusResponses(
      [
        point('container_memory_usage_bytes', { ...web, id: '/docker/aaa' }, [[at(0), '100'], [at(1), '200']]),
        point('container_memory_usage_bytes', { ...web, id: '/docker/bbb' }, [[at(2), '50']]),
        point('container_memory_cache', { ...web, id: '/docker/aaa' }, [[at(0), '10']]),
        point('container_memory_usage_bytes', { id: '/', instance: 'cadvisor:8080', job: 'cadvisor' }, [[at(0), '9999']]),
      ],
      'prom',
    );
    expect(r.containers.map((c) => c.key)).toEqual([{ namespace: '', pod: '', container: 'web' }]);
    expect(r.containers[0]!.samples).toEqual([
      { timestampMs: at(0) * 1000, usageBytes: 100, fileBytes: 10, instance: '/docker/aaa' },
      { timestampMs: at(1) * 1000, usageBytes: 200, instance: '/docker/aaa' },
      { timestampMs: at(2) * 1000, usageBytes: 50, instance: '/docker/bbb' },
    ]);
  });

  it('a query whose series carry no container labels at all joins into one unnamed container', () => {
    const r = samplesFromPrometheusResponses(
      [point('container_memory_usage_bytes', { job: 'x' }, [[at(0), '100']]), point('container_memory_rss', { job: 'x' }, [[at(0), '60']])],
      'prom',
    );
    expect(r.containers).toEqual([{ key: { namespace: '', pod: '', container: '' }, samples: [{ timestampMs: at(0) * 1000, usageBytes: 100, anonBytes: 60 }] }]);
  });
});
