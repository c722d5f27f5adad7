import { audit } from '../analysis/audit.ts';
import type { AuditOptions } from '../analysis/audit.ts';
import { readEnvironment } from '../config.ts';
import type { Environment } from '../config.ts';
import { readComposeService, serviceContainers } from '../docker/compose.ts';
import type { ComposeService } from '../docker/compose.ts';
import { recordFileFor, runningContainer, sampleContainers } from '../docker/containers.ts';
import type { ContainerSampling, ContainerTarget } from '../docker/containers.ts';
import { connectDocker, dockerEndpoint } from '../docker/endpoint.ts';
import { composeLimitsFrom, writeComposeLimits } from '../docker/write-limit.ts';
import type { WriteOutcome } from '../docker/write-limit.ts';
import { UsageError } from '../errors.ts';
import type { TargetRef } from '../model/sample.ts';
import { formatDuration } from '../model/units.ts';
import { defineCommand } from './command.ts';
import { LiveSession } from './live-session.ts';
import { writeResults } from './output.ts';
import type { Reported } from './output.ts';
import { SAMPLING_HELP, SAMPLING_OPTIONS, SAMPLING_VALUES, samplingSettings } from './sampling-options.ts';

const HELP = [
  'Usage: memaudit docker CONTAINER [options]',
  '       memaudit docker --compose-file FILE --service NAME [--write-limit [--gomemlimit]] [options]',
  '',
  "Audits a running container from its Docker stats stream (one object a second) for --duration or until",
  'it stops, shows a live view and prints a verdict: Stable, Plateau, CacheGrowth, Leak or InsufficientData.',
  'Read-only: nothing is started, stopped or limited. With --compose-file, every running replica of the',
  'service (found by the com.docker.compose.* labels) is audited side by side.',
  '',
  'Docker:',
  '  --host URL         the daemon, as DOCKER_HOST names it: unix:///var/run/docker.sock (default), tcp://host:2375,',
  '                     tcp://host:2376 (TLS with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH), ssh://user@host',
  '',
  'Compose:',
  '  --compose-file F   the Compose file of the service',
  '  --service NAME     the service to audit (all its running replicas)',
  "  --project NAME     the Compose project; default $COMPOSE_PROJECT_NAME, the file's name:, or its directory's name",
  "  --write-limit      write the recommended mem_limit and mem_reservation (or deploy.resources.*.memory, whichever",
  '                     the file uses) into the file for the service, keeping comments and formatting, and print the',
  '                     diff; never for a Leak (nothing is written, and the report says why)',
  '  --gomemlimit       with --write-limit, for a Go service: also write environment GOMEMLIMIT (90 % of the limit)',
  '',
  'Sampling and output:',
  ...SAMPLING_HELP.map((l) =>
    l.startsWith('  --record')
      ? '  --record FILE      write the raw stats stream as JSON lines (replay: memaudit analyze --docker-stats FILE);\n                     with several replicas FILE.1, FILE.2, ... (before the extension)'
      : l.startsWith('  --pprof')
        ? '  --pprof URL        Go target: its net/http/pprof base URL as reachable from here (a published port,\n                     http://127.0.0.1:6060), for heap profiles and runtime.MemStats; one container only'
        : l,
  ),
  '',
  'Examples:',
  '  memaudit docker my-service --duration 5m',
  '  memaudit docker my-service --pprof http://127.0.0.1:6060 --fail-on Leak -o json',
  '  memaudit docker --compose-file compose.yaml --service web --duration 10m --write-limit',
].join('\n');

const OPTIONS = {
  ...SAMPLING_OPTIONS,
  host: { type: 'string' },
  'compose-file': { type: 'string' },
  service: { type: 'string' },
  project: { type: 'string' },
  'write-limit': { type: 'boolean', default: false },
  gomemlimit: { type: 'boolean', default: false },
} as const;

