import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// The shape of src/ (docs/architecture.md), beyond what eslint's import fences check file by
// file: no cycle of value imports (a type-only import carries nothing at run time).

const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? sourceFiles(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : []));
}

/** Relative value imports and re-exports of a file, resolved to files. */
export function valueImports(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?([^;]*?)\s+from\s+'(\.[^']+)';/gms)) {
    const names = m[3]!.trim();
    const typeOnly =
      m[2] !== undefined ||
      (/^\{[^}]*\}$/s.test(names) &&
        names
          .slice(1, -1)
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean)
          .every((n) => n.startsWith('type ')));
    if (!typeOnly) out.push(path.resolve(path.dirname(file), m[4]!));
  }
  return out;
}

/** Strongly connected components of more than one file, or a file importing itself (Tarjan). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

describe('src layout', () => {
  const files = sourceFiles(SRC);
  const texts = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));

  test('the cycle finder finds a cycle of three and ignores type-only imports', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(cycles(g)).toEqual([['a', 'b', 'c']]);
    expect(valueImports('/x/a.ts', "import type { A } from './b.ts';\nimport { type B } from './c.ts';\nimport { C, type D } from './d.ts';\nexport { E } from './e.ts';")).toEqual(['/x/d.ts', '/x/e.ts']);
  });

  test('no cycle of value imports', () => {
    const graph = new Map(files.map((f) => [f, valueImports(f, texts.get(f)!)]));
    expect(graph.get(path.join(SRC, 'analysis/audit.ts'))).toContain(path.join(SRC, 'analysis/classify.ts'));
    expect(cycles(graph).map((c) => c.map((f) => path.relative(SRC, f)))).toEqual([]);
  });
});
