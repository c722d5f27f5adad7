import type { CommandArgs, Operands, OptionSpecs } from './args.ts';

export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** What an option's value completes to in the shell: a file, a directory, one of a list, or a comma-separated list of them. */
export type ValueKind = 'file' | 'dir' | readonly string[] | { readonly commaList: readonly string[] };

/**
 * A CLI command. It declares its options (as node:util parseArgs takes them) and its help; main.ts
 * reads the command line with them (args.ts: --help, --version, --no-color, one-line usage errors,
 * repeated and empty values) and the shell completion scripts are generated from them
 * (completion.ts). `run` gets the parsed arguments and returns an exit code.
 */
export interface Command<O extends OptionSpecs = OptionSpecs> {
  /** Printed by --help, above the options every command has. */
  readonly help: string;
  readonly options: O;
  readonly operands: Operands;
  /** For completion: the value kinds of options that take one (others complete to nothing). */
  readonly optionValues?: { readonly [K in keyof O]?: ValueKind };
  /** For completion of operands of kind 'names': the names (completion's shells), or the running Docker containers. */
  readonly operandValues?: readonly string[] | 'containers';
  run(args: CommandArgs<O>, io: CommandIo): Promise<number>;
}

/** Types a command's `run` from its options. */
export const defineCommand = <const O extends OptionSpecs>(command: Command<O>): Command<O> => command;
