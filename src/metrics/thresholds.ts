import type { Version, WindowCounts } from './counters.ts';
import type { CheckResult, CustomCheckResult, Verdict, VersionStats } from './types.ts';

/** The absolute limits of a check, from the inputs of the same names. */
export interface ThresholdOptions {
  /** `min-success-rate`: percent of canary responses that must not be 5xx. */
  minSuccessRate: number;
  /** `max-latency`: canary latency limit in ms at `latencyPercentile`; undefined = off. */
  maxLatencyMs?: number;
  /** `latency-percentile`, 0-100. */
  latencyPercentile: number;
  /** `min-requests`: canary requests a check needs before it counts. */
  minRequests: number;
}

/**
 * The latency at `percentile` (0-100) of a cumulative histogram, the way PromQL's
 * `histogram_quantile` computes it: find the bucket holding the rank, interpolate linearly inside
 * it (from 0 for the first bucket), and answer the largest finite bound when the rank falls in the
 * `+Inf` bucket. Undefined when there is no `+Inf` bucket, fewer than two buckets, or no requests.
 * Counts that decrease with `le` (differencing can cause it) are raised to the running maximum,
 * as Prometheus does.
 */
export function latencyAtPercentile(
  buckets: { le: number; count: number }[],
  percentile: number,
): number | undefined {
  if (!(percentile >= 0 && percentile <= 100)) {
    throw new RangeError(`latency percentile ${percentile} is not within 0-100`);
  }
  const sorted = monotonic([...buckets].sort((a, b) => a.le - b.le));
  const last = sorted.length - 1;
  if (sorted.length < 2 || sorted[last].le !== Infinity) return undefined;
  const total = sorted[last].count;
  if (!(total > 0)) return undefined;
  const rank = (percentile / 100) * total;
  let b = sorted.findIndex((bucket, i) => i < last && bucket.count >= rank);
  if (b === -1) b = last;
  if (b === last) return sorted[last - 1].le;
  if (b === 0 && sorted[0].le <= 0) return sorted[0].le;
  const start = b === 0 ? 0 : sorted[b - 1].le;
  const below = b === 0 ? 0 : sorted[b - 1].count;
  const inBucket = sorted[b].count - below;
  if (inBucket <= 0) return start;
  return start + (sorted[b].le - start) * ((rank - below) / inBucket);
}

function monotonic(buckets: { le: number; count: number }[]): { le: number; count: number }[] {
  let max = 0;
  return buckets.map(({ le, count }) => {
    max = Math.max(max, count);
    return { le, count: max };
  });
}

/**
 * Judges one check window against the absolute thresholds and the custom checks.
 *
 * - A failed custom check fails the check, whatever the traffic.
 * - Fewer canary requests than `minRequests`: no-data (too little evidence to judge).
 * - Canary success rate below the minimum, or latency above the maximum: fail.
 * - A custom check without data, or canary latency unknown while `max-latency` is set: no-data,
 *   because a criterion the user asked for could not be judged.
 * Stable's figures are computed the same way and reported beside the canary's, never judged here.
 */
export function evaluateThresholds(
  window: Record<Version, WindowCounts>,
  opts: ThresholdOptions,
  custom: CustomCheckResult[],
  meta: { elapsedMs: number; weight: number },
): CheckResult {
  const canary = versionStats(window.canary, opts.latencyPercentile);
  const stable = versionStats(window.stable, opts.latencyPercentile);
  const failed = custom.filter((c) => c.verdict === 'fail').map(customReason);
  const missing: string[] = custom.filter((c) => c.verdict === 'no-data').map(customReason);
  if (canary.requests < opts.minRequests) {
    missing.unshift(
      `canary served ${plural(canary.requests, 'request')} in this window, fewer than the ${opts.minRequests} a check needs`,
    );
  } else {
    failed.unshift(...thresholdFailures(canary, opts));
    if (opts.maxLatencyMs !== undefined && canary.latencyMs === undefined) {
      missing.push('canary latency is unknown: no request duration histogram for this window');
    }
  }
  const verdict: Verdict = failed.length > 0 ? 'fail' : missing.length > 0 ? 'no-data' : 'pass';
  return {
    elapsedMs: meta.elapsedMs,
    weight: meta.weight,
    verdict,
    canary,
    stable,
    custom,
    reasons: verdict === 'fail' ? failed : verdict === 'no-data' ? missing : [],
  };
}

/** The success-rate and latency criteria that the canary breached, one sentence each. */
function thresholdFailures(canary: VersionStats, opts: ThresholdOptions): string[] {
  const reasons: string[] = [];
  const rate = canary.successRate;
  if (rate !== undefined && rate < opts.minSuccessRate) {
    const ok = canary.requests - canary.errors;
    reasons.push(
      `canary success rate ${percentBelow(rate, opts.minSuccessRate)} < ${formatNumber(opts.minSuccessRate)}% (${ok}/${canary.requests} requests)`,
    );
  }
  const latency = canary.latencyMs;
  if (opts.maxLatencyMs !== undefined && latency !== undefined && latency > opts.maxLatencyMs) {
    reasons.push(
      `canary p${formatNumber(opts.latencyPercentile)} latency ${formatNumber(latency)} ms > ${formatNumber(opts.maxLatencyMs)} ms`,
    );
  }
  return reasons;
}

/** Requests, errors, success rate and latency of one version in one window. */
export function versionStats(counts: WindowCounts, latencyPercentile: number): VersionStats {
  const stats: VersionStats = { requests: counts.requests, errors: counts.errors };
  if (counts.requests > 0) {
    stats.successRate = ((counts.requests - counts.errors) / counts.requests) * 100;
  }
  const latency = latencyAtPercentile(counts.buckets, latencyPercentile);
  if (latency !== undefined) stats.latencyMs = latency;
  return stats;
}

function customReason(c: CustomCheckResult): string {
  return c.reason ?? `custom check "${c.name}": ${c.verdict}`;
}

/**
 * A rate shown with one decimal, or more when rounding would make it look equal to (or above)
 * the limit it is below: 99.949 against 99.95 reads "99.949%", not "99.95% < 99.95%".
 */
function percentBelow(rate: number, limit: number): string {
  for (let digits = 1; digits < 6; digits++) {
    const shown = Number(rate.toFixed(digits));
    if (shown < limit) return `${shown}%`;
  }
  return `${rate}%`;
}

/** A number without needless digits: 500, 12.5, 0.1235, 12346. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value) || Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 1000) return String(Math.round(value));
  return String(Number(value.toPrecision(4)));
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
