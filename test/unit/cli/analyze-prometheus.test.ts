import path from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main.ts';

// The memory responses captured from a real Prometheus with the recipe of docs/formats.md
// (test/fixtures/prometheus/capture.ts) are what `analyze --prometheus` reads, as they are: each
// gives its trace's labelled verdict (a shared-memory leak is seen from cAdvisor's fields alone).
const DIR = path.join(import.meta.dirname, '../../fixtures/prometheus');

it.each([
  ['query_range-memory-pagecache-limit64m.json', 'shop/filesaver-0/app', 'CacheGrowth', null, 64 * 2 ** 20],
  ['query_range-memory-tmpfs-growth.json', 'shop/tmpfswriter-0/app', 'Leak', 'shmem', null],
])('analyze --prometheus %s', async (file, name, verdict, leakSource, limitBytes) => {
  let out = '';
  let err = '';
  const io = { stdout: new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }), stderr: new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) }) };
  const code = await main(['analyze', '--prometheus', path.join(DIR, file), '-o', 'json'], io);
  expect(err).toBe('');
  expect(code).toBe(0);
  expect(JSON.parse(out)).toMatchObject({ target: { kind: 'container', name }, verdict, leakSource, limitBytes });
});
