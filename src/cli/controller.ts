import { readEnvironment } from '../config.ts';
import { pino } from 'pino';
import { defineCommand } from './command.ts';
import { ExitCode } from './exit-codes.ts';
import { CONTROLLER_FLAGS, CONTROLLER_USAGE, controllerConfigFromValues } from '../controller/runtime/flags.ts';
import { startController } from '../controller/start-controller.ts';

/**
 * `memaudit controller`: the Kubernetes operator. Runs until SIGTERM/SIGINT, then stops cleanly
 * (evidence saved, Lease released) and exits 0. The environment (POD_NAME, POD_NAMESPACE from the
 * Deployment's downward API) is read once, here.
 */
export const controllerCommand = defineCommand({
  help: CONTROLLER_USAGE.trimEnd(),
  options: CONTROLLER_FLAGS,
  operands: 'none',
  optionValues: { kubeconfig: 'file', 'kubelet-ca-file': 'file', 'kubelet-access': ['proxy', 'direct'], 'pprof-access': ['direct', 'proxy'], 'log-level': ['trace', 'debug', 'info', 'warn', 'error'] },
  async run({ values }) {
    const config = controllerConfigFromValues(values, readEnvironment());
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
});
