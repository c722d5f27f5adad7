import type { Component } from '../model/verdict.ts';

/** The growth table's rows, in reading order (text and HTML reports). */
export const COMPONENT_ORDER: readonly Component[] = ['usage', 'workingSet', 'nonReclaimable', 'anon', 'goHeap', 'goStack', 'file', 'reclaimableFile', 'shmem', 'activeFileOrShmem', 'kernel', 'reclaimableSlab', 'dirty', 'rss'];
/** What the reports call each component. */
export const COMPONENT_LABEL: Readonly<Record<Component, string>> = {
  usage: 'usage',
  workingSet: 'working set',
  nonReclaimable: 'non-reclaimable',
  anon: 'anonymous',
  goHeap: 'Go heap in use',
  file: 'page cache (all)',
  reclaimableFile: 'page cache (reclaimable)',
  shmem: 'shmem / tmpfs',
  kernel: 'kernel',
  dirty: 'dirty + writeback',
  rss: 'resident set',
  activeFileOrShmem: 'cache not inactive',
  reclaimableSlab: 'reclaimable slab',
  goStack: 'Go stacks',
};
