import type { Command } from './command.ts';
import { UsageError } from '../errors.ts';

// Placeholder while the command is being built.
export const watchCommand: Command = {
  name: 'watch',
  summary: '(being built)',
  async run() {
    throw new UsageError('watch is not built yet');
  },
};
