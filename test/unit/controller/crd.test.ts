import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CRD_PATHS, memoryAuditCrd, renderCrdYaml } from '../../../src/controller/api/crd.ts';
import { DURATION_PATTERN, growthReason, memoryAuditSpecSchema } from '../../../src/controller/api/v1alpha1.ts';
import { PPROF_PATH_PATTERN } from '../../../src/sampling/pod-pprof.ts';
import type { MemoryAuditSpec } from '../../../src/controller/api/v1alpha1.ts';
import { missingDescriptions } from '../../../src/controller/api/schema.ts';
import type { JsonSchemaProps } from '../../../src/controller/api/schema.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

type Crd = { spec: { versions: { schema: { openAPIV3Schema: JsonSchemaProps }; additionalPrinterColumns: { name: string; jsonPath: string }[]; subresources: unknown }[]; names: { shortNames: string[]; categories: string[] } } };
const crd = memoryAuditCrd() as Crd;
const version = crd.spec.versions[0]!;
const schema = version.schema.openAPIV3Schema;
const spec = schema.properties!.spec!;

describe('MemoryAudit CRD', () => {
  it.each(CRD_PATHS)('%s is up to date (regenerate with node_modules/.bin/node hack/gen-crd.ts)', async (rel) => {
    const onDisk = await readFile(path.join(root, rel), 'utf8');
    expect(onDisk).toBe(renderCrdYaml());
  });

  it('renders YAML that parses back to the same object', () => {
    expect(parse(renderCrdYaml())).toEqual(JSON.parse(JSON.stringify(memoryAuditCrd())));
  });

  it('describes every field (metadata excepted: the API server owns its schema)', () => {
    expect(missingDescriptions(schema)).toEqual(['.metadata']);
  });

  it('is structural: every node has a type, except metadata-free maps', () => {
    const untyped: string[] = [];
    const walk = (s: JsonSchemaProps, at: string): void => {
      if (!s.type) untyped.push(at);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${at}.${k}`);
      if (s.items) walk(s.items, `${at}[]`);
      if (s.additionalProperties) walk(s.additionalProperties, `${at}{}`);
      if (s.properties && s.additionalProperties) untyped.push(`${at} has both properties and additionalProperties`);
    };
    walk(schema, '');
    expect(untyped).toEqual([]);
  });

  it('has the status subresource, printer columns, short name and category', () => {
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns.map((c) => c.name)).toEqual(['Verdict', 'Source', 'Growth', 'Limit', 'Targets', 'Age']);
    expect(crd.spec.names.shortNames).toEqual(['ma']);
    expect(crd.spec.names.categories).toContain('memaudit');
  });

  it('defaults interval 30s, window 6h, minDuration 30m, action Observe, headroomPercent 20', () => {
    const p = spec.properties!;
    expect([p.interval!.default, p.window!.default, p.minDuration!.default, p.action!.default]).toEqual(['30s', '6h', '30m', 'Observe']);
    expect(p.recommend!.properties!.headroomPercent!.default).toBe(20);
    expect(p.recommend!.default).toEqual({});
    expect(p.action!.enum).toEqual(['Observe', 'Recommend', 'Patch']);
    expect(spec.required).toEqual(['selector']);
  });

  it('restricts pprof to a port and a /debug/pprof/ path, never a URL', () => {
    const pprof = spec.properties!.pprof!;
    expect(Object.keys(pprof.properties!)).toEqual(['port', 'path']);
    expect([pprof.properties!.port!.minimum, pprof.properties!.port!.maximum]).toEqual([1, 65535]);
    const re = new RegExp(PPROF_PATH_PATTERN);
    expect(['/debug/pprof/heap', '/debug/pprof/allocs'].every((p) => re.test(p))).toBe(true);
    for (const bad of ['http://evil/debug/pprof/heap', '/debug/pprof/../../secret', '/debug/pprof/heap?x=1', '/metrics', '/debug/pprof/', '//host/debug/pprof/heap']) {
      expect(re.test(bad)).toBe(false);
    }
  });

  it('accepts Go-style durations and nothing else', () => {
    const re = new RegExp(DURATION_PATTERN);
    for (const ok of ['30s', '6h', '1h30m', '500ms', '90m']) expect(re.test(ok)).toBe(true);
    for (const bad of ['', '30', '1.5h', '-1s', '5d', '30 s', 's']) expect(re.test(bad)).toBe(false);
  });

  it('types follow the schema (compile-time check)', () => {
    const s: MemoryAuditSpec = { selector: { matchLabels: { app: 'x' } }, pprof: { port: 6060 }, action: 'Patch' };
    // @ts-expect-error: action is an enum
    const bad: MemoryAuditSpec = { selector: {}, action: 'Delete' };
    expect(s.pprof?.port).toBe(6060);
    expect(bad).toBeDefined();
    expect(memoryAuditSpecSchema.json.type).toBe('object');
  });

  it('maps every verdict and leak source to a MemoryGrowth reason', () => {
    expect(growthReason('CacheGrowth', null)).toBe('PageCache');
    expect(growthReason('Leak', 'heap')).toBe('GoHeap');
    expect(growthReason('Leak', 'offHeap')).toBe('OffHeap');
    expect(growthReason('Leak', 'anon')).toBe('Anonymous');
    expect(growthReason('Leak', 'shmem')).toBe('SharedMemory');
    expect(growthReason('Leak', 'kernel')).toBe('KernelMemory');
    expect(growthReason('InsufficientData', null)).toBe('InsufficientData');
    expect(growthReason('Stable', null)).toBe('Stable');
  });
});
