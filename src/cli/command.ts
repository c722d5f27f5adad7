export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A CLI command: parses its own arguments (node:util parseArgs), returns an exit code. */
export interface Command {
  run(argv: string[], io: CommandIo): Promise<number>;
}
