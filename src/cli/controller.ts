import { readEnvironment } from '../config.ts';
import { pino } from 'pino';
import type { Command, CommandIo } from './command.ts';
import { ExitCode } from './exit-codes.ts';
import { CONTROLLER_USAGE, controllerConfigFromArgs } from '../controller/runtime/flags.ts';
import type { ControllerEnv } from '../controller/runtime/flags.ts';
import { startController } from '../controller/start-controller.ts';

/**
 * `memaudit controller`: the Kubernetes operator. Runs until SIGTERM/SIGINT, then stops cleanly
 * (evidence saved, Lease released) and exits 0.
 */
export const controllerCommand: Command = {
  async run(argv: string[], io: CommandIo, env: ControllerEnv = downwardApiEnv()): Promise<number> {
    const parsed = controllerConfigFromArgs(argv, env);
    if (parsed.help) {
      io.stdout.write(CONTROLLER_USAGE);
      return ExitCode.Ok;
    }
    const { config } = parsed;
    const log = pino({ level: config.logLevel, name: 'memaudit-controller' }, pino.destination({ dest: 1, sync: false }));
    const stop = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      log.info({ signal: sig }, 'Signal received');
      stop.abort();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    try {
      const running = await startController(config, log, stop.signal);
      await running.done;
      return ExitCode.Ok;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      log.flush();
    }
  },
};

/** POD_NAME / POD_NAMESPACE, set by the Deployment from the downward API. */
function downwardApiEnv(): ControllerEnv {
  return readEnvironment();
}
