/**
 * The canary-vs-stable judge. Two ways to feed it:
 * - at Prometheus's resolution: `add` for every new scrape (cheap, returns the decision at once),
 *   `report` once per log line (evidence, bounds and the sentence over everything so far), and
 *   `conclude` at the end of the watch. Every window is judged, including the one that straddles a
 *   weight change: the tests condition on each window's observed canary share.
 * - one window per check: `observe`, which ignores the first window after a weight change as
 *   warm-up (the way the watch loop has fed it so far), then reports.
 * The watch loop owns I/O and time; the judge owns the statistics and the words for them.
 */
import { combinedLogE, reasonFor } from './combine.ts';
import type { Part } from './combine.ts';
import { DEFAULT_PRIOR, anytimePValue, logMeanExp, rejects } from './mixture.ts';
import type { Prior } from './mixture.ts';
import { closeInterval, createRatioEProcess, ratioBounds, updateRatio } from './ratio.ts';
import type { RatioBounds, RatioEProcess, RatioWindow } from './ratio.ts';
import { createSloEProcess, updateSlo } from './slo.ts';
import type { SloEProcess } from './slo.ts';
import { concludeSentence, observeSentence } from './sentence.ts';

/** Counts of one version in one window (differences of raw counters, never rates). */
export interface VersionWindow {
  requests: number;
  /** 5xx responses. */
  errors: number;
  /** Requests slower than each latency boundary, keyed by the boundary in ms as written (`"250"`). */
  slow: Record<string, number>;
}

/**
 * The counts between two readings of the counters: one scrape or several. The two versions' counts
 * may end at different scrapes; a window in which one version has no requests waits for the next.
 */
export interface EvidenceWindow {
  canary: VersionWindow;
  stable: VersionWindow;
  /** The weights moved since the previous window: restarts the fast path's count. Still judged. */
  weightChanged?: boolean;
}

/** One check window of `observe`. */
export interface JudgeWindow {
  canary: VersionWindow;
  stable: VersionWindow;
  /** The first window after the weights moved: `observe` uses it only for the fast path. */
  firstAfterWeightChange: boolean;
}

/** Settings of the judge, read once from the step's inputs. */
export interface JudgeOptions {
  /** Overall false-rollback budget; shared by the error, latency and SLO tests. Default 0.01. */
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
  /** Compute the confidence bounds at every report (default) or only in `conclude` (cheaper). */
  boundsEveryWindow?: boolean;
  /** Alternatives of the mixtures and their weights. Default DEFAULT_PRIOR. */
  prior?: Prior;
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
  prior: Prior;
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
  /** Log of the latency e-processes' average now, and the largest so far. */
  readonly latencyLogE: number;
  readonly latencyMaxLogE: number;
  readonly sloCanary: SloEProcess;
  readonly sloStable: SloEProcess;
  /** Largest log of the rollback rule's combined e-value so far. */
  readonly combinedMaxLogE: number;
  /** Totals over the windows that count (warm-up windows of `observe` excluded). */
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
  /** The rollback rule's combined e-value now and its anytime p-value. */
  eCombined: number;
  pCombined: number;
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

/** The judge's state after a window, and what it decided. */
export interface Step {
  state: JudgeState;
  decision: Decision;
}

/** What `observe` and `report` return. */
export interface Observation extends Step {
  evidence: Evidence;
  sentence: string;
}

export type Outcome = 'shown-no-worse' | 'inconclusive' | 'no-data' | 'rolled-back';

/** What `conclude` returns at the end of a watch. */
export interface Conclusion {
  outcome: Outcome;
  evidence: Evidence;
  sentence: string;
  /** The state with the last interval closed: continue from it if the job goes on. */
  state: JudgeState;
}

/** The judge: pure functions closed over resolved options. */
export interface Judge {
  readonly options: ResolvedJudgeOptions;
  initial(): JudgeState;
  /** Adds one scrape's counts (or a few scrapes'); every window is judged. */
  add(state: JudgeState, window: EvidenceWindow): Step;
  /** Closes the interval since the last report: evidence, bounds and the sentence so far. */
  report(state: JudgeState): Observation;
  /** One check window: the first after a weight change is warm-up; then a report. */
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
    add: (state, window) => add(options, state, window),
    report: (state) => report(options, state, false),
    observe: (state, window) => observe(options, state, window),
    conclude: (state) => conclude(options, state),
  };
}

