/**
 * Traffic verification during a watch: does the canary receive the share of requests its weight
 * promises? The counts are the check windows' (what the destination sidecars reported), without
 * the first window after a weight change, which can still hold traffic from before it.
 */
import { verifyTrafficShare, type TrafficShareResult } from '../istio/traffic-check.ts';
import type { CheckResult } from '../metrics/types.ts';

/** What besides the weight sends requests to the canary. */
export interface TrafficExpectation {
  /** Percent of the route's requests mirrored to the canary (`mirror-percent`). */
  mirrorPercent?: number;
  /**
   * A tester route sends its requests to the canary on top of the weight; the metrics cannot
   * tell them apart, so only a share below the expected one can be judged a mismatch.
   */
  testers: boolean;
}

/** Windows a mismatch must hold in, after the warm-up, before it ends a watch early. */
export const EARLY_MISMATCH_WINDOWS = 3;

/** The share over the watch's windows so far (the first one left out when there are others). */
export function verifyWatchShare(
  checks: readonly CheckResult[],
  weight: number,
  expectation: TrafficExpectation,
): TrafficShareResult {
  const counted = checks.length > 1 ? checks.slice(1) : checks;
  const canary = counted.reduce((sum, c) => sum + c.canary.requests, 0);
  const stable = counted.reduce((sum, c) => sum + c.stable.requests, 0);
  return judgeShare(weight, canary, stable, expectation);
}

/**
 * A mismatch clear enough to stop watching: in each of at least EARLY_MISMATCH_WINDOWS windows
 * after the warm-up, and in their sum. Undefined while it is not.
 */
export function clearMismatch(
  checks: readonly CheckResult[],
  weight: number,
  expectation: TrafficExpectation,
): TrafficShareResult | undefined {
  const counted = checks.slice(1);
  if (counted.length < EARLY_MISMATCH_WINDOWS) return undefined;
  const each = counted.every(
    (c) =>
      judgeShare(weight, c.canary.requests, c.stable.requests, expectation).verdict === 'mismatch',
  );
  if (!each) return undefined;
  const total = verifyWatchShare(checks, weight, expectation);
  return total.verdict === 'mismatch' ? total : undefined;
}

/** verifyTrafficShare, with a tester route's extra canary requests accounted for. */
export function judgeShare(
  weight: number,
  canaryRequests: number,
  stableRequests: number,
  expectation: TrafficExpectation,
): TrafficShareResult {
  const result = verifyTrafficShare({
    configuredWeight: weight,
    canaryRequests,
    stableRequests,
    mirrorPercent: expectation.mirrorPercent,
  });
  const above =
    result.observedPercent !== undefined && result.observedPercent > result.expectedPercent;
  if (!expectation.testers || result.verdict !== 'mismatch' || !above) return result;
  return {
    ...result,
    verdict: 'ok',
    sentence: `${result.sentence.replace(/ \(99% interval.*$/, '')}: more than the weight, as expected with the tester route sending its requests to the canary too.`,
  };
}

/** The report's words for a failed verification: what was seen and the likely cause. */
export function mismatchReason(result: TrafficShareResult): string {
  return `Traffic verification failed: ${result.sentence} Rolled back rather than judge the canary on traffic it does not get as configured.`;
}
