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
 * An error's stack for a log, a line a call: the message first (one line; loggers escape any line
 * break in it), then the frames, so that a message quoting hostile text cannot add lines.
 */
export function stackLines(error: Error): string[] {
  const stack = error.stack ?? '';
  const header = `${error.name}: ${error.message}`;
  const frames = stack.startsWith(header) ? stack.slice(header.length) : '';
  return [header, ...frames.split('\n').filter((line) => line.trim() !== '')];
}
