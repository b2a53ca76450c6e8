/**
 * The canary-vs-stable judge: one pure `observe` per check window, one `conclude` at the end of the
 * watch. The watch loop owns I/O and time; the judge owns the statistics and the words for them.
 */
import {
  anytimePValue,
  createRatioEProcess,
  createSloEProcess,
  logMeanExp,
  ratioBounds,
  rejects,
  updateRatio,
  updateSlo,
} from './eprocess.ts';
import type { RatioBounds, RatioEProcess, SloEProcess } from './eprocess.ts';
import { concludeSentence, observeSentence } from './sentence.ts';

/** Counts of one version in one check window (differences of raw counters, never rates). */
export interface VersionWindow {
  requests: number;
  /** 5xx responses. */
  errors: number;
  /** Requests slower than each latency boundary, keyed by the boundary in ms as written (`"250"`). */
  slow: Record<string, number>;
}

/** One check window; windows never straddle a weight change. */
export interface JudgeWindow {
  canary: VersionWindow;
  stable: VersionWindow;
  /** The first window after the weights moved: used only by the catastrophic fast path (warm-up). */
  firstAfterWeightChange: boolean;
}

/** Settings of the judge, read once from the step's inputs. */
export interface JudgeOptions {
  /** Overall false-rollback budget; split between the error, latency and SLO tests. Default 0.01. */
  alpha?: number;
  /** Tolerated canary/stable error-rate ratio (the null r0). Default 1. */
  maxErrorRatio?: number;
  /** Percent of canary responses that must not be 5xx; 0 turns the SLO test off. */
  minSuccessRate: number;
  /** Latency boundaries (histogram `le` values, ms) at which slow requests are compared. */
  latencyBoundariesMs: number[];
  /** Canary requests the watch needs before it may pass. */
  minRequests: number;
  /** Ratio the upper confidence bound must be below for "shown no worse". Default max(2, r0). */
  noWorseRatio?: number;
  /** Names in sentences. Default "canary" and "stable". */
  canaryName?: string;
  stableName?: string;
  /** Compute the confidence bounds at every window (default) or only in `conclude` (cheaper). */
  boundsEveryWindow?: boolean;
}

/** Options with every default applied. */
export interface ResolvedJudgeOptions {
  alpha: number;
  alphaError: number;
  alphaLatency: number;
  alphaSlo: number;
  maxErrorRatio: number;
  minSuccessRate: number;
  latencyBoundariesMs: number[];
  minRequests: number;
  noWorseRatio: number;
  canaryName: string;
  stableName: string;
  boundsEveryWindow: boolean;
}

/** Running totals of one version over the windows that count. */
export interface Totals {
  requests: number;
  errors: number;
}

/** Everything the judge remembers; immutable, so a caller may keep old states for its report. */
export interface JudgeState {
  readonly error: RatioEProcess;
  /** One e-process per latency boundary, in the order of `latencyBoundariesMs`. */
  readonly latency: readonly RatioEProcess[];
  /** Largest log of the averaged latency e-process so far. */
  readonly latencyMaxLogE: number;
  readonly sloCanary: SloEProcess;
  readonly sloStable: SloEProcess;
  /** Totals over the windows that count (warm-up windows excluded). */
  readonly canary: Totals;
  readonly stable: Totals;
  /** Canary totals since the last weight change, warm-up included (for the fast path). */
  readonly canarySinceChange: Totals;
  readonly windowsSeen: number;
  readonly windowsIgnored: number;
  /** Running intersection of the confidence bounds (only with `boundsEveryWindow`). */
  readonly bounds: RatioBounds;
  /** Set once the judge has decided to roll back; the decision then stays. */
  readonly rollback?: RollbackReason;
}

export type RollbackReason = 'catastrophic' | 'error-ratio' | 'latency' | 'slo';
export type Decision = 'continue' | 'rollback' | 'hold-degraded';

