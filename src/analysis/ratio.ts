/**
 * The canary-vs-stable ratio e-process: an anytime-valid sequential test of "the canary's event
 * rate is at most r0 times stable's" (events: 5xx responses, or requests slower than a latency
 * boundary). It may be checked after every window, forever, and the chance that it ever rejects a
 * true null stays below alpha (Ville's inequality). Pure: states are immutable, `update*` returns
 * a new one. The method is written up in docs/analysis.md.
 */
import { DEFAULT_PRIOR, logMixture } from './mixture.ts';
import type { Prior } from './mixture.ts';

/**
 * One window of a two-sample count comparison: canary and stable requests, and how many of them
 * were events. A window may be a single scrape, may straddle a weight change, and the two
 * versions' counts may come from scrapes at different moments: the test conditions on the
 * window's observed canary share, so all of these stay valid while each request's chance of being
 * an event does not change within the window.
 */
export interface RatioWindow {
  canaryRequests: number;
  stableRequests: number;
  canaryEvents: number;
  stableEvents: number;
}

/** State of the ratio e-process. */
export interface RatioEProcess {
  /** The null ratio (the tolerance; 1 = no worse than stable). */
  readonly r0: number;
  /** Alternatives r0 * multiplier and their weights. */
  readonly prior: Prior;
  /** Accumulated log likelihood ratio of each alternative. */
  readonly logLR: readonly number[];
  /** log E now: the prior-weighted mixture of the likelihood ratios. */
  readonly logE: number;
  /** Largest log E seen so far (the anytime p-value is exp(-maxLogE)). */
  readonly maxLogE: number;
  /**
   * Counts of windows that had requests on one side only: they say nothing about the ratio by
   * themselves (no share to compare), so they wait here and join the next window with both sides.
   */
  readonly pending: RatioWindow;
  /** The judged windows since the last `closeInterval`, summed. */
  readonly open: RatioWindow;
  /** One summed window per closed interval: what the confidence bounds are computed on. */
  readonly intervals: readonly RatioWindow[];
  /** Every judged window summed. */
  readonly totals: RatioWindow;
  /** Windows that carried events and moved E. */
  readonly informativeWindows: number;
}

const EMPTY: RatioWindow = {
  canaryRequests: 0,
  stableRequests: 0,
  canaryEvents: 0,
  stableEvents: 0,
};

/** A fresh ratio e-process (E = 1) for null ratio `r0` > 0. */
export function createRatioEProcess(r0: number, prior: Prior = DEFAULT_PRIOR): RatioEProcess {
  if (!(r0 > 0) || !Number.isFinite(r0)) throw new RangeError(`null ratio must be > 0, got ${r0}`);
  return {
    r0,
    prior,
    logLR: prior.multipliers.map(() => 0),
    logE: 0,
    maxLogE: 0,
    pending: EMPTY,
    open: EMPTY,
    intervals: [],
    totals: EMPTY,
    informativeWindows: 0,
  };
}

/** True when the window says nothing about the ratio: its likelihood ratio is 1 for every r. */
export function isEmptyWindow(w: RatioWindow): boolean {
  return w.canaryRequests <= 0 || w.stableRequests <= 0 || w.canaryEvents + w.stableEvents <= 0;
}

/** True when the window has requests on both sides, so its canary share is defined. */
export function hasBothSides(w: RatioWindow): boolean {
  return w.canaryRequests > 0 && w.stableRequests > 0;
}

/**
 * log L_j(r) against r0 for one window. With t0 the observed canary share and
 * t(r) = r*t0 / (r*t0 + 1 - t0), given the window's event total x + y the canary's events are
 * Binomial(x + y, t(r)), and L = (t(r)/t(r0))^x * ((1-t(r))/(1-t(r0)))^y, which simplifies to
 * x*log(r/r0) - (x+y)*log((1 + (r-1)*t0) / (1 + (r0-1)*t0)); that form needs no small differences.
 */
export function windowLogLR(w: RatioWindow, r: number, r0: number): number {
  if (isEmptyWindow(w)) return 0;
  const t0 = w.canaryRequests / (w.canaryRequests + w.stableRequests);
  const x = w.canaryEvents;
  const total = w.canaryEvents + w.stableEvents;
  return x * Math.log(r / r0) - total * (Math.log1p((r - 1) * t0) - Math.log1p((r0 - 1) * t0));
}

/** Sum of two windows. */
export function addWindows(a: RatioWindow, b: RatioWindow): RatioWindow {
  return {
    canaryRequests: a.canaryRequests + b.canaryRequests,
    stableRequests: a.stableRequests + b.stableRequests,
    canaryEvents: a.canaryEvents + b.canaryEvents,
    stableEvents: a.stableEvents + b.stableEvents,
  };
}

/**
 * Adds one window. A window with requests on one side only waits in `pending` and joins the next
 * window that has both (whether to wait depends on request counts only, never on events, so the
 * test stays valid). A window without events leaves E unchanged.
 */
export function updateRatio(state: RatioEProcess, w: RatioWindow): RatioEProcess {
  assertCounts(w);
  const merged = state.pending === EMPTY ? w : addWindows(state.pending, w);
  if (!hasBothSides(merged)) {
    if (merged.canaryRequests + merged.stableRequests === 0) return state;
    return { ...state, pending: merged };
  }
  const open = addWindows(state.open, merged);
  const totals = addWindows(state.totals, merged);
  if (isEmptyWindow(merged)) return { ...state, pending: EMPTY, open, totals };
  const logLR = accumulate(state, merged);
  const logE = logMixture(state.prior, logLR);
  return {
    r0: state.r0,
    prior: state.prior,
    logLR,
    logE,
    maxLogE: Math.max(state.maxLogE, logE),
    pending: EMPTY,
    open,
    intervals: state.intervals,
    totals,
    informativeWindows: state.informativeWindows + 1,
  };
}

