import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expectInputError } from '../../helpers/errors.ts';
import { goSampleFromMemStats, parseMemStatsText } from '../../../src/sources/memstats.ts';

const DIR = path.join(import.meta.dirname, '../../fixtures/pprof');

describe('runtime.MemStats from /debug/pprof/heap?debug=1 (real captures)', () => {
  it('reads the block of a goroutine leaker, stacks included ("# Stack = inuse / sys")', () => {
    const text = readFileSync(path.join(DIR, 'goroutineleak-debug1.txt'), 'utf8');
    const m = parseMemStatsText(text, 'goroutineleak-debug1.txt');
    expect(m).toMatchObject({ HeapInuse: 3334144, HeapAlloc: 2702136, Sys: 46164248, StackInuse: 33161216, StackSys: 33161216, MSpanInuse: 208160, MSpanSys: 212160, NumGC: 0 });
    expect(goSampleFromMemStats(m)).toEqual({
      heapInuseBytes: 3334144,
      heapAllocBytes: 2702136,
      heapIdleBytes: 5447680,
      heapReleasedBytes: 5382144,
      heapSysBytes: 8781824,
      stackInuseBytes: 33161216,
      sysBytes: 46164248,
      nextGcBytes: 4194304,
      numGc: 0,
    });
  });

  it('refuses text without the block, and a block cut before HeapInuse', () => {
    const debug1 = readFileSync(path.join(DIR, 'heapleak-debug1.txt'), 'utf8');
    expectInputError(() => parseMemStatsText('heap profile: 1: 2 [3: 4] @ heap/1048576\n', 'x.txt'), /x\.txt: no "# runtime\.MemStats" block/);
    const cut = debug1.slice(0, debug1.indexOf('# HeapInuse'));
    expectInputError(() => parseMemStatsText(cut, 'cut.txt'), /cut\.txt: the runtime\.MemStats block has no HeapInuse line \(truncated\?\)/);
  });
});
