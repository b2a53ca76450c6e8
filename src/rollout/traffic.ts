/**
 * Traffic verification during a watch: does the canary receive the share of requests its weight
 * promises? The counts are the check windows' (what the destination sidecars reported), without
 * the first window after a weight change, which can still hold traffic from before it.
 */
import { mirrorDestinations } from '../istio/mirror.ts';
import { routeLabel } from '../istio/route.ts';
import { reachesCanary, type CanarySides } from '../istio/split.ts';
import { verifyTrafficShare, type TrafficShareResult } from '../istio/traffic-check.ts';
import type { VirtualService } from '../istio/types.ts';
import type { CheckResult } from '../metrics/types.ts';

/** What besides the weight sends requests to the canary. */
export interface TrafficExpectation {
  /** Percent of the route's requests mirrored to the canary (`mirror-percent`). */
  mirrorPercent?: number;
  /**
   * Routes besides the shifted one that send requests to the canary, as the report names them:
   * the tester route of `canary-match`, or the user's own routes to the canary (a header route
   * for testers, a route to the host without a subset, whose pods include the canary's). The
   * metrics cannot tell their requests from the weighted split's, so with any of them only a
   * share below the expected one can be judged a mismatch. Empty when there are none.
   */
  otherRoutes: readonly string[];
}

/**
 * The user's own http routes of `vs`, other than the one at `shifted` and the ones a rollout
 * inserted (`inserted`, by name), whose destinations or mirror can reach the canary's pods.
 */
export function userRoutesToCanary(
  vs: VirtualService,
  shifted: number,
  inserted: readonly string[],
  sides: CanarySides,
): string[] {
  const http = vs.spec.http ?? [];
  return http.flatMap((route, index) => {
    if (index === shifted || (route.name !== undefined && inserted.includes(route.name))) return [];
    const destinations = [
      ...(route.route ?? []).map((d) => d.destination),
      ...mirrorDestinations(route),
    ];
    const reaches = destinations.some((destination) => reachesCanary(destination, sides));
    return reaches ? [`route ${routeLabel(route, index)} of ${vs.metadata.name}`] : [];
  });
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

/** verifyTrafficShare, with the other routes' extra canary requests accounted for. */
export function judgeShare(
  weight: number,
  canaryRequests: number,
  stableRequests: number,
  expectation: TrafficExpectation,
): TrafficShareResult {
  return verifyTrafficShare({
    configuredWeight: weight,
    canaryRequests,
    stableRequests,
    mirrorPercent: expectation.mirrorPercent,
    otherRoutes: expectation.otherRoutes,
  });
}

/** The report's words for a failed verification: what was seen and the likely cause. */
export function mismatchReason(result: TrafficShareResult): string {
  return `Traffic verification failed: ${result.sentence} Rolled back rather than judge the canary on traffic it does not get as configured.`;
}