/** The numbers behind a decision, for the log line and the JSON report. */
export interface Evidence {
  /** Error-rate e-value now, and its anytime p-value (from the largest E so far). */
  eError: number;
  pValue: number;
  /** Averaged latency e-value now and its anytime p-value; 1 and 1 without boundaries. */
  eLatency: number;
  pLatency: number;
  /** SLO e-value of the canary now and its anytime p-value. */
  eSlo: number;
  pSlo: number;
  /** Observed canary/stable error-rate ratio; undefined while stable has no errors. */
  ratioEstimate?: number;
  /** Confidence bounds on the ratio (level 1 - 2*alphaError); 0 and Infinity when unbounded. */
  ratioLower: number;
  ratioUpper: number;
  canarySuccessRate?: number;
  stableSuccessRate?: number;
  /** Stable itself breaches min-success-rate: the environment, not the canary, is degraded. */
  degraded: boolean;
  /** This window was ignored as warm-up. */
  warmUp: boolean;
  reason?: RollbackReason;
}

/** What `observe` returns. */
export interface Observation {
  state: JudgeState;
  decision: Decision;
  evidence: Evidence;
  sentence: string;
}

export type Outcome = 'shown-no-worse' | 'inconclusive' | 'no-data' | 'rolled-back';

/** What `conclude` returns at the end of a watch. */
export interface Conclusion {
  outcome: Outcome;
  evidence: Evidence;
  sentence: string;
}

/** The judge: pure functions closed over resolved options. */
export interface Judge {
  readonly options: ResolvedJudgeOptions;
  initial(): JudgeState;
  observe(state: JudgeState, window: JudgeWindow): Observation;
  conclude(state: JudgeState): Conclusion;
}

const CATASTROPHIC_MIN_REQUESTS = 20;
const CATASTROPHIC_SUCCESS = 0.5;

/** Builds a judge; throws RangeError on options no test could honour. */
export function createJudge(opts: JudgeOptions): Judge {
  const options = resolveOptions(opts);
  return {
    options,
    initial: () => initialState(options),
    observe: (state, window) => observe(options, state, window),
    conclude: (state) => conclude(options, state),
  };
}

/**
 * Applies defaults and splits alpha: half to the error ratio, a quarter each to latency and the SLO;
 * a test that is off gives its share to the error ratio. By the union bound the chance that any test
 * rolls back a canary that is no worse stays below alpha.
 */
export function resolveOptions(opts: JudgeOptions): ResolvedJudgeOptions {
  const alpha = opts.alpha ?? 0.01;
  const maxErrorRatio = opts.maxErrorRatio ?? 1;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(maxErrorRatio > 0))
    throw new RangeError(`max-error-ratio must be > 0, got ${maxErrorRatio}`);
  if (!(opts.minSuccessRate >= 0 && opts.minSuccessRate <= 100)) {
    throw new RangeError(`min-success-rate must be a percent, got ${opts.minSuccessRate}`);
  }
  const hasLatency = opts.latencyBoundariesMs.length > 0;
  const hasSlo = opts.minSuccessRate > 0;
  const latencyShare = hasLatency ? 0.25 : 0;
  const sloShare = hasSlo ? 0.25 : 0;
  return {
    alpha,
    alphaError: alpha * (1 - latencyShare - sloShare),
    alphaLatency: alpha * latencyShare,
    alphaSlo: alpha * sloShare,
    maxErrorRatio,
    minSuccessRate: opts.minSuccessRate,
    latencyBoundariesMs: [...opts.latencyBoundariesMs],
    minRequests: opts.minRequests,
    noWorseRatio: opts.noWorseRatio ?? Math.max(2, maxErrorRatio),
    canaryName: opts.canaryName ?? 'canary',
    stableName: opts.stableName ?? 'stable',
    boundsEveryWindow: opts.boundsEveryWindow ?? true,
  };
}

