import { UserError } from '../errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a Go-style duration as users write them in pipelines: `90s`, `5m`, `1h30m`, `500ms`,
 * or `0`. A bare number other than 0 is refused: "5" could mean seconds or minutes.
 */
export function parseDuration(input: string, text: string, maxMs: number): number {
  const value = text.trim();
  if (value === '0') return 0;
  const form = /^(?:\d+(?:ms|h|m|s))+$/;
  if (!form.test(value)) {
    throw new UserError(
      `Input "${input}" must be a duration such as 90s, 5m or 1h30m (units h, m, s, ms), or 0; got "${text}".`,
    );
  }
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)(ms|h|m|s)/g)) {
    total += Number(amount) * UNIT_MS[unit];
  }
  if (total > maxMs) {
    throw new UserError(
      `Input "${input}" is ${text}, more than the ${formatLimit(maxMs)} a pipeline job can wait.`,
    );
  }
  return total;
}

function formatLimit(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 1000}s`;
}
