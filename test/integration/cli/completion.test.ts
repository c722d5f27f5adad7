import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { COMMANDS } from '../../../src/cli/registry.ts';

/**
 * `memaudit completion bash|zsh`: the scripts the real ./bin/memaudit prints, loaded into a real
 * bash (the completion function called as bash calls it, with COMP_WORDS and COMP_CWORD) and a real
 * interactive zsh (TAB pressed on a pseudo-terminal through zsh/zpty: zsh-complete.zsh). zsh comes
 * from hack/install-deps.sh.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const BIN = path.join(ROOT, 'bin/memaudit');
const ZSH_COMPLETE = path.join(import.meta.dirname, 'zsh-complete.zsh');

let tmp: string;
let bashScript: string;
let zshDir: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'memaudit-completion-'));
  bashScript = path.join(tmp, 'memaudit.bash');
  writeFileSync(bashScript, execFileSync(BIN, ['completion', 'bash'], { encoding: 'utf8' }));
  zshDir = path.join(tmp, 'zsh');
  mkdirSync(zshDir);
  writeFileSync(path.join(zshDir, '_memaudit'), execFileSync(BIN, ['completion', 'zsh'], { encoding: 'utf8' }));
  // Files to complete: a recording and a directory beside it.
  mkdirSync(path.join(tmp, 'files/records'), { recursive: true });
  writeFileSync(path.join(tmp, 'files/stats.jsonl'), '');
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** What bash offers for the last word of `line` (words split on spaces; a trailing space starts a new empty word). */
function bashComplete(line: string): Promise<string[]> {
  const words = line.split(' ');
  const script = `source ${JSON.stringify(bashScript)}\nCOMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')})\nCOMP_CWORD=${words.length - 1}\n_memaudit\nprintf '%s\\n' "\${COMPREPLY[@]}"\n`;
  return new Promise((resolve, reject) => {
    execFile('bash', ['--norc', '--noprofile', '-c', script], { cwd: path.join(tmp, 'files') }, (err, stdout, stderr) => {
      if (err || stderr) reject(new Error(`bash: ${err?.message ?? ''} ${stderr}`));
      else resolve(stdout.split('\n').filter(Boolean).sort());
    });
  });
}

/** What zsh offers after TAB at the end of `line`. */
function zshComplete(line: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('zsh', ['-f', ZSH_COMPLETE, zshDir, line], { cwd: path.join(tmp, 'files'), timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`zsh: ${err.message} ${stderr}`));
      else resolve(stdout.split('\n').filter(Boolean).sort());
    });
  });
}

const commandNames = COMMANDS.map((c) => c.name);

describe.each([
  ['bash', bashComplete],
  ['zsh', zshComplete],
] as const)('memaudit completion %s', (_shell, complete) => {
  it('completes every registered command', async () => {
    expect(await complete('memaudit ')).toEqual(expect.arrayContaining([...commandNames, 'help']));
    expect(await complete('memaudit ana')).toEqual(['analyze']);
    expect(await complete('memaudit comp')).toEqual(['completion']);
  });

  it("completes each command's options, the common ones included", async () => {
    expect(await complete('memaudit analyze --li')).toEqual(['--limit']);
    expect(await complete('memaudit analyze --docker')).toEqual(['--docker-stats']);
    expect(await complete('memaudit docker --write')).toEqual(['--write-limit']);
    expect(await complete('memaudit controller --kubelet-a')).toEqual(['--kubelet-access']);
    for (const name of commandNames) expect(await complete(`memaudit ${name} --no-c`)).toEqual(['--no-color']);
  });

  it('completes the values of options that have a fixed set, files where a file is expected', async () => {
    expect(await complete('memaudit analyze -o ')).toEqual(['html', 'json', 'text', 'yaml']);
    expect(await complete('memaudit run --output ')).toEqual(['json', 'text', 'yaml']);
    expect(await complete('memaudit analyze --fail-on Ca')).toEqual(['CacheGrowth']);
    expect(await complete('memaudit controller --kubelet-access ')).toEqual(['direct', 'proxy']);
    expect(await complete('memaudit completion ')).toEqual(['bash', 'zsh']);
    expect(await complete('memaudit analyze --docker-stats st')).toEqual(['stats.jsonl']);
  });

  it('completes a command to run after memaudit run --', async () => {
    expect(await complete('memaudit run -- bas')).toContain('bash');
  });
});

describe('bash specifics', () => {
  it('completes the last verdict of a comma-separated --fail-on list', async () => {
    expect(await bashComplete('memaudit analyze --fail-on Leak,Ca')).toEqual(['Leak,CacheGrowth']);
  });

  it('completes a value given with = (bash splits the word at it)', async () => {
    // COMP_WORDBREAKS holds '=': `--output=js` reaches the function as --output, =, js.
    expect(await bashComplete('memaudit analyze --output = js')).toEqual(['json']);
  });

  it("completes the run command's own words once it starts, never memaudit's options", async () => {
    expect(await bashComplete('memaudit run --duration 5s ech')).toContain('echo');
    expect(await bashComplete('memaudit run --duration 5s node --li')).not.toContain('--limit');
  });
});
