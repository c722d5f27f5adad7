import type { Command } from './command.ts';
import { UsageError } from '../errors.ts';

// Placeholder while the command is being built.
export const analyzeCommand: Command = {
  name: 'analyze',
  summary: '(being built)',
  async run() {
    throw new UsageError('analyze is not built yet');
  },
};
