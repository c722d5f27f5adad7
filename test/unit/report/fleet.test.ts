import { audit } from '../../../src/analysis/audit.ts';
import type { MemorySample } from '../../../src/model/sample.ts';
import { renderFleetHtml } from '../../../src/report/fleet-html.ts';
import { fleetDocument, limitFit, progressLine, quantity, renderFleetCsv, renderFleetTable, urgencyOrder, type FleetRow, type FleetSummary } from '../../../src/report/fleet.ts';

const MiB = 2 ** 20;
const T0 = 1_795_000_000_000;

/** Two hours at 1 m: anon grows by `anonPerMin`, a constant cache beside it. */
function samples(anonStart: number, anonPerMin: number, limit: number | undefined): MemorySample[] {
  return Array.from({ length: 121 }, (_, i) => {
    const anon = anonStart + anonPerMin * i + ((i * 7919) % 13) * 0.01 * MiB;
    const file = 20 * MiB;
    return { timestampMs: T0 + i * 60_000, usageBytes: anon + file, workingSetBytes: anon + 5 * MiB, anonBytes: anon, fileBytes: file, ...(limit ? { limitBytes: limit } : {}) };
  });
}

function row(pod: string, s: MemorySample[] | null, limitBytes: number | null, extra: Partial<FleetRow> = {}): FleetRow {
  return { namespace: 'shop', pod, container: 'app', result: s ? audit(s, [], { minDurationSeconds: 1800 }) : null, error: s ? null : 'query_range: HTTP 503', notes: [], limitBytes, requestBytes: null, restarts: 0, ...extra };
}

const summary: FleetSummary = { source: 'http://prom:9090', startMs: T0, endMs: T0 + 7_200_000, stepSeconds: 60, queries: 13, warnings: ['no series of kube_pod_container_resource_requests in any batch (is kube-state-metrics scraped?)'] };

const rows = [
  row('stable-ok', samples(100 * MiB, 0, 160 * MiB), 160 * MiB),
  row('unread', null, null),
  row('leak-far', samples(50 * MiB, 0.5 * MiB, 1024 * MiB), 1024 * MiB),
  row('young', samples(50 * MiB, 0, 1024 * MiB).slice(0, 20), 1024 * MiB),
  row('oversized', samples(100 * MiB, 0, 2048 * MiB), 2048 * MiB),
  row('leak-soon', samples(50 * MiB, 2 * MiB, 512 * MiB), 512 * MiB),
  row('too-low', samples(300 * MiB, 0, 290 * MiB), 290 * MiB),
  row('leak-nolimit', samples(50 * MiB, 1 * MiB, undefined), null),
];

describe('the fleet, most urgent first', () => {
  it('orders leaks by time to OOM, then limits far from the recommendation, then the rest, then what could not be read', () => {
    const order = urgencyOrder(rows).map((r) => r.pod);
    expect(order).toEqual(['leak-soon', 'leak-far', 'leak-nolimit', 'too-low', 'oversized', 'stable-ok', 'young', 'unread']);
    const byPod = new Map(rows.map((r) => [r.pod, r]));
    expect(byPod.get('leak-soon')!.result!.timeToLimitSeconds!).toBeLessThan(byPod.get('leak-far')!.result!.timeToLimitSeconds!);
    expect(limitFit(byPod.get('too-low')!)).toBe('below');
    expect(limitFit(byPod.get('oversized')!)).toBe('above');
    expect(limitFit(byPod.get('stable-ok')!)).toBe('close');
    expect(limitFit(byPod.get('leak-soon')!)).toBe('unknown');
  });

  it('prints a table: the summary, then current and recommended limit side by side', () => {
    const text = renderFleetTable(rows, summary);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^memaudit scan: 8 containers from http:\/\/prom:9090, .* at 60s \(13 queries\): 3 leaking, 2 with a limit far from the recommendation, 0 without a limit, 1 not read$/);
    expect(lines[1]).toMatch(/^warning: no series of kube_pod_container_resource_requests/);
    expect(lines[3]).toMatch(/^VERDICT\s+TIME TO OOM\s+NAMESPACE\/POD\/CONTAINER\s+LIMIT\s+RECOMMENDED\s+FIT\s+REQUEST\s+REC\. REQUEST\s+GROWTH\s+RESTARTS\s+NOTE$/);
    expect(lines[4]).toMatch(/^Leak\/anon\s+\d+m\s+shop\/leak-soon\/app\s+512Mi\s+fix leak\s+-\s+-\s+\+\d/);
    expect(lines.find((l) => l.includes('too-low'))).toMatch(/290Mi\s+\d+Mi\s+too low/);
    expect(lines.find((l) => l.includes('oversized'))).toMatch(/2Gi\s+\d+Mi\s+too high/);
    expect(lines.at(-1)).toMatch(/^Error\s+-\s+shop\/unread\/app\s+none.*query_range: HTTP 503$/);
  });

  it('writes CSV with raw numbers, quoting what needs it', () => {
    const csv = renderFleetCsv([row('a,b', samples(100 * MiB, 0, 160 * MiB), 160 * MiB, { notes: ['say "hi"'] })]);
    const [header, line] = csv.trimEnd().split('\n');
    expect(header).toBe('namespace,pod,container,verdict,leak_source,time_to_limit_seconds,limit_bytes,recommended_limit_bytes,limit_fit,request_bytes,recommended_request_bytes,growth_bytes_per_hour,restarts,samples,error,note');
    expect(line).toMatch(/^shop,"a,b",app,Stable,,,167772160,\d+,close,,\d+,-?\d+,0,121,,"say ""hi"""$/);
  });

  it('writes the JSON document: the scan, then analyze\'s result per container', () => {
    const doc = fleetDocument(rows, summary) as { scan: Record<string, unknown>; containers: Record<string, unknown>[] };
    expect(doc.scan).toMatchObject({ source: 'http://prom:9090', stepSeconds: 60, queries: 13, containers: 8 });
    expect(doc.containers[0]).toMatchObject({ namespace: 'shop', pod: 'leak-soon', container: 'app', verdict: 'Leak', leakSource: 'anon', limitBytes: 512 * MiB, limitFit: 'unknown' });
    expect(doc.containers.at(-1)).toMatchObject({ pod: 'unread', verdict: null, error: 'query_range: HTTP 503' });
  });

  it('writes one self-contained HTML page: a chart per container, no script, nothing fetched', () => {
    const withCharts = rows.map((r) => (r.result ? { ...r, chart: { timestampsMs: Float64Array.from([T0, T0 + 60_000, T0 + 120_000]), usageBytes: Float64Array.from([1, 2, 3].map((x) => x * MiB)), nonReclaimableBytes: Float64Array.from([1, NaN, 2].map((x) => x * MiB)) } } : r));
    const html = renderFleetHtml([...withCharts, row('<b>x</b>', null, null)], summary);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|url\(|https?:\/\/(?!prom:9090)/);
    expect(html.match(/<svg /g)).toHaveLength(7);
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).not.toContain('<b>x</b>');
  });

  it('spells sizes as a manifest does, and draws progress', () => {
    expect([quantity(null), quantity(300 * 1024), quantity(96 * MiB), quantity(1.5 * 1024 * MiB)]).toEqual(['-', '300Ki', '96Mi', '1.5Gi']);
    expect(progressLine(1, 4, 10, 13, 8)).toBe('memaudit scan [##......] 1/4 batches, 10 containers, 13 queries');
  });
});
