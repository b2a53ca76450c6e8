import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';

/** The bundled CLI, as a CI job starts it. */
export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

/** One run of `node dist/cli.js`. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: Record<string, string>;
  /**
   * Sees stdout + stderr after each chunk; may send the process a signal (once) or close our
   * end of its stdout, as `| head` does when it has read enough.
   */
  onOutput?: (output: string, control: CliControl) => void;
  /** Close our end of stdout before the CLI writes anything (`| true`). */
  closeStdoutAtStart?: boolean;
  /** The run is SIGKILLed after this long: a bound, never an assertion. */
  killAfterMs?: number;
}

export interface CliControl {
  signal(name: NodeJS.Signals): void;
  closeStdout(): void;
}

/** Runs the CLI with only the environment given (PATH and a HOME of nothing in particular). */
export async function runCli(args: string[], options: CliRunOptions = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let signalled = false;
  const control: CliControl = {
    signal(name) {
      if (signalled || child.exitCode !== null) return;
      signalled = true;
      child.kill(name);
    },
    closeStdout() {
      child.stdout.destroy();
    },
  };
  if (options.closeStdoutAtStart) control.closeStdout();
  const watch = (): void => options.onOutput?.(stdout + stderr, control);
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    watch();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    watch();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 120_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) =>
    child.on('exit', (c, s) => done([c, s])),
  );
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

/** Parses a dotenv file the CLI wrote. */
export function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n').filter(Boolean)) {
    const eq = line.indexOf('=');
    values[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return values;
}
