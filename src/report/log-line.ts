import { formatP, formatRatio } from '../analysis/sentence.ts';
import type { CheckAnalysis, CheckResult, CustomCheckResult, Verdict } from '../metrics/types.ts';
import type { SideNames } from './report.ts';

/** Labels for one check line; the subset names and the latency percentile of the run. */
export interface CheckLineOptions {
  names?: SideNames;
  /** `latency-percentile`; 99 when absent. */
  percentile?: number;
}

/** `0s`, `45s`, `1m30s`, `2m`, `1h2m`: short enough for a log column, exact to the second. */
export function formatDuration(ms: number): string {
  const totalSeconds = Number.isFinite(ms) && ms > 0 ? Math.round(ms / 1000) : 0;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return minutes > 0 ? `${hours}h${minutes}m` : `${hours}h`;
  if (minutes > 0) return seconds > 0 ? `${minutes}m${seconds}s` : `${minutes}m`;
  return `${seconds}s`;
}

/**
 * A success rate to one decimal, rounded down: 99.96% must not read as 100%, which would say
 * "no errors" when there were some. Exactly 100 prints as `100%`.
 */
export function formatPercent(rate: number | undefined): string {
  if (rate === undefined || !Number.isFinite(rate)) return 'n/a';
  if (rate >= 100) return '100%';
  return `${(Math.floor(rate * 10) / 10).toFixed(1)}%`;
}

/** Milliseconds with the precision that matters at each scale: `4.5ms`, `84ms`, `1.25s`. */
export function formatLatency(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return 'n/a';
  if (ms < 10) return `${(Math.round(ms * 10) / 10).toString()}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

/** `p99`, `p99.9`. */
export function percentileLabel(percentile: number | undefined): string {
  return `p${percentile ?? 99}`;
}

/** The verdict as the log and the summary spell it. */
export function verdictLabel(verdict: Verdict): string {
  if (verdict === 'pass') return 'PASS';
  if (verdict === 'fail') return 'FAIL';
  return 'NO DATA';
}

/**
 * The label of a check's outcome: the verdict, or WARM-UP for a first window that was shown but
 * not judged, or DEGRADED when the sequential judge held because stable breaches the SLO too.
 */
export function checkLabel(check: CheckResult): string {
  if (check.verdict === 'fail') return verdictLabel(check.verdict);
  if (check.warmUp) return 'WARM-UP';
  if (check.analysis?.decision === 'hold-degraded') return 'DEGRADED';
  return verdictLabel(check.verdict);
}

/** An e-value compact: `0.42`, `3.1`, `250`, `1.2e+5`. */
export function formatE(e: number): string {
  if (!Number.isFinite(e)) return String(e);
  if (e >= 1e4) return e.toExponential(1);
  if (e >= 100) return String(Math.round(e));
  return String(Number(e.toPrecision(2)));
}

/** The observed canary/stable error ratio and its upper confidence bound: `1.2x (<= 4.1x)`. */
export function formatErrorRatio(a: CheckAnalysis): string {
  const observed = a.ratio === undefined ? 'n/a' : `${formatRatio(a.ratio)}x`;
  const upper = a.ratioUpper === undefined ? 'unbounded' : `${formatRatio(a.ratioUpper)}x`;
  return `${observed} (<= ${upper})`;
}

/**
 * The sequential judge's numbers, compact, for one log line:
 * `E err 3.1 slow 0.9 slo 0.2 p=0.32 ratio 1.2x (<= 4.1x)`.
 */
export function formatAnalysis(a: CheckAnalysis): string {
  const e = `E err ${formatE(a.eError)} slow ${formatE(a.eLatency)} slo ${formatE(a.eSlo)}`;
  return `${e} ${formatP(a.pError).replace(/ /g, '')} ratio ${formatErrorRatio(a)}`;
}

/** A custom check's value, compact: `name=0.25` or `name=n/a`. */
export function formatCustom(custom: CustomCheckResult): string {
  const value = custom.value === undefined ? 'n/a' : formatNumber(custom.value);
  return `${custom.name}=${value}`;
}

/** Up to four significant decimals, no exponent for ordinary values, no trailing zeros. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(Math.abs(value) >= 1 ? 6 : 4)));
}

/**
 * One line per check, for people reading a CI log. Columns keep their width from line to line
 * so that a run's checks read as a table:
 * `[ 1m30s] w=10%  success v2 99.6% | v1 99.9%  p99 v2  84ms | v1  80ms  req   312 |  2790  PASS`
 * Under sequential analysis the judge's numbers come before the verdict (see formatAnalysis).
 * Failed criteria follow the verdict.
 */
export function formatCheckLine(check: CheckResult, options: CheckLineOptions = {}): string {
  const names = options.names ?? { canary: 'canary', stable: 'stable' };
  const head = `[${formatDuration(check.elapsedMs).padStart(6)}] ${`w=${check.weight}%`.padEnd(6)}`;
  const columns = [
    `success ${names.canary} ${formatPercent(check.canary.successRate).padStart(5)}` +
      ` | ${names.stable} ${formatPercent(check.stable.successRate).padStart(5)}`,
    `${percentileLabel(options.percentile)} ${names.canary} ${formatLatency(check.canary.latencyMs).padStart(5)}` +
      ` | ${names.stable} ${formatLatency(check.stable.latencyMs).padStart(5)}`,
    `req ${String(check.canary.requests).padStart(5)} | ${String(check.stable.requests).padStart(5)}`,
  ];
  if (check.custom.length > 0) columns.push(check.custom.map(formatCustom).join(' '));
  if (check.analysis) columns.push(formatAnalysis(check.analysis));
  columns.push(checkLabel(check));
  // A reason quoting a multi-line value must not break the one-line-per-check rule.
  if (check.reasons.length > 0)
    columns.push(check.reasons.join('; ').replace(/\s*[\r\n]+\s*/g, ' '));
  return `${head} ${columns.join('  ')}`;
}
