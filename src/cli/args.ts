// The command line as every command reads it: node:util parseArgs, plus the options every command
// has and the checks parseArgs does not make. A command declares its options (command.ts); main.ts
// reads them here before the command runs, so a new command gets all of this by being registered:
//
//   -h/--help, -V/--version and --no-color (COMMON_OPTIONS);
//   one-line usage errors in memaudit's own words (parseArgs's end in an unbalanced quote:
//     `as in '-- "--foo"`), which main.ts prefixes with the command and a pointer to its --help;
//   an option that takes one value given twice (`--cgroup A --cgroup B` silently used B) or given
//     an empty value (`--fail-on ""` from an empty CI variable silently disabled the gate;
//     `--headroom ""` became 0 %) is refused.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.ts';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/**
 * What a command's positional arguments are: none, files, names (containers, shells), or a command
 * to run, which starts at `--` or at the first argument that is not an option (as for env(1) and
 * time(1): `memaudit run node app.js -V` passes -V to node).
 */
export type Operands = 'none' | 'files' | 'command' | 'names';

export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  'no-color': { type: 'boolean' },
} as const;

/** The lines `--help` adds to every command's own. */
export const COMMON_HELP = [
  'Every command:',
  '  -h, --help         this help',
  "  -V, --version      memaudit's version",
  '  --no-color         no colours in the live view (NO_COLOR=1 in the environment does the same)',
].join('\n');

type WithCommon<O extends OptionSpecs> = { [K in keyof O | keyof typeof COMMON_OPTIONS]: K extends keyof O ? O[K] : K extends keyof typeof COMMON_OPTIONS ? (typeof COMMON_OPTIONS)[K] : never };
type Config<O extends OptionSpecs> = { args: string[]; options: WithCommon<O>; allowPositionals: true; strict: true };

/** Option values as parseArgs types them, the common options included. */
export type Values<O extends OptionSpecs> = ReturnType<typeof parseArgs<Config<O>>>['values'];

export interface CommandArgs<O extends OptionSpecs> {
  /** The arguments as given, after the command's name (the HTML report's footer quotes them). */
  argv: readonly string[];
  values: Values<O>;
  positionals: string[];
  /** Colours wanted (no --no-color); whether the stream shows them, and NO_COLOR, are the style's to check. */
  color: boolean;
}

/**
 * Reads `argv` against `options` and the common ones. Throws a one-line UsageError for an unknown
 * option, a missing, empty or repeated value, a value given to a flag, or positionals where the
 * command takes none.
 */
export function readArgs<const O extends OptionSpecs>(argv: readonly string[], options: O, operands: Operands): CommandArgs<O> {
  const all = { ...COMMON_OPTIONS, ...options } as OptionSpecs;
  let { tokens } = parseArgs({ args: [...argv], options: all, allowPositionals: true, strict: false, tokens: true });
  let own = [...argv];
  let rest: string[] = [];
  if (operands === 'command') {
    const start = tokens.find((t) => t.kind === 'positional' || t.kind === 'option-terminator');
    if (start) {
      own = argv.slice(0, start.index);
      rest = argv.slice(start.kind === 'option-terminator' ? start.index + 1 : start.index);
      tokens = tokens.filter((t) => t.index < start.index);
    }
  }
  const seen = new Map<string, string>();
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      if (operands === 'none') throw new UsageError(`unexpected argument ${JSON.stringify(t.value)}`);
      continue;
    }
    const spec = all[t.name];
    if (!spec) throw new UsageError(`unknown option ${t.rawName}`);
    if (spec.type === 'boolean') {
      if (t.inlineValue) throw new UsageError(`${t.rawName} takes no value`);
      continue;
    }
    if (t.value === undefined) throw new UsageError(`${t.rawName} needs a value`);
    // `--limit --go`: parseArgs takes the next option as the value.
    if (!t.inlineValue && t.value.startsWith('-') && t.value.length > 1) throw new UsageError(`${t.rawName} needs a value, got the option ${t.value} (a value that starts with '-': ${t.rawName}=${t.value})`);
    if (t.value.trim() === '') throw new UsageError(`${t.rawName} is empty: give it a value, or leave the option out`);
    if (!spec.multiple) {
      const before = seen.get(t.name);
      if (before !== undefined) throw new UsageError(`${t.rawName} is given twice (${JSON.stringify(before)}, then ${JSON.stringify(t.value)}): give it once`);
      seen.set(t.name, t.value);
    }
  }
  const parsed = parseArgs({ args: own, options: all as WithCommon<O>, allowPositionals: true, strict: true });
  return { argv, values: parsed.values as Values<O>, positionals: [...parsed.positionals, ...rest], color: (parsed.values as Record<string, unknown>)['no-color'] !== true };
}
