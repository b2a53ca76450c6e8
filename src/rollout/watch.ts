import type { Settings } from '../config/settings.ts';
import {
  takeSnapshot,
  windowCounts,
  type Snapshot,
  type Version,
  type WindowCounts,
} from '../metrics/counters.ts';
import { runCustomChecks, type CustomMetricVars } from '../metrics/custom.ts';
import type { VersionSelector } from '../metrics/promql.ts';
import { evaluateThresholds } from '../metrics/thresholds.ts';
import type { CheckResult, CustomCheckResult, PrometheusClient } from '../metrics/types.ts';
import { formatCheckLine } from '../report/log-line.ts';
import type { AnalysisReport, TrafficReport } from '../report/report.ts';
import { stopReason } from '../errors.ts';
import { raceAbort } from '../net/deadline.ts';
import type { RolloutDeps } from './deps.ts';
import {
  clearMismatch,
  mismatchReason,
  verifyWatchShare,
  type TrafficExpectation,
} from './traffic.ts';
import type { TrafficShareResult } from '../istio/traffic-check.ts';
import { concludeAnalysis, judgeCheck, startAnalysis } from './sequential.ts';
import type { JudgedCheck, SequentialAnalysis } from './sequential.ts';

/** How one weight's watch ended. */
export type WatchOutcome =
  'passed' | 'breach' | 'no-data' | 'metrics-failed' | 'cancelled' | 'traffic-mismatch';

export interface WatchResult {
  outcome: WatchOutcome;
  checks: CheckResult[];
  /** One sentence for anything but a pass. */
  reason?: string;
  /** Clock time when the watch decided to roll back. */
  decidedAt?: number;
  /** Canary and stable counts over the whole watch of this weight (undefined without metrics). */
  total?: { canary: WindowCounts; stable: WindowCounts };
  /** The sequential judge after this watch, for the next weight of the job (sequential mode). */
  analysis?: SequentialAnalysis;
  /** The judge's conclusion over the job so far (sequential mode). */
  conclusion?: AnalysisReport;
  /** The canary's observed share of requests against its weight, over this watch. */
  traffic?: TrafficReport;
}

export interface WatchPlan {
  weight: number;
  canary: VersionSelector;
  stable: VersionSelector;
  /** Subset names, for log lines. */
  names: { canary: string; stable: string };
  /** The judge as an earlier weight of the same job left it; a fresh one when absent. */
  analysis?: SequentialAnalysis;
  /**
   * Verify the canary's share of requests against the weight, given what else sends it requests
   * (a tester route, a mirror). Absent: the watch judges the metrics only.
   */
  traffic?: TrafficExpectation;
}

/** What one check reads: the window's counts, the custom checks, and when. */
interface WindowReading {
  window: Record<Version, WindowCounts>;
  custom: CustomCheckResult[];
  elapsedMs: number;
}

/** What the loop carries from one check to the next. */
interface LoopState {
  checks: CheckResult[];
  failures: number;
  analysis?: SequentialAnalysis;
}

/**
 * Watches one weight for `duration`: a baseline of the raw counters when the weight is set, then
 * one check per `interval` on the counts of that window. Rolls back at once when the sequential
 * judge rejects the canary, when failed checks exceed `failure-limit`, when Prometheus stays
 * unreadable, or when the job is cancelled.
 */
export async function watchWeight(
  settings: Settings,
  deps: RolloutDeps,
  prom: PrometheusClient,
  plan: WatchPlan,
): Promise<WatchResult> {
  const { clock, signal } = deps;
  const started = clock.now();
  const deadline = started + settings.durationMs;
  const read = (): Promise<Snapshot> =>
    untilAborted(takeSnapshot(prom, plan.canary, plan.stable), signal);
  const loop: LoopState = { checks: [], failures: 0 };

  let baseline: Snapshot;
  try {
    baseline = await read();
  } catch (error) {
    return failed(signal, loop.checks, clock.now(), error);
  }
  if (settings.analysis === 'sequential') {
    loop.analysis = plan.analysis ?? startAnalysis(settings, plan.names, baseline);
  }
  let previous = baseline;
  while (clock.now() < deadline) {
    await clock.sleep(Math.min(settings.intervalMs, deadline - clock.now()), signal);
    if (signal.aborted) return withAnalysis(cancelled(loop.checks, clock.now(), signal), loop);
    try {
      const next = await read();
      const window = windowCounts(previous, next);
      previous = next;
      const custom = await untilAborted(
        runCustomChecks(prom, settings.metrics, customContext(settings, plan)),
        signal,
      );
      const elapsedMs = clock.now() - started;
      const ended =
        checkWindow(settings, deps, plan, loop, { window, custom, elapsedMs }) ??
        trafficMismatch(deps, plan, loop.checks);
      if (ended) {
        const total = windowCounts(baseline, previous);
        return withAnalysis(withTraffic({ ...ended, total }, deps, plan), loop);
      }
    } catch (error) {
      return withAnalysis(failed(signal, loop.checks, clock.now(), error), loop);
    }
  }
  const result = withAnalysis(
    withTraffic(endOfWatch(settings, deps, plan, loop.checks, baseline, previous), deps, plan),
    loop,
  );
  if (result.conclusion) deps.logger.info(`Sequential analysis: ${result.conclusion.sentence}.`);
  return result;
}