/** Each alternative's log likelihood ratio plus this window's; t0 and the null term once. */
function accumulate(state: RatioEProcess, w: RatioWindow): number[] {
  const t0 = w.canaryRequests / (w.canaryRequests + w.stableRequests);
  const x = w.canaryEvents;
  const total = w.canaryEvents + w.stableEvents;
  const nullTerm = Math.log1p((state.r0 - 1) * t0);
  const { multipliers, logMultipliers } = state.prior;
  const out = new Array<number>(multipliers.length);
  for (let k = 0; k < multipliers.length; k++) {
    const r = state.r0 * multipliers[k];
    out[k] = state.logLR[k] + x * logMultipliers[k] - total * (Math.log1p((r - 1) * t0) - nullTerm);
  }
  return out;
}

/**
 * Ends the current interval: its summed window joins `intervals`, on which the confidence bounds
 * are computed. Pooling the windows of an interval is itself a valid test (a pooled window is a
 * window), and it keeps the bounds' cost to one window per interval however often scrapes land.
 */
export function closeInterval(state: RatioEProcess): RatioEProcess {
  if (!hasBothSides(state.open)) return state;
  return { ...state, intervals: [...state.intervals, state.open], open: EMPTY };
}

function assertCounts(w: RatioWindow): void {
  const ok =
    w.canaryEvents >= 0 &&
    w.stableEvents >= 0 &&
    w.canaryEvents <= w.canaryRequests &&
    w.stableEvents <= w.stableRequests &&
    Number.isFinite(w.canaryRequests + w.stableRequests);
  if (!ok) throw new RangeError(`window counts are inconsistent: ${JSON.stringify(w)}`);
}

/**
 * log E for null `rho` over `windows`, with alternatives above (`side` 1: rho*g) or below
 * (`side` -1: rho/g) the null, weighted by `prior`. Used to invert the test into a confidence set.
 */
export function mixtureLogE(
  windows: readonly RatioWindow[],
  rho: number,
  side: 1 | -1,
  prior: Prior = DEFAULT_PRIOR,
): number {
  return summaryLogE(summarise(windows), rho, side, prior);
}

/** The windows as the bounds need them: each one's canary events, event total and share. */
interface WindowSummary {
  x: Float64Array;
  total: Float64Array;
  share: Float64Array;
}

function summarise(windows: readonly RatioWindow[]): WindowSummary {
  const informative = windows.filter((w) => !isEmptyWindow(w));
  const n = informative.length;
  const out = { x: new Float64Array(n), total: new Float64Array(n), share: new Float64Array(n) };
  informative.forEach((w, j) => {
    out.x[j] = w.canaryEvents;
    out.total[j] = w.canaryEvents + w.stableEvents;
    out.share[j] = w.canaryRequests / (w.canaryRequests + w.stableRequests);
  });
  return out;
}

function summaryLogE(s: WindowSummary, rho: number, side: 1 | -1, prior: Prior): number {
  let events = 0;
  let nullTerm = 0;
  for (let j = 0; j < s.x.length; j++) {
    events += s.x[j];
    nullTerm += s.total[j] * Math.log1p((rho - 1) * s.share[j]);
  }
  const logs = prior.multipliers.map((g, k) => {
    const r = side === 1 ? rho * g : rho / g;
    let alt = 0;
    for (let j = 0; j < s.x.length; j++) alt += s.total[j] * Math.log1p((r - 1) * s.share[j]);
    return side * events * prior.logMultipliers[k] - (alt - nullTerm);
  });
  return logMixture(prior, logs);
}

/** Anytime-valid bounds on the canary/stable ratio; 0 and Infinity when the data cannot bound it. */
export interface RatioBounds {
  lower: number;
  upper: number;
}

const SEARCH_MIN = 1e-6;
const SEARCH_MAX = 1e6;
/**
 * Bisection steps on log(rho) over [1e-6, 1e6]: each bound to within 3e-5 in relative terms,
 * rounded outwards, which is finer than any report shows.
 */
const SEARCH_STEPS = 20;

/**
 * The confidence set {rho not rejected at alpha}, by bisection in log scale, each bound rounded
 * outwards. The lower bound inverts the test against larger ratios (the same mixture as the
 * rollback test), the upper bound the mirror test against smaller ratios. Each side is a
 * confidence sequence at level alpha, so both together hold with probability >= 1 - 2*alpha, at
 * every closed interval at once.
 */
export function ratioBounds(
  windows: readonly RatioWindow[],
  alpha: number,
  prior: Prior = DEFAULT_PRIOR,
): RatioBounds {
  const limit = -Math.log(alpha);
  const s = summarise(windows);
  const lowRejected = (rho: number): boolean => summaryLogE(s, rho, 1, prior) >= limit;
  const highRejected = (rho: number): boolean => summaryLogE(s, rho, -1, prior) >= limit;
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
  // Outwards: a lower bound at a rejected ratio, an upper bound at a rejected one, so the
  // interval reported always holds the whole confidence set.
  return Math.exp(below ? lo : hi);
}