function initialState(o: ResolvedJudgeOptions): JudgeState {
  const pSlo = 1 - o.minSuccessRate / 100;
  return {
    error: createRatioEProcess(o.maxErrorRatio),
    latency: o.latencyBoundariesMs.map(() => createRatioEProcess(1)),
    latencyMaxLogE: 0,
    sloCanary: createSloEProcess(pSlo),
    sloStable: createSloEProcess(pSlo),
    canary: { requests: 0, errors: 0 },
    stable: { requests: 0, errors: 0 },
    canarySinceChange: { requests: 0, errors: 0 },
    windowsSeen: 0,
    windowsIgnored: 0,
    bounds: { lower: 0, upper: Infinity },
  };
}

function observe(o: ResolvedJudgeOptions, prev: JudgeState, w: JudgeWindow): Observation {
  assertWindow(w);
  const sinceChange = add(w.firstAfterWeightChange ? zero() : prev.canarySinceChange, w.canary);
  let state: JudgeState = {
    ...prev,
    canarySinceChange: sinceChange,
    windowsSeen: prev.windowsSeen + 1,
  };
  if (w.firstAfterWeightChange) state = { ...state, windowsIgnored: state.windowsIgnored + 1 };
  else state = accumulate(o, state, w);
  const reason = prev.rollback ?? rollbackReason(o, state, w);
  if (reason) state = { ...state, rollback: reason };
  const evidence = evidenceOf(o, state, w.firstAfterWeightChange);
  const decision = decide(o, state);
  return { state, decision, evidence, sentence: observeSentence(o, decision, evidence, state) };
}

function accumulate(o: ResolvedJudgeOptions, s: JudgeState, w: JudgeWindow): JudgeState {
  const error = updateRatio(s.error, {
    canaryRequests: w.canary.requests,
    stableRequests: w.stable.requests,
    canaryEvents: w.canary.errors,
    stableEvents: w.stable.errors,
  });
  const latency = s.latency.map((process, i) => {
    const key = String(o.latencyBoundariesMs[i]);
    const slowC = w.canary.slow[key];
    const slowS = w.stable.slow[key];
    // A boundary missing from either side says nothing this window: factor 1.
    if (slowC === undefined || slowS === undefined) return process;
    return updateRatio(process, {
      canaryRequests: w.canary.requests,
      stableRequests: w.stable.requests,
      canaryEvents: slowC,
      stableEvents: slowS,
    });
  });
  const latencyLogE = logMeanExp(latency.map((p) => p.logE));
  const bounds = o.boundsEveryWindow
    ? intersect(s.bounds, ratioBounds(error.windows, o.alphaError))
    : s.bounds;
  return {
    ...s,
    error,
    latency,
    latencyMaxLogE: latency.length > 0 ? Math.max(s.latencyMaxLogE, latencyLogE) : 0,
    sloCanary: updateSlo(s.sloCanary, w.canary.requests, w.canary.errors),
    sloStable: updateSlo(s.sloStable, w.stable.requests, w.stable.errors),
    canary: add(s.canary, w.canary),
    stable: add(s.stable, w.stable),
    bounds,
  };
}

function rollbackReason(
  o: ResolvedJudgeOptions,
  s: JudgeState,
  w: JudgeWindow,
): RollbackReason | undefined {
  if (catastrophic(w.canary) || catastrophic(s.canarySinceChange)) return 'catastrophic';
  if (rejects(s.error, o.alphaError)) return 'error-ratio';
  if (o.alphaLatency > 0 && rejects({ maxLogE: s.latencyMaxLogE }, o.alphaLatency))
    return 'latency';
  if (o.alphaSlo > 0 && rejects(s.sloCanary, o.alphaSlo) && !stableDegraded(o, s)) return 'slo';
  return undefined;
}

function decide(o: ResolvedJudgeOptions, s: JudgeState): Decision {
  if (s.rollback) return 'rollback';
  if (o.alphaSlo > 0 && rejects(s.sloCanary, o.alphaSlo)) return 'hold-degraded';
  return 'continue';
}

/**
 * Stable breaches the SLO too: its own SLO test rejects, or its observed error rate is above the
 * limit. The second, looser condition keeps a canary from being blamed while stable's evidence is
 * still gathering, at the price of holding rather than rolling back a little more often.
 */
