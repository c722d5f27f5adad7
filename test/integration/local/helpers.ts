import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findMemoryCgroup } from '../../../src/local/cgroup-path.ts';
import type { MemoryCgroup } from '../../../src/local/cgroup-path.ts';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const MEMAUDIT = path.join(REPO, 'bin', 'memaudit');
export const APPS_BIN = path.join(process.env.MEMAUDIT_CACHE ?? path.join(os.homedir(), '.cache', 'memaudit'), 'apps', 'bin');

export const ownCgroup = (): Promise<MemoryCgroup> => findMemoryCgroup();

/** The memaudit-made cgroups below our own memory cgroup. */
export function memauditChildren(parentDir: string): string[] {
  return readdirSync(parentDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name.startsWith('memaudit-'))
    .map((d) => d.name);
}

/** Children made by the memaudit process with this pid (other runs may be going on meanwhile). */
export function childrenOfRun(parentDir: string, memauditPid: number): string[] {
  return memauditChildren(parentDir).filter((n) => n.startsWith(`memaudit-run-${memauditPid}-`) || n === `memaudit-self-${memauditPid}`);
}

export interface CliRun {
  child: ChildProcess;
  pid: number;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; seconds: number }>;
  /** Resolves when stderr (live lines, notices) matches. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<string>;
}

/** Starts ./bin/memaudit with these arguments (stdout and stderr piped, so no TTY). */
export function startMemaudit(args: string[], options: { cwd?: string } = {}): CliRun {
  const t0 = Date.now();
  const child = spawn(MEMAUDIT, args, { cwd: options.cwd ?? REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: (s: string) => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const w of [...waiters]) {
      const m = w.re.exec(stderr);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m[0]);
      }
    }
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; seconds: number }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, seconds: (Date.now() - t0) / 1000 }));
  });
  return {
    child,
    pid: child.pid!,
    done,
    waitForStderr(re, timeoutMs = 30_000) {
      const m = re.exec(stderr);
      if (m) return Promise.resolve(m[0]);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} on memaudit's stderr within ${timeoutMs} ms; got:\n${stderr}`)), timeoutMs);
        waiters.push({
          re,
          resolve: (s) => {
            clearTimeout(timer);
            resolve(s);
          },
        });
        void done.then(() => {
          clearTimeout(timer);
          reject(new Error(`memaudit exited before ${re}; stderr:\n${stderr}`));
        });
      });
    },
  };
}

export async function runMemaudit(args: string[]): Promise<Awaited<CliRun['done']> & { pid: number }> {
  const r = startMemaudit(args);
  return { ...(await r.done), pid: r.pid };
}

/** A TCP port that was free a moment ago, for a target's pprof listener. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Builds the Go audit targets (cached outside the checkout; a no-op when up to date). */
export async function buildApps(): Promise<string> {
  await promisify(execFile)(path.join(REPO, 'hack', 'build-apps.sh'), [APPS_BIN], { cwd: REPO, timeout: 600_000 });
  for (const app of ['filesaver', 'heapleak', 'mmapleak', 'tmpfswriter']) {
    if (!existsSync(path.join(APPS_BIN, app))) throw new Error(`hack/build-apps.sh did not build ${app} into ${APPS_BIN}`);
  }
  return APPS_BIN;
}

/** Whether a process exists (zombies included). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Parses memaudit's -o json stdout. */
export function report(stdout: string): Record<string, unknown> & { verdict: string; leakSource: string | null; run?: Record<string, unknown>; watch?: Record<string, unknown> } {
  try {
    return JSON.parse(stdout) as ReturnType<typeof report>;
  } catch {
    throw new Error(`memaudit's stdout is not JSON:\n${stdout}`);
  }
}
