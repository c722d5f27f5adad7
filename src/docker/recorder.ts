/**
 * `memaudit docker --record FILE`: the stats stream exactly as the daemon sent it, one JSON object
 * per line, which `memaudit analyze --docker-stats FILE` reads back.
 */
export { LineRecorder as StatsLineRecorder } from '../report/line-recorder.ts';

/**
 * The file for replica `number` of `count`: "web.jsonl" stays as is for one container, and
 * becomes "web.2.jsonl" for the second of several (a recording holds one container's stream).
 */
export function recordFileFor(file: string, number: number, count: number): string {
  if (count <= 1) return file;
  const slash = file.lastIndexOf('/');
  const dot = file.lastIndexOf('.');
  return dot > slash + 1 ? `${file.slice(0, dot)}.${number}${file.slice(dot)}` : `${file}.${number}`;
}
