import { RunStopped } from './errors.ts';
import { seconds } from './net/deadline.ts';

/** Longest a run told to stop may take to restore the route on its own. */
export const CANCEL_GRACE_MS = 4500;
/**
 * How long the guard's own restore may take before the process exits regardless. With the grace,
 * 8.5 s in all: GitHub sends SIGTERM 7.5 s after SIGINT and kills 2.5 s later.
 */
export const RESTORE_BUDGET_MS = 4000;

/** What the guard knows of the run it protects, from the moment the run has a cluster client. */
export interface ProtectedRun {
  /** True once the run's first write to the cluster started. */
  wrote(): boolean;
  /**
   * Stops the run's own writes, waits for any in flight, and restores the route this run owns;
   * resolves to a line for the log. Absent for commands with nothing to restore.
   */
  restore?: () => Promise<string>;
  /** The step's deadline from now: its planned watches and the grace after them. */
  deadline?: { plannedMs: number; graceMs: number };
  /** The Kubernetes or Prometheus call running longest, for the deadline's message. */
  longestCall(): string | undefined;
  /** Hides the run's secrets from the guard's lines. */
  redact?: (text: string) => string;
}

/** The part of `process` the guard listens to and ends. */
export interface GuardHost {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  exit(code?: number): void;
}

export interface ExitGuardOptions {
  /** Aborted to tell the run to stop: it restores the route and ends non-zero. */
  controller: AbortController;
  /** One line to the person watching (stderr, a workflow warning); never throws. */
  warn: (line: string) => void;
  graceMs?: number;
  restoreBudgetMs?: number;
  host?: GuardHost;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Makes every way the process can end, short of SIGKILL and the OOM killer, end with the route
 * restored once the run has written to the cluster. A signal, an uncaught exception, an
 * unhandled rejection or the step's deadline tells the run to stop (the job's AbortSignal): its
 * own code restores and reports, and the exit code is non-zero. When it has not finished within
 * the grace, or the event loop runs dry with the run unfinished, the guard fences the run's
 * writes, restores the route itself and exits 1.
 */
export class ExitGuard {
  readonly #controller: AbortController;
  readonly #warn: (line: string) => void;
  readonly #graceMs: number;
  readonly #restoreBudgetMs: number;
  readonly #host: GuardHost;
  readonly #timers: NodeJS.Timeout[] = [];
  #run: ProtectedRun | undefined;
  #stopping = false;
  #done = false;
  #emergency: Promise<void> | undefined;

  constructor(options: ExitGuardOptions) {
    this.#controller = options.controller;
    this.#warn = options.warn;
    this.#graceMs = options.graceMs ?? CANCEL_GRACE_MS;
    this.#restoreBudgetMs = options.restoreBudgetMs ?? RESTORE_BUDGET_MS;
    this.#host = options.host ?? process;
  }

  /** Listens for the signals and the process-level failures; returns the guard. */
  install(): this {
    for (const name of SIGNALS) this.#host.on(name, () => this.#signal(name));
    this.#host.on('uncaughtException', (error) => this.#internal(error));
    this.#host.on('unhandledRejection', (reason) => this.#internal(reason));
    this.#host.on('beforeExit', () => this.#stalled());
    return this;
  }

  /** From now on the guard can restore `run`; starts the step's deadline. */
  protect(run: ProtectedRun): void {
    this.#run = run;
    const { deadline } = run;
    if (deadline === undefined) return;
    this.#timer(() => this.#deadline(deadline), deadline.plannedMs + deadline.graceMs);
  }

  /**
   * The run's own flow ended with `code`. Waits for a restore of the guard's that is under way
   * (it ends the process itself); returns the exit code, never 0 after the run was told to stop.
   */
  async finish(code: number): Promise<number> {
    this.#done = true;
    for (const timer of this.#timers) clearTimeout(timer);
    if (this.#emergency) await this.#emergency;
    return this.#stopping && code === 0 ? 1 : code;
  }

  #signal(name: string): void {
    if (this.#done || this.#stopping) return;
    const restoring = this.#canRestore();
    this.#say(
      restoring
        ? `Received ${name}: restoring the original route before exiting.`
        : `Received ${name}: stopping before anything more is written.`,
    );
    this.#stop();
  }

  #internal(error: unknown): void {
    const message = this.#redact(
      error instanceof Error ? error.message || error.name : String(error),
    );
    if (this.#done || this.#stopping) {
      this.#say(`Internal error while stopping: ${message}`);
      return;
    }
    const restoring = this.#canRestore();
    this.#say(
      `Internal error: ${message}. ${restoring ? 'Restoring the original route before exiting.' : 'Exiting.'}`,
    );
    this.#stop(new RunStopped(`The run stopped on an internal error (${message})`));
  }

  #deadline(deadline: { plannedMs: number; graceMs: number }): void {
    if (this.#done || this.#stopping) return;
    const hanging = this.#run?.longestCall();
    const message =
      `The step ran past its deadline of ${seconds(deadline.plannedMs + deadline.graceMs)} ` +
      `(${seconds(deadline.plannedMs)} of watches planned, ${seconds(deadline.graceMs)} of grace); ` +
      (hanging
        ? `the call still running: ${hanging}`
        : 'no Kubernetes or Prometheus call was running');
    this.#say(`${message}. Restoring the original route.`);
    this.#stop(new RunStopped(message));
  }

  /** The event loop is empty and the run never finished: nothing will ever finish it. */
  #stalled(): void {
    if (this.#done || this.#emergency) return;
    this.#stopping = true;
    this.#emergencyRestore('The run stopped making progress');
  }

  #stop(reason?: RunStopped): void {
    this.#stopping = true;
    this.#controller.abort(reason);
    this.#timer(
      () => this.#emergencyRestore(`The run did not finish within ${seconds(this.#graceMs)}`),
      this.#graceMs,
    );
  }

  #emergencyRestore(why: string): void {
    if (this.#emergency) return;
    this.#emergency = (async () => {
      const run = this.#run;
      if (run?.restore && run.wrote()) {
        this.#say(`${why}: restoring the original route now.`);
        try {
          this.#say(await within(run.restore(), this.#restoreBudgetMs));
        } catch (error) {
          this.#say(
            `The restore failed (${error instanceof Error ? error.message : String(error)}); run the rollback command.`,
          );
        }
      } else {
        this.#say(`${why}; exiting.`);
      }
      this.#host.exit(1);
    })();
  }

  #canRestore(): boolean {
    return this.#run?.restore !== undefined;
  }

  #redact(text: string): string {
    return this.#run?.redact?.(text) ?? text;
  }

  #say(line: string): void {
    try {
      this.#warn(this.#redact(line));
    } catch {
      // A line that cannot be written must not stop the restore.
    }
  }

  #timer(fn: () => void, ms: number): void {
    // Unreferenced: a finished run exits at once; a run whose loop runs dry meets #stalled.
    const timer = setTimeout(fn, ms);
    timer.unref();
    this.#timers.push(timer);
  }
}

/** `promise`, or a rejection once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`it did not finish within ${seconds(ms)}`)),
      ms,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
