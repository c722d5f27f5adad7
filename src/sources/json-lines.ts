// JSON lines (one JSON value per line), fed one line at a time so that a recording of any size is
// read as a stream. A recording stopped while it was being written ends in a JSON object cut
// short: that one, and only that one, is dropped with a warning. A bad line anywhere else is an
// error naming the file and line; since a cut object is only known to be the last line when the
// next non-blank line arrives (or none does), its error waits until then.
import { InputError } from '../errors.ts';

export class JsonLines {
  readonly #source: string;
  readonly #item: string;
  #cut: { line: number; text: string; cause: Error } | undefined;
  #values = 0;

  /** `item` names what one line holds, for messages: "stats object", "cgroup snapshot". */
  constructor(source: string, item: string) {
    this.#source = source;
    this.#item = item;
  }

  /** Non-blank lines parsed so far. */
  get count(): number {
    return this.#values;
  }

  /** The value of one line; undefined for a blank line or a cut-short object held back. */
  parse(line: number, text: string): unknown {
    const l = text.trim();
    if (l === '') return undefined;
    if (this.#cut !== undefined) throw this.#notJson(this.#cut.line, this.#cut.text, this.#cut.cause);
    try {
      const value: unknown = JSON.parse(l);
      this.#values++;
      return value;
    } catch (cause) {
      if (isCutShort(l, cause as Error)) {
        this.#cut = { line, text: l, cause: cause as Error };
        return undefined;
      }
      throw this.#notJson(line, l, cause as Error);
    }
  }

  /** Warnings once the input has ended (a cut-short last line). */
  end(): string[] {
    if (this.#cut === undefined) return [];
    return [`${this.#source}:${this.#cut.line}: last line is a ${this.#item} cut short (the recording was stopped mid-write); skipped`];
  }

  #notJson(line: number, text: string, cause: Error): InputError {
    return new InputError(this.#source, `not a JSON ${this.#item} (${cause.message}): ${JSON.stringify(text.slice(0, 60))}`, { line, cause });
  }
}

/** A JSON object whose text stops early: the parser ran off the end, not into a wrong character. */
function isCutShort(line: string, err: Error): boolean {
  if (!line.startsWith('{')) return false;
  const m = /at position (\d+)/.exec(err.message);
  return /Unexpected end of JSON input|Unterminated string/.test(err.message) || (m !== null && Number(m[1]) >= line.length);
}
