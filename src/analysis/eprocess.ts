/**
 * The e-processes of ANALYSIS.md: anytime-valid sequential tests that may be checked after every
 * window, forever, with the chance of ever rejecting a true null kept below alpha (Ville's
 * inequality). Everything here is pure: states are immutable and `update*` returns a new one.
 */

/** Multipliers of the null for the mixture's alternatives: geometric on [1.1, 20], 25 points. */
export const GRID: readonly number[] = geometricGrid(1.1, 20, 25);

/** `points` values spaced evenly in log scale from `min` to `max`, both included. */
export function geometricGrid(min: number, max: number, points: number): number[] {
  const step = Math.log(max / min) / (points - 1);
  return Array.from({ length: points }, (_, k) => min * Math.exp(step * k));
}

/** log(mean(exp(values))) without overflow; -Infinity for an empty list. */
export function logMeanExp(values: readonly number[]): number {
  if (values.length === 0) return -Infinity;
  const top = Math.max(...values);
  if (top === -Infinity || top === Infinity) return top;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - top);
  return top + Math.log(sum) - Math.log(values.length);
}

/**
 * One check window of a two-sample count comparison: canary and stable requests, and how many of
 * them were "events" (5xx responses, or responses slower than a latency boundary).
 */
export interface RatioWindow {
  canaryRequests: number;
  stableRequests: number;
  canaryEvents: number;
  stableEvents: number;
}

/** State of the ratio e-process: canary event rate / stable event rate <= r0 is the null. */
export interface RatioEProcess {
  /** The null ratio (the tolerance; 1 = no worse than stable). */
  readonly r0: number;
  /** Accumulated log likelihood ratio of each alternative r0 * GRID[k]. */
  readonly logLR: readonly number[];
  /** log E now. */
  readonly logE: number;
  /** Largest log E seen so far (the anytime p-value is exp(-maxLogE)). */
  readonly maxLogE: number;
  /** Windows that carried information, kept for the confidence bounds. */
  readonly windows: readonly RatioWindow[];
}

/** A fresh ratio e-process (E = 1) for null ratio `r0` > 0. */
export function createRatioEProcess(r0: number): RatioEProcess {
  if (!(r0 > 0) || !Number.isFinite(r0)) throw new RangeError(`null ratio must be > 0, got ${r0}`);
  return { r0, logLR: GRID.map(() => 0), logE: 0, maxLogE: 0, windows: [] };
}

/** True when the window says nothing about the ratio: its likelihood ratio is 1 for every r. */
export function isEmptyWindow(w: RatioWindow): boolean {
  return w.canaryRequests <= 0 || w.stableRequests <= 0 || w.canaryEvents + w.stableEvents <= 0;
}

/**
 * log L_j(r) against r0 for one window. With t0 the observed canary share and
 * t(r) = r*t0 / (r*t0 + 1 - t0), L = (t(r)/t(r0))^x * ((1-t(r))/(1-t(r0)))^y, which simplifies to
 * x*log(r/r0) - (x+y)*log((1 + (r-1)*t0) / (1 + (r0-1)*t0)); that form needs no small differences.
 */
export function windowLogLR(w: RatioWindow, r: number, r0: number): number {
  if (isEmptyWindow(w)) return 0;
  const t0 = w.canaryRequests / (w.canaryRequests + w.stableRequests);
  const x = w.canaryEvents;
  const total = w.canaryEvents + w.stableEvents;
  return x * Math.log(r / r0) - total * (Math.log1p((r - 1) * t0) - Math.log1p((r0 - 1) * t0));
}

/** Adds one window. Empty windows (no canary, no stable or no events) leave E unchanged. */
export function updateRatio(state: RatioEProcess, w: RatioWindow): RatioEProcess {
  assertCounts(w);
  if (isEmptyWindow(w)) return state;
  const logLR = state.logLR.map((acc, k) => acc + windowLogLR(w, state.r0 * GRID[k], state.r0));
  const logE = logMeanExp(logLR);
  return {
    r0: state.r0,
    logLR,
    logE,
    maxLogE: Math.max(state.maxLogE, logE),
    windows: [...state.windows, { ...w }],
  };
}

function assertCounts(w: RatioWindow): void {
  const ok =
    w.canaryEvents >= 0 &&
    w.stableEvents >= 0 &&
    w.canaryEvents <= w.canaryRequests &&
    w.stableEvents <= w.stableRequests;
  if (!ok) throw new RangeError(`window counts are inconsistent: ${JSON.stringify(w)}`);
}

