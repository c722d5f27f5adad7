// The labelled real traces, loaded for the benchmarks that judge verdicts on them (one loader with
// the acceptance test: test/helpers/labelled.ts).
import type { HeapProfile, MemorySample } from '../src/model/sample.ts';
import { labelledCases } from '../test/helpers/labelled.ts';

export interface LabelledTrace {
  name: string;
  truth: string;
  isLeak: boolean;
  samples: MemorySample[];
  profiles: HeapProfile[];
}

export async function loadLabelledTraces(): Promise<LabelledTrace[]> {
  return Promise.all(labelledCases().map(async (c) => ({ name: c.name, truth: c.truth, isLeak: c.isLeak, ...(await c.load()) })));
}