export const dockerCommand = defineCommand({
  help: HELP,
  options: OPTIONS,
  operands: 'names',
  operandValues: 'containers',
  optionValues: { ...SAMPLING_VALUES, 'compose-file': 'file' },
  async run({ values, positionals, color }, io) {
    const env: Environment = readEnvironment();
    const composeFile = values['compose-file'];
    if (positionals.length > 1) throw new UsageError(`one container at a time, got ${positionals.length}: ${positionals.join(' ')}`);
    if ((positionals.length === 1) === (composeFile !== undefined)) throw new UsageError('give a CONTAINER (name or id) or --compose-file FILE --service NAME');
    if (composeFile !== undefined && values.service === undefined) throw new UsageError('--compose-file needs --service NAME');
    if (composeFile === undefined) {
      for (const flag of ['service', 'project', 'write-limit', 'gomemlimit'] as const) {
        if (values[flag]) throw new UsageError(`--${flag} goes with --compose-file`);
      }
    }
    if (values.gomemlimit && !values['write-limit']) throw new UsageError('--gomemlimit goes with --write-limit');
    const settings = samplingSettings(values, color);
    const endpoint = dockerEndpoint(values.host ?? env.DOCKER_HOST, env);
    const compose = composeFile !== undefined ? await readComposeService(composeFile, values.service!, values.project, env.COMPOSE_PROJECT_NAME) : null;

    const connected = await connectDocker(endpoint);
    const targets = compose ? await serviceContainers(connected.docker, compose, endpoint.url) : [await runningContainer(connected, positionals[0]!)];
    if (settings.pprofUrl && targets.length > 1) {
      throw new UsageError(`--pprof reaches one process, and service ${compose!.service} has ${targets.length} replicas (${targets.map((t) => t.name).join(', ')}); audit one with: memaudit docker ${targets[0]!.name} --pprof URL`);
    }

    const isGo = settings.pprofUrl !== null || values.gomemlimit;
    const auditOptions = (name: string): AuditOptions => ({ ...(isGo ? { isGo: true } : {}), recommend: { headroomPercent: settings.headroomPercent }, containerName: name });
    const session = new LiveSession(io, settings, auditOptions(targets[0]!.name));
    const names = targets.map((t) => t.name).join(', ');
    if (compose) session.notice(`memaudit: service ${compose.service} of Compose project ${compose.project}: ${targets.length} running container(s): ${names}`);
    if (settings.intervalMs < 1000) session.notice('memaudit: the Docker stats stream sends one object a second: samples come at most once a second');
    const title = targets.length > 1 ? `${targets[0]!.name} (live view of 1 of ${targets.length} replicas)` : targets[0]!.name;
    const sources: string[] = [];
    const sampled = await sampleContainers({
      docker: connected.docker,
      endpointUrl: endpoint.url,
      ...(connected.info.memTotalBytes !== undefined ? { hostMemoryBytes: connected.info.memTotalBytes } : {}),
      targets,
      durationMs: settings.durationMs,
      intervalMs: settings.intervalMs,
      pprofUrl: settings.pprofUrl,
      recordFiles: targets.map((_, i) => (settings.recordFile ? recordFileFor(settings.recordFile, i + 1, targets.length) : null)),
      notice: (line) => session.notice(line),
      onStart: (i, source) => (sources[i] = source),
      onSample: (i, s, all) => {
        if (i === 0) session.onSample(title, sources[0] ?? '', s, all);
      },
    });
    const interrupted = sampled.interruptedBy !== null;
    const context = sampled.results.flatMap((r) => samplingContext(r, sampled.interruptedBy));

    session.close(context);
    const reported: Reported[] = sampled.results.map((r) => ({
      result: audit(r.samples, r.profiles, auditOptions(r.target.name)),
      target: containerRef(r.target),
      extra: { docker: dockerExtra(r, endpoint.url) },
    }));
    const report = { format: settings.output, failOn: settings.failOn, interrupted };
    if (!compose) return writeResults(io, reported, report);
    const written = values['write-limit'] ? await writeLimit(compose, reported, values.gomemlimit, interrupted) : null;
    return writeResults(io, reported, {
      ...report,
      document: (replicas) => ({
        compose: { file: compose.file, project: compose.project, service: compose.service, containers: targets.map((t) => t.name) },
        replicas,
        writeLimit: written === null ? null : written.written ? { written: true, file: written.outcome.file, basis: written.from, changes: written.outcome.changes, diff: written.outcome.diff } : { written: false, reason: written.reason },
      }),
      ...(written ? { textAfter: writeLimitText(compose, written) } : {}),
    });
  },
});

const containerRef = (t: ContainerTarget): TargetRef => ({ kind: 'container', name: t.name });

function samplingContext(r: ContainerSampling, interruptedBy: NodeJS.Signals | null): string[] {
  const n = r.samples.length;
  const span = n > 1 ? (r.samples[n - 1]!.timestampMs - r.samples[0]!.timestampMs) / 1000 : 0;
  const lines = [`${n} samples over ${formatDuration(span)} from ${r.source}${r.record ? `; ${r.record.lines} stats objects recorded in ${r.record.file}` : ''}`];
  if (r.stopReason === 'gone') lines.push(`${r.goneReason ?? `container ${r.target.name} is gone`}: the verdict covers what was collected until then`);
  if (r.stopReason === 'interrupted') lines.push(`interrupted by ${interruptedBy}: the verdict covers what was collected until then`);
  return lines;
}

function dockerExtra(r: ContainerSampling, endpointUrl: string): Record<string, unknown> {
  return {
    container: r.target.name,
    id: r.target.id,
    endpoint: endpointUrl,
    stopReason: r.stopReason,
    ...(r.goneReason !== undefined ? { goneReason: r.goneReason } : {}),
    ...(r.record ? { record: r.record.file } : {}),
  };
}

type WriteLimitReport = { written: true; outcome: WriteOutcome; from: string } | { written: false; reason: string };

async function writeLimit(compose: ComposeService, replicas: Reported[], goMemLimit: boolean, interrupted: boolean): Promise<WriteLimitReport> {
  if (interrupted) return { written: false, reason: 'the audit was interrupted. Nothing written' };
  const decision = composeLimitsFrom(
    replicas.map((r) => ({ name: r.target.name, result: r.result })),
    { goMemLimit },
  );
  if (decision.kind === 'refuse') return { written: false, reason: decision.reason };
  const outcome = await writeComposeLimits(compose.file, compose.service, decision.limits);
  return { written: true, outcome, from: decision.from };
}

function writeLimitText(compose: ComposeService, w: WriteLimitReport): string {
  if (!w.written) return `write-limit: ${w.reason}.\n`;
  if (w.outcome.changes.length === 0) return `write-limit: ${compose.file} already has the recommended limits for service ${compose.service}; unchanged.\n`;
  const lines = [`write-limit: wrote ${w.outcome.changes.map((c) => `${c.key}: ${c.to}`).join(', ')} for service ${compose.service} into ${compose.file} (${w.from}):`];
  for (const c of w.outcome.changes) if (c.note) lines.push(`  note: ${c.note}`);
  return lines.join('\n') + '\n' + w.outcome.diff;
}
