#!/usr/bin/env node
// Entry point. Checks the Node version before loading anything that needs a newer runtime, so an
// old Node gets one clear line instead of a syntax error or a stack trace.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `memaudit needs Node.js 22.19 or newer (Node 24 recommended); this is Node ${process.versions.node}.\n` +
      'Install a newer Node, or in a checkout run ./bin/memaudit after `npm ci`, which brings Node 24.\n',
  );
  process.exit(69);
}
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
