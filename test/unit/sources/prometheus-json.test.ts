import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MatrixStream, parseLabelValuesResponse, parseQueryResponse, parseSeriesResponse } from '../../../src/sources/prometheus-json.ts';
import { expectInputError } from '../../helpers/errors.ts';

const DIR = path.join(import.meta.dirname, '../../fixtures/prometheus');
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('query_range responses read from the bytes', () => {
  it('reads the Prometheus documentation example (pretty-printed, two series)', () => {
    const r = parseQueryResponse(readFileSync(path.join(DIR, 'query_range-docs-example.json')), 'docs');
    if (r.status !== 'success') throw new Error('expected success');
    expect(r.data.resultType).toBe('matrix');
    expect(r.data.series).toHaveLength(2);
    expect(r.data.series[0]!.labels).toEqual({ __name__: 'up', job: 'prometheus', instance: 'localhost:9090' });
    expect([...r.data.series[0]!.timestampsMs]).toEqual([1435781430781, 1435781445781, 1435781460781]);
    expect([...r.data.series[1]!.values]).toEqual([0, 0, 1]);
  });

  it('reads a real GKE capture (integer timestamps, decimal values)', () => {
    const r = parseQueryResponse(readFileSync(path.join(DIR, 'query_range-cadvisor-gke.json')), 'gke');
    if (r.status !== 'success') throw new Error('expected success');
    expect(r.data.series[0]!.timestampsMs[0]).toBe(1575509040000);
    expect(r.data.series[0]!.values[0]).toBeCloseTo(80.471532291, 9);
  });

  it('takes any key order, whitespace, escapes, exponents, NaN and infinities, and the warnings', () => {
    const text = `{ "warnings": ["partial response: store 1 down"], "data" : { "result" : [ { "values" : [ [ 1700000000.5 , "1.5e+09" ] , [1700000060,"NaN"],[1700000120,"+Inf"],[1700000180,"-Inf"],[1700000240,"0.25"],[1700000300,"123456789012345678"] ] , "metric" : { "pod" : "a\\"b\\u00e9" } } ] , "resultType" : "matrix" } , "status" : "success" }`;
    const r = parseQueryResponse(bytes(text), 't');
    if (r.status !== 'success') throw new Error('expected success');
    expect(r.warnings).toEqual(['partial response: store 1 down']);
    const s = r.data.series[0]!;
    expect(s.labels).toEqual({ pod: 'a"bé' });
    expect([...s.timestampsMs]).toEqual([1700000000500, 1700000060000, 1700000120000, 1700000180000, 1700000240000, 1700000300000]);
    expect([...s.values]).toEqual([1.5e9, NaN, Infinity, -Infinity, 0.25, Number("123456789012345678")]);
  });

  it('keeps sub-second timestamps to the millisecond', () => {
    const r = parseQueryResponse(bytes({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[1700000000.123, '1'], [1700000000.1235, '2'], [1700000000.9999, '3']] }] } }), 't');
    if (r.status !== 'success') throw new Error('expected success');
    expect([...r.data.series[0]!.timestampsMs]).toEqual([1700000000123, 1700000000124, 1700000001000]);
  });

  it('grows past its first buffer (thousands of points)', () => {
    const values = Array.from({ length: 5000 }, (_, i) => [1700000000 + i * 60, String(i * 1024)]);
    const r = parseQueryResponse(bytes({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { a: 'b' }, values }] } }), 't');
    if (r.status !== 'success') throw new Error('expected success');
    expect(r.data.series[0]!.values.length).toBe(5000);
    expect(r.data.series[0]!.values[4999]).toBe(4999 * 1024);
    expect(r.data.series[0]!.timestampsMs[4999]).toBe((1700000000 + 4999 * 60) * 1000);
  });

  it('returns an API error as such, and another result type as it is named', () => {
    const e = parseQueryResponse(bytes({ status: 'error', errorType: 'bad_data', error: 'parse error at char 5' }), 't');
    expect(e).toEqual({ status: 'error', errorType: 'bad_data', error: 'parse error at char 5', warnings: [] });
    const v = parseQueryResponse(bytes({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '2'] }] } }), 't');
    expect(v).toEqual({ status: 'success', data: { resultType: 'vector', series: [] }, warnings: [] });
    const sc = parseQueryResponse(bytes({ status: 'success', data: { resultType: 'scalar', result: [1, '2'] } }), 't');
    expect(sc).toMatchObject({ data: { resultType: 'scalar', series: [] } });
  });

  it('refuses what the API never writes, naming where', () => {
    const m = (v: unknown) => bytes({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[1, v]] }] } });
    expectInputError(() => parseQueryResponse(m('0x10'), 'src'), /^src: .*sample value "0x10" is not a decimal number/);
    expectInputError(() => parseQueryResponse(m(''), 'src'), /sample value "" is not a decimal number/);
    expectInputError(() => parseQueryResponse(m(5), 'src'), /expected a sample value in quotes/);
    expectInputError(() => parseQueryResponse(bytes('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":1},"values":[]}]}}'), 'src'), /label a must be a string/);
    expectInputError(() => parseQueryResponse(bytes('<html>502 Bad Gateway</html>'), 'src'), /expected a JSON object at byte 0/);
    expectInputError(() => parseQueryResponse(bytes('{"status":"success","data":{"resultType":"matrix","result":[]}} x'), 'src'), /trailing data/);
    expectInputError(() => parseQueryResponse(bytes('{"status":"success","data":{"resultType":"matrix"}}'), 'src'), /no "data.result"/);
    expectInputError(() => parseQueryResponse(bytes('{"status":"ok","data":{"result":[]}}'), 'src'), /"status" is "ok"/);
    expectInputError(() => parseQueryResponse(bytes('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"'), 'src'), /expected \] after a \[time, "value"\] pair/);
  });
});

