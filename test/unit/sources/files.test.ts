import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isInputError } from '../../../src/errors.ts';
import { forEachLineOfFile, forEachLineOfText, readCappedFile } from '../../../src/sources/files.ts';
import { readHeapProfileFile } from '../../../src/sources/pprof.ts';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'memaudit-files-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function inputError(p: Promise<unknown>, re: RegExp): Promise<void> {
  const e = await p.then(
    () => new Error('no error'),
    (err: unknown) => err,
  );
  expect(isInputError(e)).toBe(true);
  expect((e as Error).message).toMatch(re);
}

const linesOf = async (file: string, max?: number) => {
  const out: [number, string][] = [];
  await forEachLineOfFile(file, 'a recording', (n, t) => out.push([n, t]), max);
  return out;
};

describe('forEachLineOfFile', () => {
  it('numbers every line from 1, blank ones included, with \\n or \\r\\n endings', async () => {
    const f = path.join(tmp, 'l.jsonl');
    writeFileSync(f, 'a\r\n\nb\nc');
    expect(await linesOf(f)).toEqual([
      [1, 'a'],
      [2, ''],
      [3, 'b'],
      [4, 'c'],
    ]);
    const same: [number, string][] = [];
    forEachLineOfText('a\r\n\nb\nc\n', (n, t) => same.push([n, t]));
    expect(same).toEqual(await linesOf(f));
  });

  it('refuses a line longer than the maximum, naming it', async () => {
    const f = path.join(tmp, 'long.jsonl');
    writeFileSync(f, `{"a":1}\n${'x'.repeat(300_000)}\n`);
    await inputError(linesOf(f, 100_000), /long\.jsonl:2: line longer than 100000 characters/);
  });

  it('refuses a FIFO without waiting for a writer, /dev/zero and a directory', async () => {
    const fifo = path.join(tmp, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await inputError(linesOf(fifo), /fifo: is a FIFO \(named pipe\); a recording must be a regular file/);
    await inputError(linesOf('/dev/zero'), /^\/dev\/zero: is a character device; a recording must be a regular file/);
    await inputError(linesOf(tmp), /is a directory; a recording must be a regular file/);
    await inputError(linesOf(path.join(tmp, 'nope')), /nope: cannot read: ENOENT/);
  });

  it('stops at an error thrown for a line and passes it on as it is', async () => {
    const f = path.join(tmp, 'stop.jsonl');
    writeFileSync(f, '1\n2\n3\n');
    const seen: number[] = [];
    const boom = new TypeError('boom');
    await expect(
      forEachLineOfFile(f, 'a recording', (n) => {
        seen.push(n);
        if (n === 2) throw boom;
      }),
    ).rejects.toBe(boom);
    expect(seen).toEqual([1, 2]);
  });
});

describe('readCappedFile and heap profiles', () => {
  it('refuses a file above the cap', async () => {
    const f = path.join(tmp, 'big.json');
    writeFileSync(f, 'x'.repeat(2000));
    await inputError(readCappedFile(f, 1000, 'a Prometheus response file'), /big\.json: a Prometheus response file of 2000 bytes is larger than the 1000-byte limit/);
    expect((await readCappedFile(f, 2000, 'x')).length).toBe(2000);
  });

  it('--pprof /dev/zero fails at once instead of reading forever', async () => {
    await inputError(readHeapProfileFile('/dev/zero'), /^\/dev\/zero: is a character device; a heap profile must be a regular file/);
  });
});
