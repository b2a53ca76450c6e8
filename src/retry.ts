import type { Clock } from './clock.ts';
import { UserError } from './errors.ts';
import { DeadlineError } from './net/errors.ts';
import type { Logger } from './logger.ts';

/** What a failed attempt means for the next one. */
export interface RetryDecision {
  /** Whether another attempt may succeed (429, 5xx, a dropped connection). */
  retry: boolean;
  /** How long the server asked us to wait (`Retry-After`), if it said. */
  retryAfterMs?: number;
}

/** How `withRetry` retries; only `what`, `classify` and `clock` are required. */
export interface RetryOptions {
  /** What is being tried, for messages: `GET virtualservices/backend`. */
  what: string;
  /** Decides whether an error is worth another attempt. */
  classify: (error: unknown) => RetryDecision;
  clock: Clock;
  /** Time budget for all attempts together; the last attempt starts no later than this. */
  maxElapsedMs?: number;
  /** First backoff ceiling; it doubles per attempt. */
  baseMs?: number;
  /** Largest backoff ceiling. */
  maxDelayMs?: number;
  /** Largest `Retry-After` wait we accept; a server asking for more gets this. */
  maxRetryAfterMs?: number;
  logger?: Logger;
  /** Stops retrying (the job is being cancelled). */
  signal?: AbortSignal;
  /** Source of jitter in [0, 1); tests pass a fixed one. */
  random?: () => number;
}

/**
 * Retries ran out. A person can act on it (the endpoint is down or wrong), so it is a UserError:
 * printed without a stack, naming what was tried, how often, for how long, and the last error.
 */
export class RetryExhaustedError extends UserError {
  override name = 'RetryExhaustedError';
  readonly attempts: number;
  readonly elapsedMs: number;
  constructor(message: string, attempts: number, elapsedMs: number, cause: unknown) {
    super(message, { cause });
    this.attempts = attempts;
    this.elapsedMs = elapsedMs;
  }
}

const DEFAULTS = { maxElapsedMs: 60_000, baseMs: 500, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 };

/**
 * Runs `fn` until it succeeds, an error is not retryable, the time budget is spent or `signal`
 * aborts. Backoff is exponential with full jitter (a random wait in [0, ceiling)), so that many
 * runners failing together do not retry together; a server's `Retry-After` replaces the backoff.
 * A non-retryable error is thrown as is, at once.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const o = { ...DEFAULTS, random: Math.random, ...definedOnly(options) };
  const start = o.clock.now();
  let previous: { error: unknown } | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      // Cut short by the signal after earlier failures: the earlier failure says more than the cut.
      if (o.signal?.aborted && previous) {
        const elapsed = o.clock.now() - start;
        throw giveUp(o.what, attempt, elapsed, previous.error, stopped(o.signal));
      }
      const decision = o.classify(error);
      if (!decision.retry) throw error;
      previous = { error };
      const elapsed = o.clock.now() - start;
      const remaining = o.maxElapsedMs - elapsed;
      const delay = nextDelay(attempt, decision, o);
      if (o.signal?.aborted) throw giveUp(o.what, attempt, elapsed, error, stopped(o.signal));
      if (remaining <= 0) throw giveUp(o.what, attempt, elapsed, error);
      if (decision.retryAfterMs !== undefined && delay > remaining) {
        throw giveUp(o.what, attempt, elapsed, error, `the server asked to wait ${seconds(delay)}`);
      }
      const wait = Math.min(delay, remaining);
      o.logger?.warn(
        `${o.what} failed (${describe(error)}); attempt ${attempt + 1} in ${seconds(wait)}`,
      );
      await o.clock.sleep(wait, o.signal);
      if (o.signal?.aborted) {
        throw giveUp(o.what, attempt, o.clock.now() - start, error, stopped(o.signal));
      }
    }
  }
}

/** Why the signal stopped the retries: the call's deadline, or the job's cancellation. */
function stopped(signal: AbortSignal): string {
  return signal.reason instanceof DeadlineError ? 'out of time' : 'cancelled';
}

/** Full jitter below an exponential ceiling, or the server's `Retry-After` (capped). */
function nextDelay(
  attempt: number,
  decision: RetryDecision,
  o: typeof DEFAULTS & { random: () => number },
): number {
  if (decision.retryAfterMs !== undefined) {
    return Math.min(Math.max(0, decision.retryAfterMs), o.maxRetryAfterMs);
  }
  const ceiling = Math.min(o.maxDelayMs, o.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(o.random() * ceiling);
}

function giveUp(
  what: string,
  attempts: number,
  elapsedMs: number,
  error: unknown,
  why?: string,
): RetryExhaustedError {
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  const because = why ? ` (${why})` : '';
  return new RetryExhaustedError(
    `${what} failed after ${tries} over ${seconds(elapsedMs)}${because}; last error: ${describe(error)}`,
    attempts,
    elapsedMs,
    error,
  );
}

/**
 * Parses a `Retry-After` header: delay-seconds or an HTTP date. Returns milliseconds from `now`
 * (never negative), or undefined when the header is absent or unreadable.
 */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // Date.parse reads almost anything ("1.5" is a date in 2001), so demand the shape of an HTTP date.
  if (!/^[A-Za-z]{3},? .*\d{2}:\d{2}:\d{2} GMT$/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** 429 and 5xx are worth another try, except 501 (the server will never do it). */
export function classifyHttpStatus(status: number): RetryDecision {
  return { retry: status === 429 || (status >= 500 && status <= 599 && status !== 501) };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/**
 * Whether an error is a transient network failure: refused, reset, timed out, a DNS lookup to
 * try again, or a socket hung up. Looks through `cause` chains (fetch wraps the real error), but
 * never into a UserError: that one was already judged final, often after its own retries.
 * ENOTFOUND is not transient here: a misspelt host name does not heal, and failing fast says so.
 */
export function isTransientNetworkError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Object; depth++) {
    if (current instanceof UserError) return false;
    const { code, message, cause } = current as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
    };
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (typeof message === 'string' && /socket hang up/i.test(message)) return true;
    current = cause;
  }
  return false;
}

/** The message of any thrown value, for log lines and error messages. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Drops undefined fields so that they do not override the defaults. */
function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
