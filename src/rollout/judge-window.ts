/**
 * From raw counter differences to the sequential judge's windows: requests, 5xx, and requests
 * slower than chosen latency boundaries, per version. The boundaries must be `le` values the
 * histogram really has (Istio's buckets are fixed), so they are chosen among those.
 */
import type { JudgeWindow, VersionWindow } from '../analysis/judge.ts';
import type { Version, WindowCounts } from '../metrics/counters.ts';

/** One cumulative histogram bucket: requests at or below `le` ms. */
export interface Bucket {
  le: number;
  count: number;
}

/**
 * Istio's default request-duration buckets in ms, for when no series shows which ones the mesh
 * uses (a mesh may override them, so the series' own `le` values come first).
 */
export const ISTIO_DEFAULT_BUCKETS_MS: readonly number[] = [
  1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

/** Stable's share of slow requests the two distribution boundaries aim at: its p90 and its p99. */
export const TARGET_SLOW_SHARES: readonly number[] = [0.1, 0.01];

/** Stable requests its history needs before its percentiles can place a boundary. */
export const MIN_HISTORY_REQUESTS = 100;

/** The key under which the judge finds a boundary's slow count: the boundary as written. */
export function boundaryKey(le: number): string {
  return String(le);
}

/**
 * Requests slower than each boundary: `slow = count(+Inf) - bucket(le=L)`. A boundary the
 * window's histogram lacks (or a window without a `+Inf` bucket) is left out, which the judge
 * reads as "no information". Counts are kept within 0..requests: the histogram and the request
 * counter are separate series, and a reset between two readings can make them disagree by a few.
 */
export function slowCounts(
  buckets: readonly Bucket[],
  requests: number,
  boundariesMs: readonly number[],
): Record<string, number> {
  const total = buckets.find((b) => b.le === Infinity)?.count;
  const slow: Record<string, number> = {};
  if (total === undefined) return slow;
  for (const le of boundariesMs) {
    const atOrBelow = buckets.find((b) => b.le === le)?.count;
    if (atOrBelow === undefined) continue;
    slow[boundaryKey(le)] = Math.min(requests, Math.max(0, Math.round(total - atOrBelow)));
  }
  return slow;
}

/** One version's counts as the judge takes them. */
export function versionWindow(
  counts: WindowCounts,
  boundariesMs: readonly number[],
): VersionWindow {
  return {
    requests: counts.requests,
    errors: counts.errors,
    slow: slowCounts(counts.buckets, counts.requests, boundariesMs),
  };
}

/** The judge's window for one check. */
export function judgeWindow(
  counts: Record<Version, WindowCounts>,
  boundariesMs: readonly number[],
  firstAfterWeightChange: boolean,
): JudgeWindow {
  return {
    canary: versionWindow(counts.canary, boundariesMs),
    stable: versionWindow(counts.stable, boundariesMs),
    firstAfterWeightChange,
  };
}

/**
 * The latency boundaries of a watch, chosen once before any window is judged (so the choice cannot
 * lean on the data it is tested on):
 * - near stable's p90 and p99: the finite bucket bound whose share of slower stable requests is
 *   closest, in log scale, to 10% and 1%, among bounds that some but at most half of stable's
 *   requests exceed (a bound nobody exceeds says nothing about stable). Needs
 *   MIN_HISTORY_REQUESTS stable requests in `stableHistory`;
 * - near `max-latency` when set: the bucket bound closest to it in log scale.
 * `knownLe` lists the `le` values the mesh's histograms have; Istio's defaults when empty.
 */
export function chooseLatencyBoundaries(
  stableHistory: readonly Bucket[],
  knownLe: readonly number[],
  maxLatencyMs?: number,
): number[] {
  const chosen = new Set<number>();
  for (const share of TARGET_SLOW_SHARES) {
    const le = boundaryForShare(stableHistory, share);
    if (le !== undefined) chosen.add(le);
  }
  if (maxLatencyMs !== undefined) {
    const finite = knownLe.filter((le) => Number.isFinite(le) && le > 0);
    const le = nearestInLog(finite.length > 0 ? finite : ISTIO_DEFAULT_BUCKETS_MS, maxLatencyMs);
    if (le !== undefined) chosen.add(le);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** The bound whose share of slower requests is closest to `share`; see chooseLatencyBoundaries. */
export function boundaryForShare(buckets: readonly Bucket[], share: number): number | undefined {
  const total = buckets.find((b) => b.le === Infinity)?.count;
  if (total === undefined || total < MIN_HISTORY_REQUESTS) return undefined;
  let best: number | undefined;
  let bestDistance = Infinity;
  for (const { le, count } of buckets) {
    if (!Number.isFinite(le)) continue;
    const slowShare = (total - count) / total;
    if (!(slowShare > 0 && slowShare <= 0.5)) continue;
    const distance = Math.abs(Math.log(slowShare / share));
    if (distance < bestDistance) {
      best = le;
      bestDistance = distance;
    }
  }
  return best;
}

/** The positive value closest to `target` in log scale; the smaller one on a tie. */
export function nearestInLog(values: readonly number[], target: number): number | undefined {
  if (!(target > 0)) return undefined;
  let best: number | undefined;
  let bestDistance = Infinity;
  for (const v of [...values].sort((a, b) => a - b)) {
    if (!(v > 0)) continue;
    const distance = Math.abs(Math.log(v / target));
    if (distance < bestDistance) {
      best = v;
      bestDistance = distance;
    }
  }
  return best;
}
