import type { CheckAnalysis, CheckResult } from '../metrics/types.ts';

/** How a command ended; the action's `result` output carries the same words. */
export type Outcome = 'passed' | 'rolled-back' | 'promoted' | 'noop' | 'dry-run';

/** Everything a person or a later tool needs to know about one command run. */
export interface StageReport {
  command: 'step' | 'promote' | 'rollback' | 'status';
  outcome: Outcome;
  namespace: string;
  virtualService: string;
  /** The route's name, or `http[i]` when it has none. */
  route: string;
  host: string;
  stableSubset?: string;
  canarySubset?: string;
  /** Canary percent before the command ran. */
  weightBefore: number;
  /** Canary percent when the command ended (after a rollback: what was restored). */
  weightAfter: number;
  /**
   * Canary percent in force when a step decided to roll back (rolled-back steps only): the
   * weight that failed, even when no check was made at it (metrics unreadable, a cancel).
   */
  breachWeight?: number;
  /** The stage's planned list of canary weights. */
  weights: number[];
  /** ISO 8601 timestamps. */
  startedAt: string;
  finishedAt: string;
  checks: CheckResult[];
  /** One sentence saying why the rollout was rolled back, or why it is a no-op. */
  reason?: string;
  /** The planned change in a dry run: before/after route objects. */
  plan?: { before: unknown; after: unknown };
  /** Seconds from the breach being seen to the route being restored (rolled-back only). */
  restoreSeconds?: number;
  /** The percentile the latency figures are taken at (`latency-percentile`); 99 when absent. */
  latencyPercentile?: number;
  /**
   * The canary over every watch of the job: requests and 5xx summed, success rate from those
   * sums, latency over the last weight's whole watch. Absent when nothing was watched.
   */
  canary?: { requests: number; errors: number; successRate?: number; latencyMs?: number };
  /** The sequential judge's conclusion over every weight of the job (`analysis: sequential`). */
  analysis?: AnalysisReport;
  /** Traffic verification, one per watched weight: the canary's observed share against its weight. */
  traffic?: TrafficReport[];
}

/** How the canary's observed share of requests compared with its weight over one watch. */
export interface TrafficReport {
  weight: number;
  /** `ok`, `low-evidence` (too few requests to tell) or `mismatch`. */
  verdict: 'ok' | 'low-evidence' | 'mismatch';
  /** Percent expected from the weight (and mirroring), and percent observed. */
  expectedPercent: number;
  observedPercent?: number;
  /** Requests counted. */
  requests: number;
  /** The comparison in one sentence, with the likely cause of a mismatch. */
  sentence: string;
}

/** How the sequential judge ended the job, with the numbers behind it. */
export interface AnalysisReport {
  /** `shown-no-worse`, `inconclusive`, `no-data` (too few canary requests) or `rolled-back`. */
  outcome: 'shown-no-worse' | 'inconclusive' | 'no-data' | 'rolled-back';
  /** The conclusion in one sentence. */
  sentence: string;
  /** Overall false-rollback budget, and its shares for the error, latency and SLO tests. */
  alpha: number;
  alphaError: number;
  alphaLatency: number;
  alphaSlo: number;
  /** Tolerated canary/stable error-rate ratio (`max-error-ratio`). */
  maxErrorRatio: number;
  /** `min-success-rate`, the limit of the SLO test (0 = off). */
  minSuccessRate: number;
  /** The upper bound a canary's error ratio must stay below to be shown no worse. */
  noWorseRatio: number;
  /** Histogram bounds (ms) at which slow requests were compared. */
  latencyBoundariesMs: number[];
  /** Windows judged and windows ignored as warm-up. */
  windows: number;
  warmUpWindows: number;
  /** Stable breached min-success-rate at some check: the judge held instead of blaming the canary. */
  degraded: boolean;
  /** The final evidence, as at a check. */
  evidence: Omit<CheckAnalysis, 'decision' | 'sentence' | 'degraded'>;
}

/** The names shown for each side; subsets when known, else the generic words. */
export interface SideNames {
  canary: string;
  stable: string;
}

/** Subset names to label canary and stable figures with. */
export function sideNames(report: Pick<StageReport, 'canarySubset' | 'stableSubset'>): SideNames {
  return { canary: report.canarySubset ?? 'canary', stable: report.stableSubset ?? 'stable' };
}

/** The latest canary figures of a report, for outputs and one-line descriptions. */
export interface LatestFigures {
  successRate?: number;
  latencyMs?: number;
  requests?: number;
}

/**
 * The canary's most recent success rate and latency, each from the latest check that had it: a
 * final no-data check should not hide what was measured a moment before.
 */
export function latestFigures(report: Pick<StageReport, 'checks'>): LatestFigures {
  const figures: LatestFigures = {};
  for (const check of report.checks) {
    if (check.canary.successRate !== undefined) {
      figures.successRate = check.canary.successRate;
      figures.requests = check.canary.requests;
    }
    if (check.canary.latencyMs !== undefined) figures.latencyMs = check.canary.latencyMs;
  }
  return figures;
}
