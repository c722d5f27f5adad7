import { stringify as yamlStringify } from 'yaml';
import { audit } from '../analysis/audit.ts';
import type { AuditOptions } from '../analysis/audit.ts';
import type { CommandIo } from '../cli/command.ts';
import { ExitCode } from '../cli/exit-codes.ts';
import type { HeapProfile, MemorySample, TargetRef } from '../model/sample.ts';
import type { AuditResult } from '../model/verdict.ts';
import { toJsonObject } from '../report/json.ts';
import { LiveView } from '../report/live.ts';
import type { LiveStatus } from '../report/live.ts';
import { renderText } from '../report/text.ts';
import type { SamplingSettings } from './cli-options.ts';

/**
 * What `run` and `watch` share around the sampling: the live view with the verdict so far, and
 * the final report with the `--fail-on` gate.
 */
export class Session {
  readonly #io: CommandIo;
  readonly #settings: SamplingSettings;
  readonly #auditOptions: AuditOptions;
  readonly live: LiveView | null;
  #nextAuditMs = 0;
  #verdict: LiveStatus['verdict'];
  #first: MemorySample | undefined;
  #startMs = 0;

  constructor(io: CommandIo, settings: SamplingSettings, auditOptions: AuditOptions) {
    this.#io = io;
    this.#settings = settings;
    this.#auditOptions = auditOptions;
    const stdout = io.stdout as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
    if (settings.quiet) this.live = null;
    else if (stdout.isTTY) this.live = new LiveView(stdout, { tty: true, above: io.stderr, columns: () => stdout.columns });
    else this.live = new LiveView(io.stderr, { tty: false, plainEverySeconds: Math.max(10, settings.intervalMs / 1000) });
  }

  notice(line: string): void {
    const text = line.endsWith('\n') ? line : line + '\n';
    if (this.live) this.live.write(text);
    else this.#io.stderr.write(text);
  }

  /** The target's own output. */
  output(text: string): void {
    if (this.live) this.live.write(text);
    else this.#io.stderr.write(text);
  }

  onSample(title: string, source: string, sample: MemorySample, all: readonly MemorySample[]): void {
    if (!this.#first) {
      this.#first = sample;
      this.#startMs = sample.timestampMs;
    }
    if (!this.live) return;
    this.#updateVerdict(all);
    this.live.update({
      title,
      source,
      elapsedSeconds: (sample.timestampMs - this.#startMs) / 1000,
      durationSeconds: this.#settings.durationMs / 1000,
      sample,
      first: this.#first,
      verdict: this.#verdict,
    });
  }

  /** The verdict so far, recomputed at most as often as it stays cheap (the fit is O(n^2)). */
  #updateVerdict(all: readonly MemorySample[]): void {
    const now = Date.now();
    if (now < this.#nextAuditMs) return;
    const t0 = performance.now();
    try {
      const r = audit(all, [], this.#auditOptions);
      this.#verdict =
        r.verdict === 'InsufficientData'
          ? { note: `collecting: ${r.explanation.replace(/^Not enough data for a verdict yet: /, '').replace(/\.$/, '')}` }
          : { verdict: r.verdict, leakSource: r.leakSource, explanation: r.explanation };
    } catch (e) {
      this.#verdict = { note: `analysis failed: ${e instanceof Error ? e.message : String(e)}` };
    }
    const spent = performance.now() - t0;
    this.#nextAuditMs = now + Math.max(0, spent * 20);
  }

  /**
   * The final verdict and report on stdout. Returns the exit code: VerdictGate when the verdict
   * is in --fail-on, Interrupted after Ctrl-C, else Ok.
   */
  finish(args: {
    samples: MemorySample[];
    profiles: HeapProfile[];
    target: TargetRef;
    context: string[];
    extra: Record<string, unknown>;
    interrupted: boolean;
  }): number {
    this.live?.close();
    for (const line of args.context) this.#io.stderr.write(`memaudit: ${line}\n`);
    const result: AuditResult = audit(args.samples, args.profiles, this.#auditOptions);
    const format = this.#settings.output;
    if (format === 'text') {
      this.#io.stdout.write(renderText(result, args.target).replace(/\n?$/, '\n'));
    } else {
      const obj = { ...toJsonObject(result, args.target), ...args.extra };
      this.#io.stdout.write(format === 'json' ? JSON.stringify(obj, null, 2) + '\n' : yamlStringify(obj));
    }
    const gated = this.#settings.failOn.includes(result.verdict);
    if (args.interrupted) return ExitCode.Interrupted;
    if (gated) {
      this.#io.stderr.write(`memaudit: verdict ${result.verdict}${result.leakSource ? `/${result.leakSource}` : ''} is in --fail-on (${this.#settings.failOn.join(',')}): exit code ${ExitCode.VerdictGate}\n`);
      return ExitCode.VerdictGate;
    }
    return ExitCode.Ok;
  }
}
