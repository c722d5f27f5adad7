// Runs `memaudit controller` the way src/cli/bin.ts does, for as long as the command is not yet
// registered in src/cli/main.ts.
import { controllerCommand } from '../../../src/cli/controller.ts';
import { reportError } from '../../../src/cli/main.ts';

try {
  process.exitCode = await controllerCommand.run(process.argv.slice(2), process);
} catch (e) {
  process.exitCode = reportError(e, process.stderr);
}
