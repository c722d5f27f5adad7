import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { COMMANDS } from '../../../src/cli/registry.ts';

/**
 * What every command does the same way, through the real ./bin/memaudit: usage to stderr, one-line
 * usage errors pointing at the command's --help, -V/--version and `memaudit version`, verdict names
 * in any case, empty and repeated values refused, sizes read as each flag documents (docs/cli.md,
 * "Conventions" and "Sizes"). The commands are taken from the registry, so a new one is held to
 * the same conventions.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const BIN = path.join(ROOT, 'bin/memaudit');
const FIX = path.join(ROOT, 'test/fixtures');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const LEAK = path.join(FIX, 'docker-stats/heap-leak.jsonl');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function memaudit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(BIN, args, { cwd: ROOT, maxBuffer: 16 << 20, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** One line on stderr, nothing on stdout, exit 2. */
function usageError(r: Run, command: string | null, message: RegExp): void {
  const where = command === null ? 'memaudit' : `memaudit ${command}`;
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
  expect(r.stderr.split('\n')).toEqual([expect.stringMatching(new RegExp(`^${where}: .+; see '${where} --help'$`)), '']);
  expect(r.stderr).toMatch(message);
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'memaudit-conventions-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the top level', () => {
  it('bare memaudit prints the usage to stderr with exit 2; --help and help print it to stdout with exit 0', async () => {
    const bare = await memaudit([]);
    expect({ code: bare.code, stdout: bare.stdout }).toEqual({ code: 2, stdout: '' });
    expect(bare.stderr).toMatch(/^memaudit: is the memory growth page cache or a leak\?.*\n\nUsage: memaudit <command> \[options\]/s);
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = await memaudit(args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
      expect(r.stdout).toBe(bare.stderr);
    }
    const analyze = await memaudit(['help', 'analyze']);
    expect(analyze.code).toBe(0);
    expect(analyze.stdout).toMatch(/^Usage: memaudit analyze /);
  });

  it('-V, --version and `memaudit version` print the version', async () => {
    for (const args of [['-V'], ['--version'], ['version']]) expect(await memaudit(args)).toEqual({ code: 0, stdout: `memaudit ${VERSION}\n`, stderr: '' });
  });

  it('an unknown command or option is one line pointing at --help', async () => {
    usageError(await memaudit(['frobnicate']), null, /unknown command "frobnicate"/);
    usageError(await memaudit(['--frob']), null, /unknown option --frob before the command/);
  });
});

describe.each(COMMANDS.map((c) => c.name))('memaudit %s', (name) => {
  it('prints the version for -V and --version', async () => {
    for (const flag of ['-V', '--version']) expect(await memaudit([name, flag])).toEqual({ code: 0, stdout: `memaudit ${VERSION}\n`, stderr: '' });
  });

  it('prints its help with the options every command has for --help', async () => {
    const r = await memaudit([name, '--help']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^Usage: memaudit ${name}\\b`));
    for (const common of ['-h, --help', '-V, --version', '--no-color']) expect(r.stdout).toContain(common);
  });

  it('refuses an unknown option in one line, with a pointer to its --help and balanced quotes', async () => {
    const r = await memaudit([name, '--bogus']);
    usageError(r, name, /unknown option --bogus/);
    expect(r.stderr).not.toMatch(/'-- "/);
  });
});

describe('values', () => {
  it('--fail-on takes verdict names in any case', async () => {
    for (const v of ['leak', 'LEAK', 'Leak', 'cachegrowth,leak']) {
      const r = await memaudit(['analyze', '--docker-stats', LEAK, '--fail-on', v, '-o', 'json']);
      expect({ v, code: r.code }).toEqual({ v, code: 1 });
      expect(r.stderr).toMatch(/verdict Leak\/anon is in --fail-on \((CacheGrowth,)?Leak\): exit code 1/);
    }
  });

  it('--fail-on "" (an empty CI variable) is a usage error, not a gate that never fires', async () => {
    usageError(await memaudit(['analyze', '--docker-stats', LEAK, '--fail-on', '']), 'analyze', /--fail-on is empty/);
    usageError(await memaudit(['analyze', '--docker-stats', LEAK, '--fail-on=', '-o', 'json']), 'analyze', /--fail-on is empty/);
    usageError(await memaudit(['run', '--fail-on', '', '--', 'true']), 'run', /--fail-on is empty/);
  });

  it('--headroom "" is a usage error, not 0 %', async () => {
    usageError(await memaudit(['analyze', '--docker-stats', LEAK, '--headroom', '']), 'analyze', /--headroom is empty/);
  });

  it('a value given twice where one is expected is a usage error naming both', async () => {
    usageError(await memaudit(['analyze', '--cgroup', 'A', '--cgroup', 'B']), 'analyze', /--cgroup is given twice \("A", then "B"\): give it once/);
    usageError(await memaudit(['watch', '--pid', '1', '--pid', '2']), 'watch', /--pid is given twice/);
    usageError(await memaudit(['docker', 'web', '--host', 'unix:///a', '--host', 'unix:///b']), 'docker', /--host is given twice/);
  });

  it('analyze --limit refuses 512M, naming the Docker and the Kubernetes reading; 512Mi and 512m are 512 MiB', async () => {
    usageError(await memaudit(['analyze', '--docker-stats', LEAK, '--limit', '512M']), 'analyze', /"512M" is ambiguous: 512\.0 MiB \(536870912 bytes\) as Docker reads it, 488\.3 MiB \(512000000 bytes\) as a Kubernetes quantity/);
    for (const v of ['512Mi', '512m']) {
      const r = await memaudit(['analyze', '--docker-stats', LEAK, '--limit', v, '-o', 'json']);
      expect({ v, code: r.code }).toEqual({ v, code: 0 });
      expect((JSON.parse(r.stdout) as { limitBytes: number }).limitBytes).toBe(512 * 1024 * 1024);
    }
  });

  it('run --limit reads 512M as Docker does: 512 MiB', async () => {
    const r = await memaudit(['run', '--limit', '512M', '--duration', '1s', '--interval', '200ms', '-q', '-o', 'json', '--', 'true']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { run: { limitBytes: number } }).run.limitBytes).toBe(512 * 1024 * 1024);
  });

  it('a usage error in analyze is one line, not its whole help', async () => {
    usageError(await memaudit(['analyze', '--docker-stats', LEAK, '--cgroup', LEAK]), 'analyze', /give exactly one of --docker-stats, --cgroup, --prometheus \(got 2\)/);
    usageError(await memaudit(['analyze']), 'analyze', /give exactly one/);
    const f = path.join(tmp, 'x.jsonl');
    writeFileSync(f, '');
    usageError(await memaudit(['analyze', '--cgroup', f, 'stray']), 'analyze', /unexpected argument "stray"/);
  });
});