/**
 * Applies defaults and shares alpha: half to the error ratio, a quarter each to latency and the
 * SLO; a test that is off gives its share to the error ratio. The shares weight the average of
 * the tests' e-values that decides a rollback (see combine.ts).
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
    prior: opts.prior ?? DEFAULT_PRIOR,
  };
}

function initialState(o: ResolvedJudgeOptions): JudgeState {
  const pSlo = 1 - o.minSuccessRate / 100;
  return {
    error: createRatioEProcess(o.maxErrorRatio, o.prior),
    latency: o.latencyBoundariesMs.map(() => createRatioEProcess(1, o.prior)),
    latencyLogE: 0,
    latencyMaxLogE: 0,
    sloCanary: createSloEProcess(pSlo, o.prior),
    sloStable: createSloEProcess(pSlo, o.prior),
    combinedMaxLogE: 0,
    canary: zero(),
    stable: zero(),
    canarySinceChange: zero(),
    windowsSeen: 0,
    windowsIgnored: 0,
    bounds: { lower: 0, upper: Infinity },
  };
}

function add(o: ResolvedJudgeOptions, prev: JudgeState, w: EvidenceWindow): Step {
  assertWindow(w);
  const sinceChange = addTotals(w.weightChanged ? zero() : prev.canarySinceChange, w.canary);
  let state = accumulate(o, { ...prev, canarySinceChange: sinceChange }, w);
  state = latchRollback(o, state, prev.rollback, w.canary);
  return { state, decision: decide(o, state) };
}

function observe(o: ResolvedJudgeOptions, prev: JudgeState, w: JudgeWindow): Observation {
  assertWindow(w);
  if (!w.firstAfterWeightChange) {
    const { state } = add(o, prev, { canary: w.canary, stable: w.stable });
    return report(o, state, false);
  }
  const warm: JudgeState = {
    ...prev,
    canarySinceChange: addTotals(zero(), w.canary),
    windowsSeen: prev.windowsSeen + 1,
    windowsIgnored: prev.windowsIgnored + 1,
  };
  return report(o, latchRollback(o, warm, prev.rollback, w.canary), true);
}

/**
 * Decides once: the fast path (this window, or everything since the weights moved, below 50%
 * success over 20 or more requests), then the combined e-value; a decision taken stays.
 */
function latchRollback(
  o: ResolvedJudgeOptions,
  s: JudgeState,
  earlier: RollbackReason | undefined,
  window: Totals,
): JudgeState {
  if (earlier) return { ...s, rollback: earlier };
  if (catastrophic(window) || catastrophic(s.canarySinceChange)) {
    return { ...s, rollback: 'catastrophic' };
  }
  if (s.combinedMaxLogE >= -Math.log(o.alpha)) {
    return { ...s, rollback: reasonFor(o.alpha, parts(o, s)) ?? 'error-ratio' };
  }
  return s;
}

function accumulate(o: ResolvedJudgeOptions, s: JudgeState, w: EvidenceWindow): JudgeState {
  const error = updateRatio(s.error, {
    canaryRequests: w.canary.requests,
    stableRequests: w.stable.requests,
    canaryEvents: w.canary.errors,
    stableEvents: w.stable.errors,
  });
  const latency = s.latency.map((process, i) => {
    const slow = slowWindow(w, String(o.latencyBoundariesMs[i]));
    return slow ? updateRatio(process, slow) : process;
  });
  const latencyLogE = latency.length > 0 ? logMeanExp(latency.map((p) => p.logE)) : 0;
  const tests: Tests = {
    error,
    latency,
    latencyLogE,
    sloCanary: updateSlo(s.sloCanary, w.canary.requests, w.canary.errors),
    sloStable: updateSlo(s.sloStable, w.stable.requests, w.stable.errors),
    stable: addTotals(s.stable, w.stable),
  };
  return {
    ...s,
    ...tests,
    latencyMaxLogE: Math.max(s.latencyMaxLogE, latencyLogE),
    combinedMaxLogE: Math.max(s.combinedMaxLogE, combinedLogE(o.alpha, parts(o, tests))),
    canary: addTotals(s.canary, w.canary),
    windowsSeen: s.windowsSeen + 1,
  };
}

/**
 * The window of one latency boundary. A version without requests had no slow ones; a version
 * with requests whose histogram lacks the boundary says nothing this window (no window at all).
 */
