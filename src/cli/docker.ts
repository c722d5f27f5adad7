import { parseArgs } from 'node:util';
import { stringify as yamlStringify } from 'yaml';
import { audit } from '../analysis/audit.ts';
import type { AuditOptions } from '../analysis/audit.ts';
import { readEnvironment } from '../config.ts';
import type { Environment } from '../config.ts';
import { sampleContainers } from '../docker/audit.ts';
import type { ContainerSampling, ContainerTarget } from '../docker/audit.ts';
import { readComposeService, serviceContainers } from '../docker/compose.ts';
import type { ComposeService } from '../docker/compose.ts';
import { connectDocker, describeError, dockerEndpoint, statusCodeOf } from '../docker/endpoint.ts';
import type { ConnectedDocker } from '../docker/endpoint.ts';
import { recordFileFor } from '../docker/recorder.ts';
import { composeLimitsFrom, writeComposeLimits } from '../docker/write-limit.ts';
import type { WriteOutcome } from '../docker/write-limit.ts';
import { EnvironmentError, UsageError } from '../errors.ts';
import { SAMPLING_HELP, SAMPLING_OPTIONS, samplingSettings } from '../local/cli-options.ts';
import type { SamplingSettings } from '../local/cli-options.ts';
import { Session } from '../local/session.ts';
import type { TargetRef } from '../model/sample.ts';
import { formatDuration } from '../model/units.ts';
import type { AuditResult } from '../model/verdict.ts';
import { toJsonObject } from '../report/json.ts';
import { renderText } from '../report/text.ts';
import { heapUrlFromBase } from '../sources/pprof-http.ts';
import type { Command, CommandIo } from './command.ts';
import { ExitCode } from './exit-codes.ts';

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
  '  --host URL         the daemon: unix:///var/run/docker.sock (default), tcp://host:2375; default $DOCKER_HOST',
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

export const dockerCommand: Command = {
  name: 'docker',
  summary: 'audit a running Docker container or Compose service; --write-limit writes the limit into the Compose file',
  async run(argv: string[], io: CommandIo, env: Environment = readEnvironment()): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError(`docker: ${e instanceof Error ? e.message : String(e)}`);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(HELP + '\n');
      return ExitCode.Ok;
    }
    const composeFile = values['compose-file'];
    if (positionals.length > 1) throw new UsageError(`docker: one container at a time, got ${positionals.length}: ${positionals.join(' ')}`);
    if ((positionals.length === 1) === (composeFile !== undefined)) throw new UsageError('docker: give a CONTAINER (name or id) or --compose-file FILE --service NAME');
    if (composeFile !== undefined && values.service === undefined) throw new UsageError('docker: --compose-file needs --service NAME');
    if (composeFile === undefined) {
      for (const flag of ['service', 'project', 'write-limit', 'gomemlimit'] as const) {
        if (values[flag]) throw new UsageError(`docker: --${flag} goes with --compose-file`);
      }
    }
    if (values.gomemlimit && !values['write-limit']) throw new UsageError('docker: --gomemlimit goes with --write-limit');
    const settings = samplingSettings(values);
    if (settings.pprofUrl) heapUrlFromBase(settings.pprofUrl);
    const endpoint = dockerEndpoint(values.host ?? env.DOCKER_HOST);
    const compose = composeFile !== undefined ? await readComposeService(composeFile, values.service!, values.project, env.COMPOSE_PROJECT_NAME) : null;

    const connected = await connectDocker(endpoint);
    const targets = compose ? await serviceContainers(connected.docker, compose, endpoint.url) : [await runningContainer(connected, positionals[0]!)];
    if (settings.pprofUrl && targets.length > 1) {
      throw new UsageError(`docker: --pprof reaches one process, and service ${compose!.service} has ${targets.length} replicas (${targets.map((t) => t.name).join(', ')}); audit one with: memaudit docker ${targets[0]!.name} --pprof URL`);
    }

    const isGo = settings.pprofUrl !== null || values.gomemlimit;
    const auditOptions = (name: string): AuditOptions => ({ ...(isGo ? { isGo: true } : {}), recommend: { headroomPercent: settings.headroomPercent }, containerName: name });
    const session = new Session(io, settings, auditOptions(targets[0]!.name));
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

    if (!compose) {
      const r = sampled.results[0]!;
      return session.finish({
        samples: r.samples,
        profiles: r.profiles,
        target: containerRef(r.target),
        context,
        extra: { docker: dockerExtra(r, endpoint.url) },
        interrupted,
      });
    }
    session.live?.close();
    for (const line of context) io.stderr.write(`memaudit: ${line}\n`);
    const replicas = sampled.results.map((r) => ({ sampling: r, name: r.target.name, result: audit(r.samples, r.profiles, auditOptions(r.target.name)) }));
    const written = values['write-limit'] ? await writeLimit(compose, replicas, values.gomemlimit, interrupted) : null;
    writeComposeReport(io, settings, compose, replicas, written, endpoint.url);
    if (interrupted) return ExitCode.Interrupted;
    const gated = replicas.filter((r) => settings.failOn.includes(r.result.verdict));
    if (gated.length > 0) {
      const which = gated.map((r) => `${r.name}: ${r.result.verdict}${r.result.leakSource ? `/${r.result.leakSource}` : ''}`).join(', ');
      io.stderr.write(`memaudit: verdict ${which} is in --fail-on (${settings.failOn.join(',')}): exit code ${ExitCode.VerdictGate}\n`);
      return ExitCode.VerdictGate;
    }
    return ExitCode.Ok;
  },
};

