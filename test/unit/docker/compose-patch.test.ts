import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { patchComposeLimits } from '../../../src/docker/compose-patch.ts';
import type { ComposeLimits } from '../../../src/docker/compose-patch.ts';
import { composeFileDiff } from '../../../src/docker/write-limit.ts';
import { isInputError } from '../../../src/errors.ts';

const MiB = 1024 * 1024;
const fixture = (name: string): string => readFileSync(path.join(import.meta.dirname, 'fixtures', name), 'utf8');
const LIMITS: ComposeLimits = { memLimitBytes: 48 * MiB, memReservationBytes: 40 * MiB, goMemLimitBytes: null };
const GO_LIMITS: ComposeLimits = { ...LIMITS, goMemLimitBytes: 43 * MiB };

/** The changed lines of a patch, as a unified diff without headers and hunk positions. */
function changedLines(before: string, after: string): string[] {
  return composeFileDiff(before, after, 'a', 'b')
    .split('\n')
    .filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l));
}

/** What `docker compose config` would see: the file with merge keys and aliases resolved. */
const effective = (text: string): Record<string, Record<string, unknown>> =>
  (parseDocument(text, { merge: true }).toJS({ maxAliasCount: -1 }) as { services: Record<string, Record<string, unknown>> }).services;

describe('patchComposeLimits on a real-looking stack (comments, anchors, both limit forms)', () => {
  const stack = fixture('web-stack.yaml');

  it('mem_limit form: replaces the two values in place, keeping quotes, unit case and comments', () => {
    const r = patchComposeLimits(stack, 'web', LIMITS, 'web-stack.yaml');
    expect(changedLines(stack, r.text)).toEqual([
      '-    mem_limit: "512M"  # generous: it only serves static files',
      '-    mem_reservation: 256m',
      '+    mem_limit: "48M"  # generous: it only serves static files',
      '+    mem_reservation: 40m',
    ]);
    expect(r.changes).toEqual([
      { key: 'mem_limit', from: '512M', to: '48M' },
      { key: 'mem_reservation', from: '256m', to: '40m' },
    ]);
  });

  it('deploy form: updates limits.memory and reservations.memory, leaves cpus, and GOMEMLIMIT in the list form', () => {
    const r = patchComposeLimits(stack, 'api', GO_LIMITS, 'web-stack.yaml');
    expect(changedLines(stack, r.text)).toEqual([
      '-      - GOMEMLIMIT=900MiB',
      '+      - GOMEMLIMIT=43MiB',
      '-          memory: 1G   # from the old VM',
      '+          memory: 48M   # from the old VM',
      '-          memory: 512M',
      '+          memory: 40M',
    ]);
    const api = effective(r.text).api!;
    expect(api.deploy).toEqual({ replicas: 2, resources: { limits: { cpus: '0.50', memory: '48M' }, reservations: { memory: '40M' } } });
    expect(api.mem_limit).toBeUndefined(); // the file uses the deploy form: no second form added
  });

  it('a limit inherited through <<: *common is overridden on the service; the anchor and its other users are untouched', () => {
    const r = patchComposeLimits(stack, 'worker', GO_LIMITS, 'web-stack.yaml');
    expect(changedLines(stack, r.text)).toEqual(['+      GOMEMLIMIT: 43MiB', '+    mem_limit: 48m', '+    mem_reservation: 40m']);
    expect(r.changes[0]).toEqual({ key: 'mem_limit', from: '256m', to: '48m', note: expect.stringMatching(/inherited through a YAML merge key/) });
    expect(r.text).toContain('  mem_limit: 256m # the default for small services');
    const before = effective(stack);
    const after = effective(r.text);
    expect(after.worker).toEqual({ ...before.worker, mem_limit: '48m', mem_reservation: '40m', environment: { QUEUE: 'orders', WORKERS: '4', GOMEMLIMIT: '43MiB' } });
    for (const s of ['web', 'api', 'db']) expect(after[s]).toEqual(before[s]);
  });

  it('neither form: adds mem_limit and mem_reservation as the last keys of the service, before the blank line', () => {
    const r = patchComposeLimits(stack, 'db', LIMITS, 'web-stack.yaml');
    expect(r.text).toContain('    shm_size: 256m\n    mem_limit: 48m\n    mem_reservation: 40m\n\nvolumes:\n');
    expect(changedLines(stack, r.text)).toHaveLength(2);
  });

  it('is idempotent: the patched file patched again is unchanged, with no changes reported', () => {
    const once = patchComposeLimits(stack, 'api', GO_LIMITS).text;
    expect(patchComposeLimits(once, 'api', GO_LIMITS)).toEqual({ text: once, changes: [] });
  });

  it('leaves GOMEMLIMIT and the reservation alone when not asked', () => {
    const r = patchComposeLimits(stack, 'api', { memLimitBytes: 48 * MiB, memReservationBytes: null, goMemLimitBytes: null });
    expect(changedLines(stack, r.text)).toEqual(['-          memory: 1G   # from the old VM', '+          memory: 48M   # from the old VM']);
  });

  it('never sets the reservation above the limit', () => {
    const r = patchComposeLimits(stack, 'web', { memLimitBytes: 48 * MiB, memReservationBytes: 64 * MiB, goMemLimitBytes: null });
    expect(effective(r.text).web!.mem_reservation).toBe('48m');
  });
});

