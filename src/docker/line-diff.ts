/**
 * A unified diff (`diff -u` style) of two texts, line by line, for showing what `--write-limit`
 * changed. Longest common subsequence on lines: Compose files are small (hundreds of lines), so
 * the O(n*m) table is cheap and the hunks are minimal.
 */
export function unifiedDiff(before: string, after: string, fromName: string, toName: string, context = 3): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = diffOps(a, b);
  const out = [`--- ${fromName}`, `+++ ${toName}`];
  // Group changes with `context` lines around them into hunks.
  let i = 0;
  while (i < ops.length) {
    while (i < ops.length && ops[i]!.kind === ' ') i++;
    if (i >= ops.length) break;
    const start = Math.max(0, i - context);
    let end = i;
    // Extend the hunk while the next change is within 2 * context unchanged lines.
    for (;;) {
      while (end < ops.length && ops[end]!.kind !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next]!.kind === ' ') next++;
      if (next < ops.length && next - end <= 2 * context) {
        end = next;
        continue;
      }
      end = Math.min(ops.length, end + context);
      break;
    }
    const hunk = ops.slice(start, end);
    const aStart = hunk[0]!.aIndex;
    const bStart = hunk[0]!.bIndex;
    const aLen = hunk.filter((o) => o.kind !== '+').length;
    const bLen = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${aLen === 0 ? aStart : aStart + 1},${aLen} +${bLen === 0 ? bStart : bStart + 1},${bLen} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
    i = end;
  }
  return out.join('\n') + '\n';
}

interface Op {
  kind: ' ' | '-' | '+';
  line: string;
  /** Position in a / b before this op (0-based). */
  aIndex: number;
  bIndex: number;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function diffOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = LCS length of a[i..] and b[j..]
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i]!, aIndex: i, bIndex: j });
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      ops.push({ kind: '+', line: b[j]!, aIndex: i, bIndex: j });
      j++;
    } else {
      ops.push({ kind: '-', line: a[i]!, aIndex: i, bIndex: j });
      i++;
    }
  }
  // Within a run of changes, show removals before additions, as diff -u does.
  for (let k = 0; k < ops.length; ) {
    if (ops[k]!.kind === ' ') {
      k++;
      continue;
    }
    let e = k;
    while (e < ops.length && ops[e]!.kind !== ' ') e++;
    const run = ops.slice(k, e);
    const sorted = [...run.filter((o) => o.kind === '-'), ...run.filter((o) => o.kind === '+')];
    const aIndex = run[0]!.aIndex;
    const bIndex = run[0]!.bIndex;
    sorted.forEach((o) => {
      o.aIndex = aIndex;
      o.bIndex = bIndex;
    });
    ops.splice(k, e - k, ...sorted);
    k = e;
  }
  return ops;
}
