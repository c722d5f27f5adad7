// Writes the MemoryAudit CRD (crds/ and the chart's copy) from src/controller/api/v1alpha1.ts.
// Run: node_modules/.bin/node hack/gen-crd.ts. The unit test test/unit/controller/crd.test.ts
// regenerates in memory and fails when the checked-in files differ.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_PATHS, renderCrdYaml } from '../src/controller/api/crd.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const yaml = renderCrdYaml();
for (const rel of CRD_PATHS) {
  const file = path.join(root, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, yaml);
  process.stdout.write(`wrote ${rel}\n`);
}
