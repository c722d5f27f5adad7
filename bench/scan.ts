// `npm run bench:scan`: `memaudit scan` of 5,000 containers x 7 days at 1-minute steps from a real
// Prometheus (Debian's package), the history backfilled with promtool from the synthetic but
// physical cluster of bench/scan-model.ts. Prints the wall time, the scan's peak RSS
// (process.resourceUsage().maxRSS of the process that ran it), the number of queries, and how the
// synthetic kinds were judged. Goals: under 2 minutes and 1 GiB; queries growing with namespaces
// and metrics, not containers.
//
// The TSDB (~550 M samples) takes tens of minutes to generate on 2 cores: it is cached under
// $MEMAUDIT_CACHE/prometheus (default ~/.cache/memaudit/prometheus), keyed by the model's version
// and the size, and generated only when missing. Not part of `npm test`.
//
//   npm run bench:scan [-- CONTAINERS DAYS]     (default 5000 7)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPrometheus } from '../test/helpers/prometheus.ts';
import { MODEL_VERSION } from './scan-model.ts';

const node = process.execPath;
const here = import.meta.dirname;
const containers = Number(process.argv[2] ?? 5000);
const days = Number(process.argv[3] ?? 7);
const cacheRoot = path.join(process.env.MEMAUDIT_CACHE ?? path.join(os.homedir(), '.cache/memaudit'), 'prometheus');
const dir = path.join(cacheRoot, `scan-bench-v${MODEL_VERSION}-${containers}x${days}d`);

function run(args: string[], capture: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['--disable-warning=ExperimentalWarning', ...args], { stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args[0]} exited ${code}`))));
  });
}

if (!existsSync(path.join(dir, 'meta.json'))) {
  const endMs = Math.floor(Date.now() / 60_000) * 60_000;
  process.stderr.write(`bench:scan: generating the TSDB of ${containers} containers x ${days} d into ${dir} (cached; tens of minutes)\n`);
  await run([path.join(here, 'scan-tsdb.ts'), dir, String(containers), String(days), String(endMs)], false);
}
const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { endMs: number; samples: number; generationSeconds: number };
const work = await mkdtemp(path.join(os.tmpdir(), 'memaudit-bench-scan-'));
// Blocks are 6 h each; the server must not compact them during the measurement.
const prom = await startPrometheus({ dataDir: path.join(dir, 'data'), workDir: work, extraArgs: ['--storage.tsdb.min-block-duration=2h', '--storage.tsdb.max-block-duration=6h'] });
try {
  const runs: Record<string, unknown>[] = [];
  /** CPU seconds Prometheus has used (utime + stime, in clock ticks of 1/100 s). */
  const promCpu = () => {
    const f = readFileSync(`/proc/${prom.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  for (const attempt of ['first', 'second']) {
    const cpu0 = promCpu();
    const line = await run([path.join(here, 'scan-run.ts'), prom.url, String(meta.endMs / 1000), `${days}d`, '1m', String(containers)], true);
    const r = JSON.parse(line) as Record<string, unknown>;
    const status = readFileSync(`/proc/${prom.pid}/status`, 'utf8');
    runs.push({ run: attempt, ...r, prometheusCpuSeconds: Math.round(promCpu() - cpu0), prometheusPeakRssMiB: Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024) });
  }
  process.stdout.write(`\nmemaudit scan: ${containers} containers x ${days} d at 1 m from a real Prometheus (${(meta.samples / 1e6).toFixed(0)} M samples backfilled in ${meta.generationSeconds} s, cached in ${dir})\n`);
  for (const r of runs) {
    process.stdout.write(`  ${String(r.run).padEnd(7)} wall ${r.wallSeconds} s, scan peak RSS ${r.maxRssMiB} MiB, ${r.queries} queries, ${r.containers} containers (exit ${r.code}); CPU: scan ${r.cpuSeconds} s, Prometheus ${r.prometheusCpuSeconds} s; Prometheus peak RSS ${r.prometheusPeakRssMiB} MiB\n`);
  }
  const last = runs.at(-1)!;
  process.stdout.write(`  verdicts by synthetic kind: ${JSON.stringify(last.judged)} (${last.agree}/${last.containers} as the kind says)\n`);
  if (last.stderr) process.stdout.write(`  stderr: ${String(last.stderr)}\n`);
} finally {
  await prom.stop();
  await rm(work, { recursive: true, force: true });
}
