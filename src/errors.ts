/**
 * An error a person can act on: wrong input, missing object, missing permission. Entry points
 * print its message without a stack trace. Anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  override name = 'UserError';
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
