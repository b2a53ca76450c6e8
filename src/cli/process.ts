import { ExitGuard } from '../exit-guard.ts';
import { safeWriter } from '../sink.ts';
import { VERSION } from '../version.ts';
import { runCli } from './main.ts';

/**
 * The CLI bound to this process: argv, streams, signals, exit code. Output to a closed stream is
 * dropped (the run goes on); every other way the process can end restores the route first.
 */
export async function main(): Promise<void> {
  const stderr = safeWriter(process.stderr);
  const stdout = safeWriter(process.stdout);
  const controller = new AbortController();
  const guard = new ExitGuard({ controller, warn: (line) => stderr(`${line}\n`) }).install();
  const code = await runCli(process.argv.slice(2), {
    stdout,
    stderr,
    env: process.env,
    signal: controller.signal,
    version: VERSION,
    protect: (run) => guard.protect(run),
  });
  process.exitCode = await guard.finish(code);
}
