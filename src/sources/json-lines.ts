import { InputError } from '../errors.ts';

/**
 * JSON lines (one JSON value per line), with line numbers for errors. A recording cut while it was
 * being written ends in a partial line: that one, and only that one, is dropped with a warning.
 * A bad line anywhere else is an error naming the file and line.
 */
export interface JsonLine {
  line: number;
  value: unknown;
}

export interface JsonLinesResult {
  lines: JsonLine[];
  warnings: string[];
}

export function parseJsonLines(text: string, source: string): JsonLinesResult {
  const raw = text.split('\n');
  const lines: JsonLine[] = [];
  const warnings: string[] = [];
  let lastNonEmpty = raw.length - 1;
  while (lastNonEmpty >= 0 && raw[lastNonEmpty]!.trim() === '') lastNonEmpty--;
  for (let i = 0; i <= lastNonEmpty; i++) {
    const l = raw[i]!.trim();
    if (l === '') continue;
    try {
      lines.push({ line: i + 1, value: JSON.parse(l) });
    } catch (cause) {
      if (i === lastNonEmpty && !text.endsWith('\n') && lines.length > 0) {
        warnings.push(`${source}:${i + 1}: ignored a truncated last line (the recording was cut while writing)`);
        continue;
      }
      throw new InputError(source, `line is not valid JSON (${(cause as Error).message}); expected one JSON object per line`, { line: i + 1, cause });
    }
  }
  if (lines.length === 0) throw new InputError(source, 'no JSON objects in the file (empty?); expected one JSON object per line');
  return { lines, warnings };
}
