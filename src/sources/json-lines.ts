// JSON lines (one JSON value per line), with line numbers for errors. A recording stopped while
// it was being written ends in a JSON object cut short: that one, and only that one, is dropped
// with a warning. A bad line anywhere else is an error naming the file and line. An empty input
// gives no lines: the caller says what it expected.
import { InputError } from '../errors.ts';

export interface JsonLine {
  line: number;
  value: unknown;
}

export interface JsonLinesResult {
  lines: JsonLine[];
  warnings: string[];
}

/** `item` names what one line holds, for messages: "stats object", "cgroup snapshot". */
export function parseJsonLines(text: string, source: string, item: string): JsonLinesResult {
  const raw = text.split('\n');
  const lines: JsonLine[] = [];
  const warnings: string[] = [];
  let last = raw.length - 1;
  while (last >= 0 && raw[last]!.trim() === '') last--;
  for (let i = 0; i <= last; i++) {
    const l = raw[i]!.trim();
    if (l === '') continue;
    try {
      lines.push({ line: i + 1, value: JSON.parse(l) });
    } catch (cause) {
      if (i === last && isCutShort(l, cause as Error)) {
        warnings.push(`${source}:${i + 1}: last line is a ${item} cut short (the recording was stopped mid-write); skipped`);
        break;
      }
      throw new InputError(source, `not a JSON ${item} (${(cause as Error).message}): ${JSON.stringify(l.slice(0, 60))}`, { line: i + 1, cause });
    }
  }
  return { lines, warnings };
}

/** A JSON object whose text stops early: the parser ran off the end, not into a wrong character. */
function isCutShort(line: string, err: Error): boolean {
  if (!line.startsWith('{')) return false;
  const m = /at position (\d+)/.exec(err.message);
  return /Unexpected end of JSON input|Unterminated string/.test(err.message) || (m !== null && Number(m[1]) >= line.length);
}
