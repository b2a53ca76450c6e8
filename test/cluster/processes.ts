/**
 * Child processes of the control plane: started with their output in a log file, stopped with
 * SIGTERM and, if they linger, SIGKILL. A process that exits on its own before it is stopped is a
 * failure the caller hears of, with the end of its log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** One running child and its log. */
export interface Managed {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves when the child has exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** The last `lines` lines of a log, for error messages. */
export function tail(logFile: string, lines = 30): string {
  try {
    return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts `command` with stdout and stderr appended to `logFile`. */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  logFile: string,
  onUnexpectedExit: (message: string) => void,
): Managed {
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let stopping = false;
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      if (!stopping)
        onUnexpectedExit(
          `${name} exited (${signal ?? `code ${code}`}) before it was stopped; the end of ${logFile}:\n${tail(logFile)}`,
        );
      resolve(code);
    });
    child.on('error', (error) => {
      if (!stopping) onUnexpectedExit(`${name} could not start: ${error.message}`);
      resolve(null);
    });
  });
  const stop = async (): Promise<void> => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { name, child, logFile, exited, stop };
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` every `everyMs` until it returns true; throws `message()` after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  message: () => string,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
