import { UserError } from '../errors.ts';

const ACCEPTED =
  'a whole canary percent from 0 to 100 (e.g. 10), or a comma list of them (e.g. 10,25,50)';

/** Whole numbers only: Istio weights are integers, so `10.5` or `1e1` is a mistake, not a 10. */
const WHOLE = /^\d{1,3}$/;

/**
 * Parses the `weight` input: one canary percent, or a comma list of stages walked in one job.
 * Spaces around entries are allowed (`10, 25, 50` is how people write lists in YAML).
 *
 * A list must be strictly increasing. Each entry is a stage that shifts more traffic to the
 * canary and is watched before the next; a repeated entry would only watch the same split twice,
 * and a decreasing list (`50,10`) is almost always a typo for the reverse. Lowering the canary's
 * share is what `rollback` is for.
 */
export function parseWeights(text: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '') {
    throw new UserError(`Input "weight" must be ${ACCEPTED}, got an empty value`);
  }
  const weights = trimmed.split(',').map((entry) => parseEntry(entry.trim(), text));
  for (let i = 1; i < weights.length; i++) {
    if (weights[i] <= weights[i - 1]) {
      throw new UserError(
        `Input "weight" must list its stages in increasing order, each sending more traffic to ` +
          `the canary than the one before, got ${JSON.stringify(text)}`,
      );
    }
  }
  return weights;
}

function parseEntry(entry: string, text: string): number {
  if (entry === '') {
    throw new UserError(
      `Input "weight" has an empty entry in ${JSON.stringify(text)}; expected ${ACCEPTED}`,
    );
  }
  const value = WHOLE.test(entry) ? Number(entry) : NaN;
  if (!(value >= 0 && value <= 100)) {
    const where = entry === text.trim() ? '' : ` in ${JSON.stringify(text)}`;
    throw new UserError(`Input "weight" must be ${ACCEPTED}, got ${JSON.stringify(entry)}${where}`);
  }
  return value;
}

/** The two integer weights of one stage; they always sum to 100, as Istio's webhook requires. */
export interface StageWeights {
  stable: number;
  canary: number;
}

/** Splits 100 between stable and canary for a canary percent that `parseWeights` accepted. */
export function splitWeights(canaryWeight: number): StageWeights {
  if (!Number.isInteger(canaryWeight) || canaryWeight < 0 || canaryWeight > 100) {
    throw new RangeError(`canary weight must be an integer 0-100, got ${canaryWeight}`);
  }
  return { stable: 100 - canaryWeight, canary: canaryWeight };
}
