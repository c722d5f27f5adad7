// Runs the memaudit CLI's main() in this process and reports, on stderr, its own peak RSS
// (getrusage ru_maxrss) and wall time as one line: `maxrss-report {"maxRssKiB":..,"seconds":..}`.
// bench/memory.ts starts it as a child, so the number is the CLI's alone.
import { performance } from 'node:perf_hooks';
import { main } from '../src/cli/main.ts';

const start = performance.now();
const code = await main(process.argv.slice(2));
const seconds = (performance.now() - start) / 1000;
process.stderr.write(`maxrss-report ${JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, seconds, code })}\n`);
process.exitCode = code;
