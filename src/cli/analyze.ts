import { audit } from '../analysis/audit.ts';
import { UsageError } from '../errors.ts';
import type { HeapProfile, MemorySample, TargetRef } from '../model/sample.ts';
import { VERDICTS } from '../model/verdict.ts';
import { defineCommand } from './command.ts';
import { printable } from '../report/escape.ts';
import { loadSamples, loadProfiles, type SampleFormat } from './inputs.ts';
import { ANALYZE_FORMATS, analyzeOutputOption, durationOption, gogcOption, limitOption, percentOption, verdictListOption } from './options.ts';
import { writeResults } from './output.ts';

const HELP = `Usage: memaudit analyze (--docker-stats FILE | --cgroup FILE | --prometheus FILE) [--pprof FILE...] [options]

Analyses recorded memory data offline and prints the verdict, the evidence and recommended limits.

Inputs (one sample source; profiles optional):
  --docker-stats FILE   Docker Engine API stats objects, one per line (GET /containers/ID/stats, or
                        'docker stats' via the API); a one-shot object also works
  --cgroup FILE         cgroup memory.stat snapshots as JSON lines (docs/formats.md), as written by
                        'memaudit run --record'
  --prometheus FILE     Prometheus /api/v1/query_range JSON responses for the cAdvisor series
  --container NAME      which container to analyse when the input has several: namespace/pod/container
                        (Prometheus), or a Docker container's name or id (prefix) in a stats stream
  --pprof FILE...       Go heap profiles (/debug/pprof/heap); times from the profiles themselves

Options:
  --limit SIZE          the container's memory limit when the data lacks it: 512Mi, 512m, 1Gi, 1g or
                        bytes; 512M, 1G, 64k are refused (binary to Docker, decimal to Kubernetes)
  --headroom PERCENT    headroom above the non-reclaimable peak for the limit (default 20)
  --min-duration DUR    no verdict on less data than this (default 30s)
  --go                  the target is a Go program: recommend GOMEMLIMIT
  --gogc N              the Go target's GOGC (default 100): how far its heap may run ahead of the
                        live data, for telling a heap leak from off-heap growth
  --fail-on VERDICTS    exit 1 when the verdict is one of these (comma separated, any case, e.g. Leak)
  -o, --output FORMAT   text (default), json, yaml, or html (a one-file report with a chart:
                        memaudit analyze ... -o html > report.html)`;

const OPTIONS = {
  'docker-stats': { type: 'string' },
  cgroup: { type: 'string' },
  prometheus: { type: 'string' },
  container: { type: 'string' },
  pprof: { type: 'string', multiple: true },
  limit: { type: 'string' },
  headroom: { type: 'string' },
  'min-duration': { type: 'string' },
  go: { type: 'boolean' },
  gogc: { type: 'string' },
  'fail-on': { type: 'string' },
  output: { type: 'string', short: 'o' },
} as const;

export const analyzeCommand = defineCommand({
  help: HELP,
  options: OPTIONS,
  operands: 'files',
  optionValues: { 'docker-stats': 'file', cgroup: 'file', prometheus: 'file', pprof: 'file', 'fail-on': { commaList: VERDICTS }, output: ANALYZE_FORMATS },
  async run(parsed, io) {
    const v = parsed.values;
    const inputs: [SampleFormat, string | undefined][] = [
      ['docker-stats', v['docker-stats']],
      ['cgroup', v.cgroup],
      ['prometheus', v.prometheus],
    ];
    const given = inputs.filter(([, f]) => f !== undefined) as [SampleFormat, string][];
    if (given.length !== 1) throw new UsageError(`give exactly one of --docker-stats, --cgroup, --prometheus (got ${given.length})`);
    const profileFiles = [...(v.pprof ?? [])];
    if (parsed.positionals.length > 0) {
      if (profileFiles.length === 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])} (more heap profiles go after --pprof)`);
      profileFiles.push(...parsed.positionals); // --pprof a.pb.gz b.pb.gz c.pb.gz
    }
    const output = analyzeOutputOption(v.output);
    const failOn = verdictListOption('fail-on', v['fail-on']);
    const limitBytes = limitOption('limit', v.limit);
    const headroomPercent = percentOption('headroom', v.headroom);
    const minDurationSeconds = durationOption('min-duration', v['min-duration']);
    const goGcPercent = gogcOption(v.gogc);

    const [format, file] = given[0]!;
    const nowMs = Date.now();
    const loaded = await loadSamples(format, file, { nowMs, ...(v.container !== undefined ? { container: v.container } : {}) });
    for (const w of loaded.warnings) io.stderr.write(`memaudit: warning: ${printable(w)}\n`);
    const profiles: HeapProfile[] = [];
    for (const f of profileFiles) profiles.push(await loadProfiles(f, nowMs));

    const samples: MemorySample[] = loaded.samples;
    // The data's own name (a Docker container, a Prometheus series) when it has one.
    const target: TargetRef = loaded.name !== undefined ? { kind: 'container', name: loaded.name } : { kind: 'file', name: file };
    const result = audit(samples, profiles, {
      ...(limitBytes !== undefined ? { limitBytes } : {}),
      ...(minDurationSeconds !== undefined ? { minDurationSeconds } : {}),
      ...(v.go || goGcPercent !== undefined ? { isGo: true } : {}),
      ...(goGcPercent !== undefined ? { goGcPercent } : {}),
      recommend: { ...(headroomPercent !== undefined ? { headroomPercent } : {}) },
    });
    return writeResults(io, [{ result, target }], { format: output, failOn, samples, argv: ['analyze', ...parsed.argv] });
  },
});

