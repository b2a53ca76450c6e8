/** Small helpers for handling untyped JSON objects. */

/** A shallow copy of `object` without `keys`. */
export function omit<T extends Record<string, unknown>>(
  object: T,
  keys: readonly string[],
): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));
}

/** A value as text for messages: strings as they are, anything else as JSON. */
export function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value);
}
