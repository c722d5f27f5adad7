#!/usr/bin/env node
// Entry point. Checks the Node version before loading anything that needs a newer runtime, so an
// old Node gets one clear line instead of a syntax error or a stack trace.
import { nodeVersionProblem } from './node-version.ts';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== null) {
  process.stderr.write(problem);
  process.exit(69);
}
// A closed stdout or stderr (`memaudit analyze ... | head -1`) is the reader having had enough,
// not a failure of memaudit: without a listener the EPIPE would be an uncaught exception (a stack
// trace and exit 1, which a CI gate reads as "--fail-on matched"). Writes after it are dropped and
// the exit code stays the result's.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
    throw e;
  });
}
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
