/**
 * The absolute SLO e-process: an anytime-valid test of "the canary's error rate is at most pSlo"
 * (pSlo = 1 - min-success-rate), a prior-weighted mixture of likelihood ratios of alternatives
 * pSlo * multiplier. Pure: `updateSlo` returns a new state.
 */
import { DEFAULT_PRIOR, logMixture, restrictPrior } from './mixture.ts';
import type { Prior } from './mixture.ts';

/** State of the SLO e-process. */
export interface SloEProcess {
  readonly pSlo: number;
  /** Alternatives pSlo * multiplier that stay below 1, with their weights renormalised. */
  readonly prior?: Prior;
  /** Per alternative, log((1-p_k)/(1-pSlo)): what one success adds to its log likelihood ratio. */
  readonly successTerms: readonly number[];
  readonly logLR: readonly number[];
  readonly logE: number;
  readonly maxLogE: number;
  readonly requests: number;
  readonly errors: number;
}

/** A fresh SLO e-process for the error-rate limit `pSlo` in [0, 1]. */
export function createSloEProcess(pSlo: number, prior: Prior = DEFAULT_PRIOR): SloEProcess {
  if (!(pSlo >= 0 && pSlo <= 1))
    throw new RangeError(`error-rate limit must be in [0, 1], got ${pSlo}`);
  const kept = pSlo > 0 ? restrictPrior(prior, (g) => pSlo * g < 1) : undefined;
  const base = { pSlo, logE: 0, maxLogE: 0, requests: 0, errors: 0 };
  if (!kept) return { ...base, logLR: [], successTerms: [] };
  const okNull = Math.log1p(-pSlo);
  return {
    ...base,
    prior: kept,
    logLR: kept.multipliers.map(() => 0),
    successTerms: kept.multipliers.map((g) => Math.log1p(-pSlo * g) - okNull),
  };
}

/** The alternatives' error rates, pSlo * multiplier. */
export function sloAlternatives(state: SloEProcess): number[] {
  return (state.prior?.multipliers ?? []).map((g) => state.pSlo * g);
}

/**
 * Adds `requests` with `errors` among them: factor (p_k/pSlo)^S * ((1-p_k)/(1-pSlo))^(n-S) for each
 * alternative. A limit of 0 (100% success required) is rejected outright by any error; a limit of 1
 * can never be breached.
 */
export function updateSlo(state: SloEProcess, requests: number, errors: number): SloEProcess {
  if (!(errors >= 0 && errors <= requests)) {
    throw new RangeError(`errors (${errors}) must be within 0..requests (${requests})`);
  }
  const totals = { requests: state.requests + requests, errors: state.errors + errors };
  if (state.pSlo === 0) {
    const logE = totals.errors > 0 ? Infinity : 0;
    return { ...state, ...totals, logE, maxLogE: Math.max(state.maxLogE, logE) };
  }
  const prior = state.prior;
  if (!prior || requests === 0) return { ...state, ...totals };
  const ok = requests - errors;
  const logLR = new Array<number>(state.logLR.length);
  for (let k = 0; k < logLR.length; k++) {
    logLR[k] = state.logLR[k] + errors * prior.logMultipliers[k] + ok * state.successTerms[k];
  }
  const logE = logMixture(prior, logLR);
  return { ...state, ...totals, logLR, logE, maxLogE: Math.max(state.maxLogE, logE) };
}