/** The anytime p-value min(1, 1 / max E so far), for a state holding `maxLogE`. */
export function anytimePValue(state: { maxLogE: number }): number {
  return Math.min(1, Math.exp(-state.maxLogE));
}

/** True once E has reached 1/alpha at some point: the null is rejected at level alpha. */
export function rejects(state: { maxLogE: number }, alpha: number): boolean {
  return state.maxLogE >= -Math.log(alpha);
}

/**
 * log E for null `rho` over `windows`, with alternatives above (`side` 1: rho*g) or below
 * (`side` -1: rho/g) the null. Used to invert the test into a confidence set.
 */
export function mixtureLogE(windows: readonly RatioWindow[], rho: number, side: 1 | -1): number {
  const logs = GRID.map((g) => {
    const r = side === 1 ? rho * g : rho / g;
    let acc = 0;
    for (const w of windows) acc += windowLogLR(w, r, rho);
    return acc;
  });
  return logMeanExp(logs);
}

/** Anytime-valid bounds on the canary/stable ratio; 0 and Infinity when the data cannot bound it. */
export interface RatioBounds {
  lower: number;
  upper: number;
}

const SEARCH_MIN = 1e-6;
const SEARCH_MAX = 1e6;
const SEARCH_STEPS = 40;

/**
 * The confidence set {rho not rejected at alpha}, by bisection in log scale. The lower bound inverts
 * the test against larger ratios (the same mixture as the rollback test), the upper bound the mirror
 * test against smaller ratios. Each side is a confidence sequence at level alpha, so both together
 * hold with probability >= 1 - 2*alpha, at every window at once.
 */
export function ratioBounds(windows: readonly RatioWindow[], alpha: number): RatioBounds {
  const limit = -Math.log(alpha);
  const lowRejected = (rho: number): boolean => mixtureLogE(windows, rho, 1) >= limit;
  const highRejected = (rho: number): boolean => mixtureLogE(windows, rho, -1) >= limit;
  return {
    lower: boundary(lowRejected, 'rejected-below'),
    upper: boundary(highRejected, 'rejected-above'),
  };
}

/** Finds where a monotone rejection region ends, by bisection on log(rho). */
function boundary(
  rejected: (rho: number) => boolean,
  shape: 'rejected-below' | 'rejected-above',
): number {
  const below = shape === 'rejected-below';
  if (below && !rejected(SEARCH_MIN)) return 0;
  if (!below && !rejected(SEARCH_MAX)) return Infinity;
  if (below && rejected(SEARCH_MAX)) return SEARCH_MAX;
  if (!below && rejected(SEARCH_MIN)) return SEARCH_MIN;
  let lo = Math.log(SEARCH_MIN);
  let hi = Math.log(SEARCH_MAX);
  for (let i = 0; i < SEARCH_STEPS; i++) {
    const mid = (lo + hi) / 2;
    // Keep `lo` on the rejected side for a lower bound, on the accepted side for an upper one.
    if (rejected(Math.exp(mid)) === below) lo = mid;
    else hi = mid;
  }
  return Math.exp(below ? hi : lo);
}

/** State of the SLO e-process: null "canary error rate <= pSlo" (pSlo = 1 - min-success-rate). */
export interface SloEProcess {
  readonly pSlo: number;
  /** Alternatives pSlo * GRID[k] that stay below 1. */
  readonly alternatives: readonly number[];
  readonly logLR: readonly number[];
  readonly logE: number;
  readonly maxLogE: number;
  readonly requests: number;
  readonly errors: number;
}

/** A fresh SLO e-process for the error-rate limit `pSlo` in [0, 1]. */
export function createSloEProcess(pSlo: number): SloEProcess {
  if (!(pSlo >= 0 && pSlo <= 1))
    throw new RangeError(`error-rate limit must be in [0, 1], got ${pSlo}`);
  const alternatives = GRID.map((g) => pSlo * g).filter((p) => p < 1 && p > 0);
  return {
    pSlo,
    alternatives,
    logLR: alternatives.map(() => 0),
    logE: 0,
    maxLogE: 0,
    requests: 0,
    errors: 0,
  };
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
  if (state.alternatives.length === 0 || requests === 0) return { ...state, ...totals };
  const p0 = state.pSlo;
  const ok = requests - errors;
  const logLR = state.logLR.map((acc, k) => {
    const p = state.alternatives[k];
    return acc + errors * Math.log(p / p0) + ok * (Math.log1p(-p) - Math.log1p(-p0));
  });
  const logE = logMeanExp(logLR);
  return { ...state, ...totals, logLR, logE, maxLogE: Math.max(state.maxLogE, logE) };
}
