import { readFileSync } from 'node:fs';
import path from 'node:path';
import { audit } from '../../../src/analysis/audit.ts';
import { renderHtml } from '../../../src/report/html.ts';
import { parseCgroupRecording } from '../../../src/sources/cgroup-recording.ts';

const trace = (name: string) => {
  const file = path.resolve(import.meta.dirname, '../../fixtures/traces', name, 'trace.jsonl');
  return parseCgroupRecording(readFileSync(file, 'utf8'), file).samples;
};

describe('the HTML report (analyze -o html)', () => {
  it('is one self-contained page: verdict, explanation, a chart line per component with data, the limit, the limits to set', () => {
    const samples = trace('pagecache-limit');
    const html = renderHtml(audit(samples), samples, { kind: 'file', name: 'pagecache-limit' });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<title>memaudit: file pagecache-limit: CacheGrowth</title>');
    expect(html).toMatch(/<p>Not a leak: usage sits at the 64\.0 MiB limit/);
    // usage, non-reclaimable, reclaimable cache, Go heap, kernel; no shmem line (it is 0 throughout)
    expect([...html.matchAll(/<polyline data-component="(\w+)"/g)].map((m) => m[1])).toEqual(['usage', 'nonReclaimable', 'reclaimableFile', 'goHeap', 'kernel']);
    expect(html).toContain('limit 64.0 MiB</text>');
    expect(html).toMatch(/Kubernetes: <code>resources\.limits\.memory: \d+Mi<\/code>/);
    // Nothing fetched, nothing run.
    expect(html).not.toMatch(/<script|<link|src=|href=/);
  });

  it('draws at most 900 points a line, whatever the window', () => {
    const base = trace('idle');
    const many = Array.from({ length: 20 }, (_, k) => base.map((s) => ({ ...s, timestampMs: s.timestampMs + k * 1_000_000 }))).flat();
    const html = renderHtml(audit(many), many);
    const points = /<polyline data-component="usage"[^>]* points="([^"]*)"/.exec(html)![1]!.split(' ');
    expect(many.length).toBeGreaterThan(1800);
    expect(points.length).toBeLessThanOrEqual(901);
  });

  it('escapes what comes from the data', () => {
    const samples = trace('idle');
    const r = audit(samples);
    const html = renderHtml({ ...r, evidence: ['<img src=x onerror=alert(1)> & "quotes"'] }, samples, { kind: 'file', name: '<b>evil</b>.jsonl' });
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;');
    expect(html).toContain('file &lt;b&gt;evil&lt;/b&gt;.jsonl');
    expect(html).not.toContain('<img');
  });
});
