import { DeadlineError } from './errors.ts';

/** A time budget for one call and its retries: an AbortSignal whose reason says what ran out. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Frees the timer; call it when the call is over, in every case. */
  dispose(): void;
}

/**
 * Starts a budget of `ms` for `what`. When it runs out the signal aborts with a DeadlineError
 * naming the call and the budget, so whatever was waiting on the network stops at once, trickle
 * or not. `outer` (the job's own deadline, a caller's budget) aborts it earlier.
 */
export function startDeadline(ms: number, what: string, outer?: AbortSignal): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new DeadlineError(
          `${what} did not complete within ${seconds(ms)} (the deadline of one call, retries included)`,
        ),
      ),
    ms,
  );
  // The timer only cuts a call short; it must not keep a finished process alive.
  timer.unref();
  const signal = outer ? AbortSignal.any([controller.signal, outer]) : controller.signal;
  return { signal, dispose: () => clearTimeout(timer) };
}

/** The error to throw for an aborted signal: its reason when we set one, else a plain sentence. */
export function abortError(signal: AbortSignal, what: string): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof DeadlineError) return reason;
  return new DeadlineError(`${what} was cut short: the run is ending`);
}

/**
 * `promise`, or the deadline's error as soon as `signal` aborts: for work the transport does not
 * see, such as a kubeconfig's exec credential plugin that never returns.
 */
export function withinDeadline<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  what: string,
): Promise<T> {
  return raceAbort(promise, signal, () => abortError(signal, what));
}

/**
 * `promise`, or `stopped()` as soon as `signal` aborts (at once when it already has). The
 * promise itself goes on: this is for waits that must not hold up what the abort starts.
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  stopped: () => Error,
): Promise<T> {
  if (signal.aborted) return Promise.reject(stopped());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(stopped());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** `12.5s`, or `2m` for whole minutes. */
export function seconds(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Number((ms / 1000).toFixed(1))}s`;
}