export function stableDegraded(o: ResolvedJudgeOptions, s: JudgeState): boolean {
  if (o.alphaSlo === 0) return false;
  const rate = s.stable.requests > 0 ? s.stable.errors / s.stable.requests : 0;
  return rejects(s.sloStable, o.alphaSlo) || rate > s.sloStable.pSlo;
}

function catastrophic(t: Totals): boolean {
  return (
    t.requests >= CATASTROPHIC_MIN_REQUESTS &&
    t.requests - t.errors < CATASTROPHIC_SUCCESS * t.requests
  );
}

function evidenceOf(o: ResolvedJudgeOptions, s: JudgeState, warmUp: boolean): Evidence {
  const latencyLogE = logMeanExp(s.latency.map((p) => p.logE));
  const evidence: Evidence = {
    eError: Math.exp(s.error.logE),
    pValue: anytimePValue(s.error),
    eLatency: s.latency.length > 0 ? Math.exp(latencyLogE) : 1,
    pLatency: anytimePValue({ maxLogE: s.latencyMaxLogE }),
    eSlo: Math.exp(s.sloCanary.logE),
    pSlo: anytimePValue(s.sloCanary),
    ratioLower: s.bounds.lower,
    ratioUpper: s.bounds.upper,
    degraded: stableDegraded(o, s),
    warmUp,
  };
  const ratio = ratioEstimate(s);
  if (ratio !== undefined) evidence.ratioEstimate = ratio;
  if (s.canary.requests > 0) evidence.canarySuccessRate = successRate(s.canary);
  if (s.stable.requests > 0) evidence.stableSuccessRate = successRate(s.stable);
  if (s.rollback) evidence.reason = s.rollback;
  return evidence;
}

function conclude(o: ResolvedJudgeOptions, s: JudgeState): Conclusion {
  const bounds = intersect(s.bounds, ratioBounds(s.error.windows, o.alphaError));
  const final: JudgeState = { ...s, bounds };
  const evidence = evidenceOf(o, final, false);
  const outcome = outcomeOf(o, final);
  return { outcome, evidence, sentence: concludeSentence(o, outcome, evidence, final) };
}

function outcomeOf(o: ResolvedJudgeOptions, s: JudgeState): Outcome {
  if (s.rollback) return 'rolled-back';
  if (s.canary.requests < Math.max(1, o.minRequests)) return 'no-data';
  return s.bounds.upper < o.noWorseRatio ? 'shown-no-worse' : 'inconclusive';
}

/** Observed ratio of error rates, canary over stable. */
export function ratioEstimate(s: { canary: Totals; stable: Totals }): number | undefined {
  if (s.canary.requests === 0 || s.stable.requests === 0 || s.stable.errors === 0) return undefined;
  return s.canary.errors / s.canary.requests / (s.stable.errors / s.stable.requests);
}

function successRate(t: Totals): number {
  return (100 * (t.requests - t.errors)) / t.requests;
}

function intersect(a: RatioBounds, b: RatioBounds): RatioBounds {
  return { lower: Math.max(a.lower, b.lower), upper: Math.min(a.upper, b.upper) };
}

function add(t: Totals, v: VersionWindow | Totals): Totals {
  return { requests: t.requests + v.requests, errors: t.errors + v.errors };
}

function zero(): Totals {
  return { requests: 0, errors: 0 };
}

function assertWindow(w: JudgeWindow): void {
  for (const [name, v] of [
    ['canary', w.canary],
    ['stable', w.stable],
  ] as const) {
    const counts = [v.requests, v.errors, ...Object.values(v.slow)];
    const ok = counts.every((c) => Number.isFinite(c) && c >= 0) && v.errors <= v.requests;
    const slowOk = Object.values(v.slow).every((c) => c <= v.requests);
    if (!ok || !slowOk)
      throw new RangeError(`${name} window counts are inconsistent: ${JSON.stringify(v)}`);
  }
}