describe('patchComposeLimits: anchors shared between services', () => {
  it('deploy: *deploy (4-space file): the service gets its own copy at the file indentation; the other keeps the alias', () => {
    const text = fixture('four-space.yaml');
    const r = patchComposeLimits(text, 'ingest', GO_LIMITS, 'four-space.yaml');
    expect(r.text).toBe(
      text
        .replace(
          '        deploy: *deploy\n        environment:\n            MODE: ingest\n',
          [
            '        deploy:',
            '            resources:',
            '                limits:',
            '                    cpus: "1"',
            '                    memory: 48m',
            '                reservations:',
            '                    memory: 40m',
            '            restart_policy:',
            '                condition: on-failure',
            '        environment:',
            '            MODE: ingest',
            '            GOMEMLIMIT: 43MiB',
            '',
          ].join('\n'),
        ),
    );
    expect(r.text).toContain('    export:\n        image: export:latest\n        deploy: *deploy\n');
    expect(r.changes[0]!.note).toMatch(/shared alias \*deploy/);
    expect(effective(r.text).export).toEqual(effective(text).export);
  });

  it('refuses when other services inherit the patched service itself (<<: *web), naming them', () => {
    const text = ['services:', '  web: &web', '    image: shop/web', '    mem_limit: 64m', '  web-canary:', '    <<: *web', '    image: shop/web:canary', ''].join('\n');
    let error: unknown;
    try {
      patchComposeLimits(text, 'web', LIMITS, 'compose.yaml');
    } catch (e) {
      error = e;
    }
    expect(isInputError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^compose\.yaml: .*web-canary.*by hand/);
  });

  it('replaces an aliased scalar (mem_limit: *small) in the service without touching its anchor', () => {
    const text = ['x-sizes:', '  small: &small 32m', 'services:', '  a:', '    image: a', '    mem_limit: *small', '  b:', '    image: b', '    mem_limit: *small', ''].join('\n');
    const r = patchComposeLimits(text, 'a', { ...LIMITS, memReservationBytes: null });
    expect(changedLines(text, r.text)).toEqual(['-    mem_limit: *small', '+    mem_limit: 48m']);
    expect(effective(r.text).b!.mem_limit).toBe('32m');
  });
});

describe('patchComposeLimits: other shapes', () => {
  it('flow-style service maps get flow-style entries', () => {
    const text = 'services:\n  db: {image: postgres, mem_limit: 1g}   # tiny\n  web: {image: nginx}\n';
    const r = patchComposeLimits(text, 'db', GO_LIMITS);
    expect(r.text).toBe('services:\n  db: {image: postgres, mem_limit: 48m, mem_reservation: 40m, environment: {GOMEMLIMIT: 43MiB}}   # tiny\n  web: {image: nginx}\n');
  });

  it('a file without a final newline; memswap_limit stays when it is not below the new limit', () => {
    const text = fixture('no-newline.yaml');
    const r = patchComposeLimits(text, 'cache', LIMITS);
    expect(r.text).toBe(text.replace('    mem_limit: 64m', '    mem_limit: 48m\n    mem_reservation: 40m\n'));
  });

  it('raises a memswap_limit below the new limit to it (else the container would not start)', () => {
    const text = 'services:\n  cache:\n    image: redis:7\n    mem_limit: 32m\n    memswap_limit: 32m\n';
    const r = patchComposeLimits(text, 'cache', { memLimitBytes: 96 * MiB, memReservationBytes: null, goMemLimitBytes: null });
    expect(effective(r.text).cache).toEqual({ image: 'redis:7', mem_limit: '96m', memswap_limit: '96m' });
  });

  it('keeps a byte count a byte count, and a Mi unit a Mi unit', () => {
    const text = 'services:\n  a:\n    image: a\n    mem_limit: 536870912\n    mem_reservation: 256Mi\n';
    const r = patchComposeLimits(text, 'a', LIMITS);
    expect(effective(r.text).a).toEqual({ image: 'a', mem_limit: 48 * MiB, mem_reservation: '40Mi' });
  });

  it('adds GOMEMLIMIT to an environment map, and creates the map when there is none', () => {
    const withEnv = 'services:\n  a:\n    image: a\n    environment:\n      LOG: debug\n';
    expect(patchComposeLimits(withEnv, 'a', GO_LIMITS).text).toBe('services:\n  a:\n    image: a\n    environment:\n      LOG: debug\n      GOMEMLIMIT: 43MiB\n    mem_limit: 48m\n    mem_reservation: 40m\n');
  });

  it('a deploy map without resources gets resources.limits.memory nested at the file indentation', () => {
    const text = 'services:\n  a:\n    image: a\n    deploy:\n      replicas: 3\n      resources:\n        limits:\n          memory: 1g\n  b:\n    image: b\n    deploy:\n      replicas: 2\n';
    const r = patchComposeLimits(text, 'a', LIMITS);
    expect(changedLines(text, r.text)).toEqual(['-          memory: 1g', '+          memory: 48m', '+        reservations:', '+          memory: 40m']);
  });

  it('names the file for an unknown service and for text that is not YAML', () => {
    expect(() => patchComposeLimits('services:\n  a: {image: a}\n', 'b', LIMITS, 'c.yaml')).toThrow(/^c\.yaml: service "b" is not in the file/);
    expect(() => patchComposeLimits('services: [\n', 'a', LIMITS, 'c.yaml')).toThrow(/^c\.yaml: not valid YAML/);
    expect(() => patchComposeLimits('just text\n', 'a', LIMITS, 'c.yaml')).toThrow(/^c\.yaml: not a Compose file/);
  });
});
