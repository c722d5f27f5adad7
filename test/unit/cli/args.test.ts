import { readArgs } from '../../../src/cli/args.ts';
import { UsageError } from '../../../src/errors.ts';

// The command line as every command reads it (src/cli/args.ts).
const OPTIONS = {
  cgroup: { type: 'string' },
  limit: { type: 'string' },
  pprof: { type: 'string', multiple: true },
  go: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

const refused = (argv: string[], operands: 'none' | 'files' | 'command' = 'files') => {
  try {
    readArgs(argv, OPTIONS, operands);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(argv)}`);
};

describe('readArgs', () => {
  it('reads the options, the common ones included (-h, -V, --no-color)', () => {
    const a = readArgs(['--cgroup', 'x.jsonl', '-qo', 'json', '--pprof', 'a', '--pprof=b', '-V', '--no-color', 'c'], OPTIONS, 'files');
    expect(a.values).toMatchObject({ cgroup: 'x.jsonl', output: 'json', quiet: true, pprof: ['a', 'b'], version: true, 'no-color': true });
    expect(a.positionals).toEqual(['c']);
    expect(a.color).toBe(false);
    expect(readArgs(['-h'], OPTIONS, 'none')).toMatchObject({ values: { help: true }, color: true });
  });

  it('says what is wrong in one line of its own (no unbalanced quote from parseArgs)', () => {
    expect(refused(['--bogus'])).toBe('unknown option --bogus');
    expect(refused(['-x'])).toBe('unknown option -x');
    expect(refused(['--limit'])).toBe('--limit needs a value');
    expect(refused(['--limit', '--go'])).toBe("--limit needs a value, got the option --go (a value that starts with '-': --limit=--go)");
    expect(refused(['--go=yes'])).toBe('--go takes no value');
    expect(refused(['a.jsonl'], 'none')).toBe('unexpected argument "a.jsonl"');
    for (const argv of [['--bogus'], ['--limit'], ['-x']]) expect(refused(argv)).not.toMatch(/\n|'--? "/);
  });

  it('refuses an empty value: an empty CI variable does not silently disable a gate', () => {
    expect(refused(['--limit', ''])).toBe('--limit is empty: give it a value, or leave the option out');
    expect(refused(['--limit='])).toBe('--limit is empty: give it a value, or leave the option out');
    expect(refused(['-o', ' '])).toBe('-o is empty: give it a value, or leave the option out');
    expect(refused(['--pprof', ''])).toMatch(/^--pprof is empty/);
  });

  it('refuses a value given twice where one is expected, naming both; repeatable options and flags may repeat', () => {
    expect(refused(['--cgroup', 'A', '--cgroup', 'B'])).toBe('--cgroup is given twice ("A", then "B"): give it once');
    expect(refused(['-o', 'json', '--output=yaml'])).toBe('--output is given twice ("json", then "yaml"): give it once');
    expect(readArgs(['--pprof', 'a', '--pprof', 'b', '-q', '-q'], OPTIONS, 'files').values).toMatchObject({ pprof: ['a', 'b'], quiet: true });
  });

  it('a command to run starts at -- or at the first operand: its own options are its own', () => {
    expect(readArgs(['-q', '--', 'node', '-V', '--bogus'], OPTIONS, 'command')).toMatchObject({ values: { quiet: true }, positionals: ['node', '-V', '--bogus'] });
    expect(readArgs(['--limit', '64m', 'node', 'app.js', '--limit', '1'], OPTIONS, 'command')).toMatchObject({ values: { limit: '64m' }, positionals: ['node', 'app.js', '--limit', '1'] });
    expect(readArgs(['-q'], OPTIONS, 'command').positionals).toEqual([]);
    expect(refused(['--bogus', '--', 'true'], 'command')).toBe('unknown option --bogus');
  });
});
