import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The processes of a tree: a pid and all its descendants, from the ppid field of /proc/PID/stat.
 * The per-process fallback sums the tree, because a command started as `sh -c ...` or a
 * supervisor keeps its memory in children.
 */
export async function processTree(rootPid: number, procRoot = '/proc'): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        const pid = Number(e);
        const ppid = await parentPid(pid, procRoot);
        if (ppid === undefined) return;
        const list = children.get(ppid);
        if (list) list.push(pid);
        else children.set(ppid, [pid]);
      }),
  );
  const tree: number[] = [];
  const alive = entries.includes(String(rootPid));
  const queue = alive ? [rootPid] : [];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    for (const c of children.get(pid) ?? []) queue.push(c);
  }
  return tree;
}

async function parentPid(pid: number, procRoot: string): Promise<number | undefined> {
  try {
    const stat = await readFile(path.join(procRoot, String(pid), 'stat'), 'utf8');
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    return Number.isFinite(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}
