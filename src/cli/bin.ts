#!/usr/bin/env node
// Entry point. Checks the Node version before loading anything that needs a newer runtime, so an
// old Node gets one clear line instead of a syntax error or a stack trace.
import { nodeVersionProblem } from './node-version.ts';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== null) {
  process.stderr.write(problem);
  process.exit(69);
}
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