function slowWindow(w: EvidenceWindow, key: string): RatioWindow | undefined {
  const slowC = w.canary.requests === 0 ? 0 : w.canary.slow[key];
  const slowS = w.stable.requests === 0 ? 0 : w.stable.slow[key];
  if (slowC === undefined || slowS === undefined) return undefined;
  return {
    canaryRequests: w.canary.requests,
    stableRequests: w.stable.requests,
    canaryEvents: slowC,
    stableEvents: slowS,
  };
}

/** What the rollback rule reads of a state. */
type Tests = Pick<
  JudgeState,
  'error' | 'latency' | 'latencyLogE' | 'sloCanary' | 'sloStable' | 'stable'
>;

/**
 * The tests' parts of the rollback rule. The SLO's part counts only while stable meets the SLO:
 * a canary breaching it alongside stable is an environment problem, held rather than rolled back.
 * Leaving a part out can only lower the average, so the rule stays valid.
 */
function parts(o: ResolvedJudgeOptions, s: Tests): Part<RollbackReason>[] {
  const out: Part<RollbackReason>[] = [
    { name: 'error-ratio', share: o.alphaError, logE: s.error.logE },
  ];
  if (s.latency.length > 0) {
    out.push({ name: 'latency', share: o.alphaLatency, logE: s.latencyLogE });
  }
  if (o.alphaSlo > 0 && !stableDegraded(o, s)) {
    out.push({ name: 'slo', share: o.alphaSlo, logE: s.sloCanary.logE });
  }
  return out;
}

function decide(o: ResolvedJudgeOptions, s: JudgeState): Decision {
  if (s.rollback) return 'rollback';
  if (o.alphaSlo > 0 && rejects(s.sloCanary, o.alphaSlo)) return 'hold-degraded';
  return 'continue';
}

function report(o: ResolvedJudgeOptions, prev: JudgeState, warmUp: boolean): Observation {
  const error = closeInterval(prev.error);
  const bounds = o.boundsEveryWindow
    ? intersect(prev.bounds, ratioBounds(error.intervals, o.alphaError, o.prior))
    : prev.bounds;
  const state: JudgeState = { ...prev, error, bounds };
  const decision = decide(o, state);
  const evidence = evidenceOf(o, state, warmUp);
  return { state, decision, evidence, sentence: observeSentence(o, decision, evidence, state) };
}

/**
 * Stable breaches the SLO too: its own SLO test rejects, or its observed error rate is above the
 * limit. The second, looser condition keeps a canary from being blamed while stable's evidence is
 * still gathering, at the price of holding rather than rolling back a little more often.
 */
export function stableDegraded(
  o: ResolvedJudgeOptions,
  s: Pick<JudgeState, 'stable' | 'sloStable'>,
): boolean {
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
  const evidence: Evidence = {
    eError: Math.exp(s.error.logE),
    pValue: anytimePValue(s.error),
    eLatency: Math.exp(s.latencyLogE),
    pLatency: anytimePValue({ maxLogE: s.latencyMaxLogE }),
    eSlo: Math.exp(s.sloCanary.logE),
    pSlo: anytimePValue(s.sloCanary),
    eCombined: Math.exp(combinedLogE(o.alpha, parts(o, s))),
    pCombined: anytimePValue({ maxLogE: s.combinedMaxLogE }),
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
  const error = closeInterval(s.error);
  const bounds = intersect(s.bounds, ratioBounds(error.intervals, o.alphaError, o.prior));
  const final: JudgeState = { ...s, error, bounds };
  const evidence = evidenceOf(o, final, false);
  const outcome = outcomeOf(o, final);
  return {
    outcome,
    evidence,
    sentence: concludeSentence(o, outcome, evidence, final),
    state: final,
  };
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

function addTotals(t: Totals, v: VersionWindow | Totals): Totals {
  return { requests: t.requests + v.requests, errors: t.errors + v.errors };
}

function zero(): Totals {
  return { requests: 0, errors: 0 };
}

function assertWindow(w: { canary: VersionWindow; stable: VersionWindow }): void {
  assertVersion('canary', w.canary);
  assertVersion('stable', w.stable);
}

function assertVersion(name: string, v: VersionWindow): void {
  let ok = isCount(v.requests) && isCount(v.errors) && v.errors <= v.requests;
  for (const key in v.slow) ok &&= isCount(v.slow[key]) && v.slow[key] <= v.requests;
  if (!ok) throw new RangeError(`${name} window counts are inconsistent: ${JSON.stringify(v)}`);
}

function isCount(c: number): boolean {
  return Number.isFinite(c) && c >= 0;
}
