// Where `memaudit scan` ends: the fleet written in the chosen format, then the `--fail-on` gate
// over every container (writeResults in output.ts does the same for one target or a few).
import { stringify as yamlStringify } from 'yaml';
import type { Verdict } from '../model/verdict.ts';
import { renderFleetHtml } from '../report/fleet-html.ts';
import { fleetDocument, renderFleetCsv, renderFleetTable, type FleetRow, type FleetSummary } from '../report/fleet.ts';
import type { CommandIo } from './command.ts';
import { ExitCode } from './exit-codes.ts';

export const FLEET_FORMATS = ['table', 'json', 'yaml', 'csv', 'html'] as const;
export type FleetFormat = (typeof FLEET_FORMATS)[number];

export interface FleetOutputOptions {
  format: FleetFormat;
  failOn: readonly Verdict[];
  summary: FleetSummary;
}

/** Writes the fleet to stdout and returns the exit code. */
export function writeFleet(io: CommandIo, rows: readonly FleetRow[], o: FleetOutputOptions): number {
  switch (o.format) {
    case 'table':
      io.stdout.write(renderFleetTable(rows, o.summary));
      break;
    case 'csv':
      io.stdout.write(renderFleetCsv(rows));
      break;
    case 'html':
      io.stdout.write(renderFleetHtml(rows, o.summary));
      break;
    case 'json':
      io.stdout.write(JSON.stringify(fleetDocument(rows, o.summary), null, 2) + '\n');
      break;
    case 'yaml':
      io.stdout.write(yamlStringify(fleetDocument(rows, o.summary)));
  }
  const unread = rows.filter((r) => r.result === null).length;
  if (unread > 0) io.stderr.write(`memaudit: warning: ${unread} of ${rows.length} containers could not be read (see their error)\n`);
  const gated = rows.filter((r) => r.result !== null && o.failOn.includes(r.result.verdict));
  if (gated.length === 0) return ExitCode.Ok;
  const named = gated
    .slice(0, 10)
    .map((r) => `${r.namespace}/${r.pod}/${r.container}: ${r.result!.verdict}${r.result!.leakSource ? `/${r.result!.leakSource}` : ''}`)
    .join(', ');
  io.stderr.write(`memaudit: ${gated.length} container(s) with a verdict in --fail-on (${o.failOn.join(',')}): ${named}${gated.length > 10 ? ', ...' : ''}: exit code ${ExitCode.VerdictGate}\n`);
  return ExitCode.VerdictGate;
}
