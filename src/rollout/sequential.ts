/**
 * The sequential judge inside a watch: set up once per job, fed one window per check, concluded at
 * the end. The statistics live in src/analysis; this file turns counter differences into the
 * judge's windows and the judge's answers into checks and a report.
 */
import { createJudge } from '../analysis/judge.ts';
import type { Decision, Evidence, Judge, JudgeState } from '../analysis/judge.ts';
import type { Settings } from '../config/settings.ts';
import { windowCounts } from '../metrics/counters.ts';
import type { Snapshot, Version, WindowCounts } from '../metrics/counters.ts';
import type { CheckAnalysis, CheckResult } from '../metrics/types.ts';
import type { AnalysisReport } from '../report/report.ts';
import { chooseLatencyBoundaries, judgeWindow } from './judge-window.ts';

/** The judge of one job and what it has seen, carried from one weight's watch to the next. */
export interface SequentialAnalysis {
  readonly judge: Judge;
  readonly state: JudgeState;
  /** Checks at which the judge held because stable breached min-success-rate too. */
  readonly degradedChecks: number;
}

/** What one check of the judge gives the watch loop. */
export interface JudgedCheck {
  check: CheckResult;
  analysis: SequentialAnalysis;
  decision: Decision;
  /** The judge's sentence for this check. */
  sentence: string;
}

const NOTHING: Snapshot = { requests: [], buckets: [] };

/**
 * Sets up the judge at the start of a job's first watch. The latency boundaries come from stable's
 * histogram in `baseline`, the counters read right after the first weight change: counters are
 * cumulative, so that reading holds stable's whole history up to the stage (its own pods, every
 * earlier stage), and nothing of the windows the judge will test. They stay fixed for the job, so
 * the latency tests keep their meaning across the weights of a comma list.
 */
export function startAnalysis(
  settings: Pick<
    Settings,
    'alpha' | 'maxErrorRatio' | 'minSuccessRate' | 'minRequests' | 'maxLatencyMs'
  >,
  names: { canary: string; stable: string },
  baseline: Snapshot,
): SequentialAnalysis {
  const history = windowCounts(NOTHING, baseline);
  const knownLe = new Set([...history.stable.buckets, ...history.canary.buckets].map((b) => b.le));
  const judge = createJudge({
    alpha: settings.alpha,
    maxErrorRatio: settings.maxErrorRatio,
    minSuccessRate: settings.minSuccessRate,
    minRequests: settings.minRequests,
    latencyBoundariesMs: chooseLatencyBoundaries(
      history.stable.buckets,
      [...knownLe],
      settings.maxLatencyMs,
    ),
    canaryName: names.canary,
    stableName: names.stable,
  });
  return { judge, state: judge.initial(), degradedChecks: 0 };
}

/**
 * Judges one window. `absolute` is the same window checked against the limits that stay absolute
 * in both modes (custom metrics, `max-latency`, `min-requests`); the judge replaces the per-check
 * `min-success-rate` threshold and the failure count for it.
 */
export function judgeCheck(
  analysis: SequentialAnalysis,
  counts: Record<Version, WindowCounts>,
  absolute: CheckResult,
  firstAfterWeightChange: boolean,
): JudgedCheck {
  const { judge } = analysis;
  const window = judgeWindow(counts, judge.options.latencyBoundariesMs, firstAfterWeightChange);
  const o = judge.observe(analysis.state, window);
  const held = o.decision === 'hold-degraded';
  const next: SequentialAnalysis = {
    judge,
    state: o.state,
    degradedChecks: analysis.degradedChecks + (held ? 1 : 0),
  };
  const evidence = evidenceFields(o.evidence);
  const check: CheckResult = {
    ...checkVerdict(absolute, o.decision, o.sentence, firstAfterWeightChange),
    analysis: {
      decision: o.decision,
      ...evidence,
      degraded: o.evidence.degraded,
      sentence: o.sentence,
    },
  };
  return { check, analysis: next, decision: o.decision, sentence: o.sentence };
}

/**
 * The verdict shown for a check. The judge's rollback fails it; the first window after a weight
 * change is shown, not judged (as in threshold mode); otherwise the absolute limits decide, and a
 * hold for a degraded environment is not a failure of the canary.
 */
function checkVerdict(
  absolute: CheckResult,
  decision: Decision,
  sentence: string,
  warmUp: boolean,
): CheckResult {
  const failed = absolute.verdict === 'fail' ? absolute.reasons : [];
  if (decision === 'rollback') {
    const rolledBack: CheckResult = {
      ...absolute,
      verdict: 'fail',
      reasons: [sentence, ...failed],
    };
    return warmUp ? { ...rolledBack, warmUp: true } : rolledBack;
  }
  if (warmUp) {
    return {
      ...absolute,
      warmUp: true,
      verdict: 'no-data',
      reasons: ['first window after the weight change: shown, not judged'],
    };
  }
  if (decision === 'hold-degraded')
    return { ...absolute, reasons: [...absolute.reasons, sentence] };
  return absolute;
}

/** The judge's conclusion over every window of the job so far, for the report and the log. */
export function concludeAnalysis(analysis: SequentialAnalysis): AnalysisReport {
  const { judge, state } = analysis;
  const c = judge.conclude(state);
  const o = judge.options;
  return {
    outcome: c.outcome,
    sentence: c.sentence,
    alpha: o.alpha,
    alphaError: o.alphaError,
    alphaLatency: o.alphaLatency,
    alphaSlo: o.alphaSlo,
    maxErrorRatio: o.maxErrorRatio,
    minSuccessRate: o.minSuccessRate,
    noWorseRatio: o.noWorseRatio,
    latencyBoundariesMs: [...o.latencyBoundariesMs],
    windows: state.windowsSeen - state.windowsIgnored,
    warmUpWindows: state.windowsIgnored,
    degraded: analysis.degradedChecks > 0,
    evidence: evidenceFields(c.evidence),
  };
}

/** Largest e-value written: JSON has no Infinity, and beyond this no decision changes. */
const MAX_E = 1e300;

/** The judge's evidence as plain, JSON-safe numbers. */
export function evidenceFields(
  e: Evidence,
): Omit<CheckAnalysis, 'decision' | 'sentence' | 'degraded'> {
  const fields: Omit<CheckAnalysis, 'decision' | 'sentence' | 'degraded'> = {
    eError: cap(e.eError),
    pError: e.pValue,
    eLatency: cap(e.eLatency),
    pLatency: e.pLatency,
    eSlo: cap(e.eSlo),
    pSlo: e.pSlo,
    ratioLower: e.ratioLower,
  };
  if (e.ratioEstimate !== undefined && Number.isFinite(e.ratioEstimate)) {
    fields.ratio = e.ratioEstimate;
  }
  if (Number.isFinite(e.ratioUpper)) fields.ratioUpper = e.ratioUpper;
  return fields;
}

function cap(e: number): number {
  return Number.isNaN(e) ? 1 : Math.min(e, MAX_E);
}