function customContext(settings: Settings, plan: WatchPlan): CustomMetricVars {
  return {
    namespace: plan.canary.namespace,
    canaryWorkloads: plan.canary.workloads,
    stableWorkloads: plan.stable.workloads,
    intervalMs: settings.intervalMs,
  };
}

/**
 * Judges one window, logs its line, and returns how the watch ends when this check ends it. In
 * threshold mode every criterion is an absolute limit and failed checks count against
 * `failure-limit`; in sequential mode the judge replaces the `min-success-rate` threshold, and only
 * the limits that stay absolute (custom metrics, `max-latency`) count as failed checks.
 */
function checkWindow(
  settings: Settings,
  deps: RolloutDeps,
  plan: WatchPlan,
  loop: LoopState,
  { window, custom, elapsedMs }: WindowReading,
): WatchResult | undefined {
  const first = loop.checks.length === 0;
  const meta = { elapsedMs, weight: plan.weight };
  let check: CheckResult;
  let judged: JudgedCheck | undefined;
  if (loop.analysis) {
    const absolute = evaluateThresholds(window, { ...settings, minSuccessRate: 0 }, custom, meta);
    judged = judgeCheck(loop.analysis, window, absolute, first);
    loop.analysis = judged.analysis;
    check = judged.check;
  } else {
    check = evaluateThresholds(window, settings, custom, meta);
    if (first) check = warmUp(check);
  }
  loop.checks.push(check);
  deps.logger.info(
    formatCheckLine(check, { names: plan.names, percentile: settings.latencyPercentile }),
  );
  const now = deps.clock.now();
  if (judged?.decision === 'rollback') {
    return {
      outcome: 'breach',
      checks: loop.checks,
      decidedAt: now,
      reason: `${judged.sentence}.`,
    };
  }
  // Said once as a warning; later checks show DEGRADED on their line.
  if (judged?.decision === 'hold-degraded' && judged.analysis.degradedChecks === 1) {
    deps.logger.warn(`${judged.sentence}.`);
  }
  const catastrophic = !judged && check.warmUp === true && check.verdict === 'fail';
  if (check.verdict === 'fail' && (++loop.failures > settings.failureLimit || catastrophic)) {
    const n = loop.failures;
    return {
      outcome: 'breach',
      checks: loop.checks,
      decidedAt: now,
      reason: `${check.reasons.join('; ')} (${n} failed check${n > 1 ? 's' : ''}, failure-limit ${settings.failureLimit}).`,
    };
  }
  return undefined;
}

/**
 * Ends the watch early when the canary's share of requests is clearly not what the weight
 * promises in every window after the warm-up: judging it further would judge the wrong traffic.
 */
function trafficMismatch(
  deps: RolloutDeps,
  plan: WatchPlan,
  checks: CheckResult[],
): WatchResult | undefined {
  const mismatch = plan.traffic && clearMismatch(checks, plan.weight, plan.traffic);
  if (!mismatch) return undefined;
  return {
    outcome: 'traffic-mismatch',
    checks,
    decidedAt: deps.clock.now(),
    reason: mismatchReason(mismatch),
  };
}

