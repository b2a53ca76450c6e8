import type { Settings } from '../config/settings.ts';
import {
  takeSnapshot,
  windowCounts,
  type Snapshot,
  type WindowCounts,
} from '../metrics/counters.ts';
import { runCustomChecks } from '../metrics/custom.ts';
import type { VersionSelector } from '../metrics/promql.ts';
import { evaluateThresholds } from '../metrics/thresholds.ts';
import type { CheckResult, PrometheusClient } from '../metrics/types.ts';
import { formatCheckLine } from '../report/log-line.ts';
import type { RolloutDeps } from './deps.ts';

/** How one weight's watch ended. */
export type WatchOutcome = 'passed' | 'breach' | 'no-data' | 'metrics-failed' | 'cancelled';

export interface WatchResult {
  outcome: WatchOutcome;
  checks: CheckResult[];
  /** One sentence for anything but a pass. */
  reason?: string;
  /** Clock time when the watch decided to roll back. */
  decidedAt?: number;
  /** Canary and stable counts over the whole watch of this weight (undefined without metrics). */
  total?: { canary: WindowCounts; stable: WindowCounts };
}

export interface WatchPlan {
  weight: number;
  canary: VersionSelector;
  stable: VersionSelector;
  /** Subset names, for log lines. */
  names: { canary: string; stable: string };
}

/**
 * Watches one weight for `duration`: a baseline of the raw counters when the weight is set, then
 * one check per `interval` on the counts of that window. Rolls back at once when failed checks
 * exceed `failure-limit`, when Prometheus stays unreadable, or when the job is cancelled.
 */
export async function watchWeight(
  settings: Settings,
  deps: RolloutDeps,
  prom: PrometheusClient,
  plan: WatchPlan,
): Promise<WatchResult> {
  const { clock, logger, signal } = deps;
  const checks: CheckResult[] = [];
  const started = clock.now();
  const deadline = started + settings.durationMs;
  const read = (): Promise<Snapshot> =>
    untilAborted(takeSnapshot(prom, plan.canary, plan.stable), signal);

  let baseline: Snapshot;
  try {
    baseline = await read();
  } catch (error) {
    return failed(signal, checks, clock.now(), error);
  }
  let previous = baseline;
  let failures = 0;
  while (clock.now() < deadline) {
    await clock.sleep(Math.min(settings.intervalMs, deadline - clock.now()), signal);
    if (signal.aborted) return cancelled(checks, clock.now());
    let check: CheckResult;
    try {
      const next = await read();
      const window = windowCounts(previous, next);
      previous = next;
      const custom = await untilAborted(
        runCustomChecks(prom, settings.metrics, {
          namespace: plan.canary.namespace,
          canaryWorkloads: plan.canary.workloads,
          stableWorkloads: plan.stable.workloads,
          intervalMs: settings.intervalMs,
        }),
        signal,
      );
      check = evaluateThresholds(window, settings, custom, {
        elapsedMs: clock.now() - started,
        weight: plan.weight,
      });
      if (checks.length === 0) check = warmUp(check);
    } catch (error) {
      return failed(signal, checks, clock.now(), error);
    }
    checks.push(check);
    logger.info(
      formatCheckLine(check, { names: plan.names, percentile: settings.latencyPercentile }),
    );
    const catastrophic = check.warmUp === true && check.verdict === 'fail';
    if (check.verdict === 'fail' && (++failures > settings.failureLimit || catastrophic)) {
      const limit = settings.failureLimit;
      return {
        outcome: 'breach',
        checks,
        decidedAt: clock.now(),
        reason: `${check.reasons.join('; ')} (${failures} failed check${failures > 1 ? 's' : ''}, failure-limit ${limit}).`,
        total: windowCounts(baseline, previous),
      };
    }
  }
  const total = windowCounts(baseline, previous);
  if (settings.durationMs > 0 && !checks.some((c) => c.verdict !== 'no-data')) {
    const reason = `No check had the ${settings.minRequests} canary requests it needs (the canary served ${total.canary.requests} in ${Math.round(settings.durationMs / 1000)}s at weight ${plan.weight}%).`;
    if (settings.onNoData === 'fail')
      return { outcome: 'no-data', checks, reason, decidedAt: clock.now(), total };
    logger.warn(`${reason} Passing because on-no-data is "pass".`);
  }
  return { outcome: 'passed', checks, total };
}

/** Minimum canary requests for the catastrophic fast path (ANALYSIS.md). */
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
  if (signal.aborted) return cancelled(checks, now);
  const message = error instanceof Error ? error.message : String(error);
  return {
    outcome: 'metrics-failed',
    checks,
    decidedAt: now,
    reason: `Metrics could not be read after the weights moved, so the canary cannot be judged: ${message}`,
  };
}

function cancelled(checks: CheckResult[], now: number): WatchResult {
  return {
    outcome: 'cancelled',
    checks,
    decidedAt: now,
    reason: 'The job was cancelled while the canary was being watched.',
  };
}

/** Races a promise against the job's cancellation, so a slow query cannot delay the restore. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('cancelled'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
