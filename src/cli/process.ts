import { runCli } from './main.ts';
import { VERSION } from '../version.ts';

/** Longest a cancelled run may take to restore the route before the process exits anyway. */
const CANCEL_GRACE_MS = 4500;

/** The CLI bound to this process: argv, streams, signals, exit code. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) return;
    process.stderr.write(`Received ${signal}: restoring the original route before exiting.\n`);
    controller.abort();
    setTimeout(() => {
      process.stderr.write('The restore did not finish in time; run `istio-canary rollback`.\n');
      process.exit(1);
    }, CANCEL_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    signal: controller.signal,
    version: VERSION,
  });
}