describe('series and label values responses', () => {
  it('reads the label sets and the values', () => {
    const s = parseSeriesResponse(bytes({ status: 'success', data: [{ __name__: 'x', pod: 'p' }] }), 't');
    expect(s).toEqual({ status: 'success', data: [{ __name__: 'x', pod: 'p' }], warnings: [] });
    const l = parseLabelValuesResponse(bytes({ status: 'success', data: ['a', 'b'], warnings: ['w'] }), 't');
    expect(l).toEqual({ status: 'success', data: ['a', 'b'], warnings: ['w'] });
    expectInputError(() => parseSeriesResponse(bytes({ status: 'success', data: [1] }), 't'), /must be an array of label objects/);
    expectInputError(() => parseLabelValuesResponse(bytes({ status: 'success', data: [1] }), 't'), /must be an array of strings/);
  });
});

describe('query_range responses read as they arrive (MatrixStream)', () => {
  const body = (result: unknown[], extra: Record<string, unknown> = {}, first: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({ status: 'success', ...first, data: { resultType: 'matrix', result }, ...extra }));
  const values = (n: number, k: number) => Array.from({ length: n }, (_, i) => [1700000000 + 60 * i, String(k * 1000 + i)]);
  const stream = (b: Buffer, cut: number, points = 4) => {
    const s = new MatrixStream('t', points);
    for (let i = 0; i < b.length; i += cut) s.push(b.subarray(i, i + cut));
    return s.end();
  };

  it('gives what the whole-body reader gives, however the bytes are cut', () => {
    const b = body([{ metric: { pod: 'a' }, values: values(5, 1) }, { metric: { pod: 'b]]}c' }, values: values(3, 2) }, { metric: { pod: 'd' }, values: [] }], { warnings: ['partial'] });
    const whole = parseQueryResponse(b, 't');
    for (const cut of [1, 2, 3, 7, 64, 100_000]) expect(stream(b, cut)).toEqual(whole);
    expect(whole).toMatchObject({ status: 'success', warnings: ['partial'], data: { resultType: 'matrix' } });
    if (whole.status !== 'success') throw new Error('expected success');
    expect(whole.data.series.map((s) => [s.labels.pod, s.values.length])).toEqual([
      ['a', 5],
      ['b]]}c', 3],
      ['d', 0],
    ]);
  });

  it('reads VictoriaMetrics\' isPartial, an empty result, and falls back to the whole body for another key order or an error', () => {
    expect(stream(body([{ metric: {}, values: values(2, 1) }], {}, { isPartial: false }), 5)).toMatchObject({ status: 'success', data: { series: [{ labels: {} }] } });
    expect(stream(body([]), 3)).toEqual({ status: 'success', data: { resultType: 'matrix', series: [] }, warnings: [] });
    const reordered = Buffer.from(JSON.stringify({ data: { result: [{ metric: { a: 'b' }, values: values(2, 1) }], resultType: 'matrix' }, status: 'success' }));
    expect(stream(reordered, 4)).toEqual(parseQueryResponse(reordered, 't'));
    expect(stream(Buffer.from('{"status":"error","errorType":"timeout","error":"query timed out"}'), 4)).toMatchObject({ status: 'error', errorType: 'timeout' });
  });

  it('says where a cut-off or bad response is wrong', () => {
    const b = body([{ metric: {}, values: values(3, 1) }]);
    expectInputError(() => stream(b.subarray(0, b.length - 25), 8), /a series of data.result is cut off|ends inside data.result/);
    expectInputError(() => stream(Buffer.from(b.toString().replace('"1001"', '"0x10"')), 8), /sample value "0x10" is not a decimal number/);
  });
});

it('MatrixStream reads a pretty-printed response whole (the documentation example)', () => {
  const b = readFileSync(path.join(DIR, 'query_range-docs-example.json'));
  const s = new MatrixStream('docs');
  for (let i = 0; i < b.length; i += 10) s.push(b.subarray(i, i + 10));
  expect(s.end()).toEqual(parseQueryResponse(b, 'docs'));
});
