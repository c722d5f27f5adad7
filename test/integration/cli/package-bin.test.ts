import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The installed package's entry (dist/cli/bin.js, built by `npm run build`) run by the machine's
 * system Node, as `memaudit` would be after `npm install -g`: on a Node older than 22.19 it must
 * stop with one line naming the Node it needs; on a new enough one it must work.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
let out: string;

beforeAll(() => {
  out = mkdtempSync(path.join(tmpdir(), 'memaudit-dist-'));
  execFileSync(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'], { cwd: ROOT });
  // The compiled files import their dependencies from the checkout's node_modules.
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(out, 'node_modules'));
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('stops with a clear message on an old Node, and runs on a new one', () => {
  const systemNode = spawnSync('sh', ['-c', 'PATH=/usr/local/bin:/usr/bin:/bin command -v node'], { encoding: 'utf8' }).stdout.trim();
  expect(systemNode).not.toBe('');
  const version = execFileSync(systemNode, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const r = spawnSync(systemNode, [path.join(out, 'cli/bin.js'), '--help'], { encoding: 'utf8' });
  if (major < 22 || (major === 22 && minor < 19)) {
    expect(r.status).toBe(69);
    expect(r.stderr).toContain(`needs Node.js 22.19 or newer (Node 24 recommended); this is Node ${version}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  } else {
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: memaudit <command>');
  }
  const ok = spawnSync(path.join(ROOT, 'node_modules/.bin/node'), [path.join(out, 'cli/bin.js'), '--help'], { encoding: 'utf8' });
  expect(ok.status).toBe(0);
  expect(ok.stdout).toContain('Usage: memaudit <command>');
});
