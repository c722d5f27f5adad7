// Prints, as one JSON line, the evidence bytes per container (bench/controller.ts
// measureEvidenceBytes) measured in a process of its own: heap figures taken in a process that
// has run other benchmarks mix in their garbage. Run with node --expose-gc.
import { measureEvidenceBytes } from './controller.ts';

const containers = Number(process.argv[2] ?? 4);
const hours = Number(process.argv[3] ?? 24);
console.log(JSON.stringify(measureEvidenceBytes(containers, hours)));
