import type { Command } from './command.ts';
import { UsageError } from '../errors.ts';

// Placeholder while the command is being built.
export const runCommand: Command = {
  name: 'run',
  summary: '(being built)',
  async run() {
    throw new UsageError('run is not built yet');
  },
};