/** Adds the traffic verification of the watch's windows to its result, and logs it. */
function withTraffic(result: WatchResult, deps: RolloutDeps, plan: WatchPlan): WatchResult {
  if (!plan.traffic || result.checks.length === 0) return result;
  const share = verifyWatchShare(result.checks, plan.weight, plan.traffic);
  const line = `Traffic: ${share.sentence}`;
  if (share.verdict === 'mismatch') deps.logger.warn(line);
  else deps.logger.info(line);
  return { ...result, traffic: trafficReport(plan.weight, share) };
}

function trafficReport(weight: number, share: TrafficShareResult): TrafficReport {
  const report: TrafficReport = {
    weight,
    verdict: share.verdict,
    expectedPercent: share.expectedPercent,
    requests: share.requests,
    sentence: share.sentence,
  };
  if (share.observedPercent !== undefined) report.observedPercent = share.observedPercent;
  return report;
}

/**
 * The watch ran its full duration: passed, unless the canary's share of requests was not what
 * its weight promises (a mismatch over the whole watch), or no check ever had enough canary
 * requests.
 */
function endOfWatch(
  settings: Settings,
  deps: RolloutDeps,
  plan: WatchPlan,
  checks: CheckResult[],
  baseline: Snapshot,
  last: Snapshot,
): WatchResult {
  const total = windowCounts(baseline, last);
  const share = plan.traffic && verifyWatchShare(checks, plan.weight, plan.traffic);
  if (checks.length > 0 && share?.verdict === 'mismatch') {
    const reason = mismatchReason(share);
    return { outcome: 'traffic-mismatch', checks, reason, decidedAt: deps.clock.now(), total };
  }
  if (settings.durationMs > 0 && !checks.some((c) => c.verdict !== 'no-data')) {
    const reason = `No check had the ${settings.minRequests} canary requests it needs (the canary served ${total.canary.requests} in ${Math.round(settings.durationMs / 1000)}s at weight ${plan.weight}%).`;
    if (settings.onNoData === 'fail')
      return { outcome: 'no-data', checks, reason, decidedAt: deps.clock.now(), total };
    deps.logger.warn(`${reason} Passing because on-no-data is "pass".`);
  }
  return { outcome: 'passed', checks, total };
}

/** Adds the judge and its conclusion to a result of sequential mode. */
function withAnalysis(result: WatchResult, loop: LoopState): WatchResult {
  if (!loop.analysis) return result;
  return { ...result, analysis: loop.analysis, conclusion: concludeAnalysis(loop.analysis) };
}

/** Minimum canary requests for the catastrophic fast path (docs/analysis.md). */
const CATASTROPHIC_MIN_REQUESTS = 20;
/** Below this canary success rate the canary is failing outright, warm-up or not. */
const CATASTROPHIC_SUCCESS_RATE = 50;

/**
 * The first window after a weight change is not judged: Prometheus scrapes lag, so it can hold
 * traffic from before the change (another stage's errors, or traffic the canary no longer gets).
 * A canary failing outright is still rolled back at once.
 */
export function warmUp(check: CheckResult): CheckResult {
  const { requests, successRate } = check.canary;
  const catastrophic =
    requests >= CATASTROPHIC_MIN_REQUESTS &&
    successRate !== undefined &&
    successRate < CATASTROPHIC_SUCCESS_RATE;
  if (catastrophic) {
    return {
      ...check,
      warmUp: true,
      reasons: [`canary failing outright: ${check.reasons.join('; ')}`],
    };
  }
  return {
    ...check,
    warmUp: true,
    verdict: 'no-data',
    reasons: ['first window after the weight change: shown, not judged'],
  };
}

function failed(
  signal: AbortSignal,
  checks: CheckResult[],
  now: number,
  error: unknown,
): WatchResult {
  if (signal.aborted) return cancelled(checks, now, signal);
  const message = error instanceof Error ? error.message : String(error);
  return {
    outcome: 'metrics-failed',
    checks,
    decidedAt: now,
    reason: `Metrics could not be read after the weights moved, so the canary cannot be judged: ${message}`,
  };
}

function cancelled(checks: CheckResult[], now: number, signal: AbortSignal): WatchResult {
  const stopped = stopReason(signal);
  return {
    outcome: 'cancelled',
    checks,
    decidedAt: now,
    reason: stopped ? `${stopped}.` : 'The job was cancelled while the canary was being watched.',
  };
}

/** Races a promise against the job's cancellation, so a slow query cannot delay the restore. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return raceAbort(promise, signal, () => new Error(stopReason(signal) ?? 'cancelled'));
}
