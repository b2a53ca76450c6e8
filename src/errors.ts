/**
 * An error a person can act on: wrong input, missing object, missing permission. Entry points
 * print its message without a stack trace. Anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  override name = 'UserError';
}

/**
 * A user error told in several lines of our own text: a list of findings, commands to run by
 * hand. Each line is fit for a log line as it is (whatever it quotes from the cluster is quoted
 * and escaped where the line is built), so a sink that shows one line per call prints `lines` one
 * by one instead of escaping the line breaks of `message`, which joins them.
 */
export class MultilineError extends UserError {
  override name = 'MultilineError';
  readonly lines: readonly string[];
  constructor(lines: readonly string[]) {
    super(lines.join('\n'));
    this.lines = lines;
  }
}

/** What a person reads of an error, a line each: a MultilineError's lines, else the message. */
export function errorLines(error: unknown): string[] {
  if (error instanceof MultilineError) return [...error.lines];
  return [error instanceof Error ? error.message : String(error)];
}

/** A conditional write lost a race: someone else changed the object since we read it. */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** The object named does not exist (HTTP 404). */
export class NotFoundError extends UserError {
  override name = 'NotFoundError';
}

/** The credentials may not do this (HTTP 403). */
export class ForbiddenError extends UserError {
  override name = 'ForbiddenError';
}

/**
 * An error's stack for a log, a line a call: the message first (one line; loggers escape any line
 * break in it), then the frames, so that a message quoting hostile text cannot add lines.
 */
export function stackLines(error: Error): string[] {
  const stack = error.stack ?? '';
  const header = `${error.name}: ${error.message}`;
  const frames = stack.startsWith(header) ? stack.slice(header.length) : '';
  return [header, ...frames.split('\n').filter((line) => line.trim() !== '')];
}

/**
 * Why a run was told to stop when it is not a plain cancellation: its deadline passed, or an
 * internal error struck outside the rollout's own flow. The watch and the report give its message.
 */
export class RunStopped extends UserError {
  override name = 'RunStopped';
}

/** The message of the signal's RunStopped reason, when it has one. */
export function stopReason(signal: AbortSignal): string | undefined {
  const reason: unknown = signal.aborted ? signal.reason : undefined;
  return reason instanceof RunStopped ? reason.message : undefined;
}
