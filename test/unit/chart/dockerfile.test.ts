import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../../e2e/harness/tools.ts';

// What must hold of the image, read from the Dockerfile. The image itself is built by
// `npm run image` (hack/image.sh, on bases assembled here as the Dockerfile's build arguments) and
// run by a real kubelet in test/cluster/; test/e2e/helm.test.ts runs its file tree without Docker.

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** Dockerfile instructions, continuation lines joined, comments dropped; stage = index of its FROM. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const [keyword = '', ...rest] = pending.split(/\s+/);
    if (keyword.toUpperCase() === 'FROM') stage++;
    out.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), stage });
    pending = '';
  }
  return out;
}

/**
 * Whether the build context keeps `file` under .dockerignore's patterns, with Docker's rules as far
 * as the allowlist uses them: the last matching pattern wins, a pattern matching a parent directory
 * matches its files, `*` stays within one path segment, `!` re-includes.
 */
function inContext(patterns: string[], file: string): boolean {
  const toRegExp = (p: string) => new RegExp(`^${p.split('**').map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('.*')}$`);
  const parts = file.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let kept = true;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const re = toRegExp(path.posix.normalize(negated ? pattern.slice(1) : pattern).replace(/\/$/, ''));
    if (prefixes.some((p) => re.test(p))) kept = negated;
  }
  return kept;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(rel)));
    else out.push(rel);
  }
  return out;
}

describe('Dockerfile', () => {
  let steps: Instruction[];
  let ignore: string[];
  let pkg: { version: string; license: string; bin: Record<string, string>; scripts: Record<string, string> };
  beforeAll(async () => {
    steps = instructions(await readFile(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
    ignore = (await readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as typeof pkg;
  });
  const final = () => steps.filter((s) => s.stage === Math.max(...steps.map((x) => x.stage)));
  const build = () => steps.filter((s) => s.stage === 0);

  it('builds on the official Node 24 image and runs on a minimal Node 24 image by default, both replaceable by build arguments', () => {
    // Global ARGs (before the first FROM) are the only ones a FROM line can use.
    const globals = Object.fromEntries(steps.filter((s) => s.stage === -1 && s.keyword === 'ARG').map((s) => s.args.split('=') as [string, string]));
    const froms = steps.filter((s) => s.keyword === 'FROM').map((s) => s.args);
    expect(froms).toEqual(['${BUILD_IMAGE} AS build', '${RUNTIME_IMAGE}']);
    expect(globals.BUILD_IMAGE).toMatch(/^node:24(\.\d+)*(-slim)?(@sha256:[0-9a-f]{64})?$/);
    expect(globals.RUNTIME_IMAGE).toMatch(/^gcr\.io\/distroless\/nodejs24-debian1\d(:nonroot)?(@sha256:[0-9a-f]{64})?$/);
  });

  it('installs exactly the lockfile (npm ci, copied before it; never npm install)', () => {
    const runs = build().filter((s) => s.keyword === 'RUN').map((s) => s.args);
    expect(steps.filter((s) => s.keyword === 'RUN').some((s) => /\bnpm\s+(install|i|add)\b/.test(s.args))).toBe(false);
    const ci = build().findIndex((s) => s.keyword === 'RUN' && /^npm ci\b/.test(s.args));
    const lock = build().findIndex((s) => s.keyword === 'COPY' && /\bpackage-lock\.json\b/.test(s.args));
    expect(lock).toBeGreaterThanOrEqual(0);
    expect(ci).toBeGreaterThan(lock);
    expect(runs.indexOf('npm run build')).toBeGreaterThan(runs.findIndex((r) => r.startsWith('npm ci')));
    expect(runs.findIndex((r) => /^npm prune --omit=dev\b/.test(r))).toBeGreaterThan(runs.indexOf('npm run build'));
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
  });

  it('copies the built tree, production dependencies and package.json (type: module) into the runtime', () => {
    const copies = final().filter((s) => s.keyword === 'COPY' && s.args.startsWith('--from=build ')).map((s) => s.args.replace('--from=build ', '').split(/\s+/)[0]);
    expect(copies.sort()).toEqual(['/app/dist', '/app/node_modules', '/app/package.json']);
    expect(final().some((s) => s.keyword === 'WORKDIR' && s.args === '/app')).toBe(true);
  });

  it('runs as a numeric non-root user', () => {
    const users = final().filter((s) => s.keyword === 'USER').map((s) => s.args);
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    // Nothing after USER runs as root again.
    const userAt = final().findIndex((s) => s.keyword === 'USER');
    expect(final().slice(userAt).filter((s) => s.keyword === 'RUN')).toEqual([]);
  });

  it('enters at the package bin, `controller` being the default command', () => {
    const entrypoint = JSON.parse(final().find((s) => s.keyword === 'ENTRYPOINT')!.args) as string[];
    expect(entrypoint).toEqual(['/nodejs/bin/node', `/app/${pkg.bin.memaudit}`]);
    expect(pkg.bin.memaudit).toBe('dist/cli/bin.js');
    expect(JSON.parse(final().find((s) => s.keyword === 'CMD')!.args)).toEqual(['controller']);
  });

  it('carries OCI labels that agree with package.json', () => {
    const labels = final().filter((s) => s.keyword === 'LABEL').map((s) => s.args).join(' ');
    const args = Object.fromEntries(final().filter((s) => s.keyword === 'ARG').map((s) => s.args.split('=') as [string, string]));
    expect(args.VERSION).toBe(pkg.version);
    expect(labels).toMatch(/org\.opencontainers\.image\.title="memaudit"/);
    expect(labels).toMatch(/org\.opencontainers\.image\.version="\$\{VERSION\}"/);
    expect(labels).toContain(`org.opencontainers.image.licenses="${pkg.license}"`);
  });

  it('finds every COPY source in the build context that .dockerignore leaves', async () => {
    const sources = steps.filter((s) => s.keyword === 'COPY' && !s.args.startsWith('--from=')).flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      const info = await stat(path.join(REPO_ROOT, source));
      const files = info.isDirectory() ? await filesUnder(source) : [source];
      expect(files.filter((f) => !inContext(ignore, f))).toEqual([]);
    }
  });

  it('keeps the host build outputs and dependencies out of the build context', () => {
    for (const f of ['node_modules/yaml/package.json', 'dist/cli/bin.js', '.git/HEAD', 'test/unit/chart/dockerfile.test.ts', '.npmrc', 'charts/memaudit/Chart.yaml']) expect([f, inContext(ignore, f)]).toEqual([f, false]);
  });
});