/** The container by name or id; it must be running (a stopped one has no stats to stream). */
async function runningContainer(connected: ConnectedDocker, nameOrId: string): Promise<ContainerTarget> {
  let info: { Id: string; Name: string; State: { Running: boolean; Status?: string; ExitCode?: number } };
  try {
    info = (await connected.docker.getContainer(nameOrId).inspect()) as unknown as typeof info;
  } catch (cause) {
    if (statusCodeOf(cause) === 404) throw new UsageError(`docker: no container ${JSON.stringify(nameOrId)} on ${connected.endpoint.url}`, { cause });
    throw new EnvironmentError(`cannot inspect container ${nameOrId} on ${connected.endpoint.url}: ${describeError(cause)}`, { cause });
  }
  const name = info.Name.replace(/^\//, '');
  if (!info.State.Running) {
    throw new EnvironmentError(`container ${name} is not running (${info.State.Status ?? 'stopped'}${info.State.ExitCode !== undefined ? `, exit code ${info.State.ExitCode}` : ''}): there is nothing to sample`);
  }
  return { id: info.Id, name };
}

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

interface Replica {
  sampling: ContainerSampling;
  name: string;
  result: AuditResult;
}

type WriteLimitReport = { written: true; outcome: WriteOutcome; from: string } | { written: false; reason: string };

async function writeLimit(compose: ComposeService, replicas: Replica[], goMemLimit: boolean, interrupted: boolean): Promise<WriteLimitReport> {
  if (interrupted) return { written: false, reason: 'the audit was interrupted. Nothing written' };
  const decision = composeLimitsFrom(replicas, { goMemLimit });
  if (decision.kind === 'refuse') return { written: false, reason: decision.reason };
  const outcome = await writeComposeLimits(compose.file, compose.service, decision.limits);
  return { written: true, outcome, from: decision.from };
}

function writeComposeReport(io: CommandIo, settings: SamplingSettings, compose: ComposeService, replicas: Replica[], written: WriteLimitReport | null, endpointUrl: string): void {
  if (settings.output === 'text') {
    const reports = replicas.map((r) => renderText(r.result, containerRef(r.sampling.target)).replace(/\n?$/, '\n'));
    io.stdout.write(reports.join('\n'));
    if (written) io.stdout.write('\n' + writeLimitText(compose, written));
    return;
  }
  const obj = {
    compose: { file: compose.file, project: compose.project, service: compose.service, containers: replicas.map((r) => r.name) },
    replicas: replicas.map((r) => ({ ...toJsonObject(r.result, containerRef(r.sampling.target)), docker: dockerExtra(r.sampling, endpointUrl) })),
    writeLimit: written === null ? null : written.written ? { written: true, file: written.outcome.file, basis: written.from, changes: written.outcome.changes, diff: written.outcome.diff } : { written: false, reason: written.reason },
  };
  io.stdout.write(settings.output === 'json' ? JSON.stringify(obj, null, 2) + '\n' : yamlStringify(obj));
}

function writeLimitText(compose: ComposeService, w: WriteLimitReport): string {
  if (!w.written) return `write-limit: ${w.reason}.\n`;
  if (w.outcome.changes.length === 0) return `write-limit: ${compose.file} already has the recommended limits for service ${compose.service}; unchanged.\n`;
  const lines = [`write-limit: wrote ${w.outcome.changes.map((c) => `${c.key}: ${c.to}`).join(', ')} for service ${compose.service} into ${compose.file} (${w.from}):`];
  for (const c of w.outcome.changes) if (c.note) lines.push(`  note: ${c.note}`);
  return lines.join('\n') + '\n' + w.outcome.diff;
}
