/**
 * Traffic verification: does the canary actually receive the share of requests its weight
 * promises? Pods that do not match the subset labels, a missing sidecar or callers outside the
 * mesh all make the real share differ from the configured one, and an analysis of the canary
 * then watches too little traffic (or the wrong one). The verdict needs both statistical and
 * practical evidence: the observed share's 99% Wilson interval must exclude the expected share
 * AND the gap must exceed a tolerance, so that neither noise nor a harmless rounding fails a step.
 */

/** The counts of one watch window, as the destination sidecars reported them. */
export interface TrafficShareInput {
  /** The canary percent of the targeted route, 0-100. */
  configuredWeight: number;
  /** Requests the canary served in the window. */
  canaryRequests: number;
  /** Requests the stable side served in the window. */
  stableRequests: number;
  /**
   * Canary requests that came through the tester route (not the weighted split); they are left
   * out of the comparison. Absent when there is no tester route.
   */
  testerRequests?: number;
  /**
   * Percent of the route's requests mirrored to the canary. A mirrored copy is counted by the
   * canary's sidecar on top of the live requests, so the expected share is (w + m) / (100 + m).
   */
  mirrorPercent?: number;
  /**
   * Routes besides the weighted one that send requests to the canary (a tester route, the user's
   * own routes to it), as the sentence names them. Their requests cannot be told from the split's,
   * so with any of them a share above the expected one is what they add, not a mismatch.
   */
  otherRoutes?: readonly string[];
  /** Largest acceptable gap in percentage points. Default 5. */
  tolerancePoints?: number;
}

export type TrafficShareVerdict = 'ok' | 'low-evidence' | 'mismatch';

/** What verifyTrafficShare found, in percent. */
export interface TrafficShareResult {
  verdict: TrafficShareVerdict;
  /** The share the configuration promises. */
  expectedPercent: number;
  /** The canary's share of the counted requests; undefined when none were counted. */
  observedPercent: number | undefined;
  /** The 99% Wilson interval of the observed share; undefined when none were counted. */
  interval: { low: number; high: number } | undefined;
  /** Requests counted (canary, less tester requests, plus stable). */
  requests: number;
  /** One sentence for the report, with the likely cause of a mismatch. */
  sentence: string;
}

/** z for a two-sided 99% interval. */
const Z99 = 2.5758293035489004;
const DEFAULT_TOLERANCE = 5;

/**
 * The Wilson score interval of `successes` out of `trials` at normal quantile `z`, as fractions.
 * Unlike the normal approximation it stays inside [0, 1] and is sensible at 0 and n successes.
 */
export function wilsonInterval(
  successes: number,
  trials: number,
  z = Z99,
): { low: number; high: number } {
  if (!(trials > 0)) return { low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * Compares the canary's observed share of requests with the configured weight:
 * - `mismatch` when the 99% interval excludes the expected share and the gap exceeds the
 *   tolerance: the routing does not do what the weight says;
 * - `ok` when the gap is within the tolerance and the interval is narrow enough to have seen a
 *   larger one (or it excludes the expected share only by less than the tolerance);
 * - `low-evidence` otherwise: too few requests to tell.
 */
export function verifyTrafficShare(input: TrafficShareInput): TrafficShareResult {
  const tolerance = (input.tolerancePoints ?? DEFAULT_TOLERANCE) / 100;
  const canary = Math.max(0, count(input.canaryRequests) - count(input.testerRequests ?? 0));
  const stable = count(input.stableRequests);
  const requests = canary + stable;
  const mirror = input.mirrorPercent ?? 0;
  const expected = (input.configuredWeight + mirror) / (100 + mirror);
  if (requests === 0) {
    return {
      verdict: 'low-evidence',
      expectedPercent: percent(expected),
      observedPercent: undefined,
      interval: undefined,
      requests,
      sentence: `No requests reached the canary or the stable side, so weight ${input.configuredWeight}% could not be verified: is the service receiving traffic?`,
    };
  }
  const observed = canary / requests;
  const interval = wilsonInterval(canary, requests);
  const excludes = expected < interval.low || expected > interval.high;
  const gap = Math.abs(observed - expected);
  const explained = (input.otherRoutes ?? []).length > 0 && expected < interval.low;
  let verdict: TrafficShareVerdict;
  if (explained) verdict = 'ok';
  else if (excludes && gap > tolerance) verdict = 'mismatch';
  else if (excludes || Math.max(expected - interval.low, interval.high - expected) <= tolerance)
    verdict = 'ok';
  else verdict = 'low-evidence';
  const result = {
    verdict,
    expectedPercent: percent(expected),
    observedPercent: percent(observed),
    interval: { low: percent(interval.low), high: percent(interval.high) },
    requests,
  };
  const words = explained
    ? explainedSentence(input, result)
    : sentence(input, result, observed < expected);
  return { ...result, sentence: words };
}

/** A result with requests counted, the only kind that sentence() words. */
interface Counted {
  verdict: TrafficShareVerdict;
  expectedPercent: number;
  observedPercent: number;
  interval: { low: number; high: number };
  requests: number;
}

/** `The canary received 14.7% of 613 requests at weight 10%`, with what mirroring expects. */
function headOf(input: TrafficShareInput, result: Counted): string {
  const received = `the canary received ${fmt(result.observedPercent)} of ${result.requests} requests at weight ${input.configuredWeight}%`;
  const mirrored = input.mirrorPercent ? ` with ${fmt(input.mirrorPercent)} mirrored` : '';
  const expectation =
    result.expectedPercent !== input.configuredWeight
      ? ` (${fmt(result.expectedPercent)} expected)`
      : '';
  return `${capitalise(received)}${mirrored}${expectation}`;
}

function rangeOf(result: Counted): string {
  return `99% interval ${fmt(result.interval.low)} to ${fmt(result.interval.high)}`;
}

/** More than the weight, and the routes that send the rest. */
function explainedSentence(input: TrafficShareInput, result: Counted): string {
  const others = input.otherRoutes ?? [];
  const sending =
    others.length === 1 ? `${others[0]} sends its` : `${others.join(', ')} send their`;
  return (
    `${headOf(input, result)} (${rangeOf(result)}): more than the weight, because ${sending} ` +
    `requests to the canary too; the split itself is not measured apart from them.`
  );
}

function sentence(input: TrafficShareInput, result: Counted, low: boolean): string {
  const range = rangeOf(result);
  const head = headOf(input, result);
  if (result.verdict === 'ok') return `${head}, as configured (${range}).`;
  if (result.verdict === 'low-evidence') {
    return `${head} (${range}): too few requests to verify the split yet.`;
  }
  const cause = low
    ? 'its pods may not match the subset labels, or lack a sidecar, or callers may reach the Service without a sidecar or through a host or gateway the VirtualService does not cover'
    : 'another route (a tester route, another VirtualService) may send traffic to it, or callers without a sidecar may be spread over all pods by the Service';
  return `${head} (${range}): ${cause}.`;
}

function count(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function percent(fraction: number): number {
  return fraction * 100;
}

/** `0.4%`, `10%`, `12.5%`: one decimal, none when whole. */
function fmt(value: number): string {
  const rounded = Math.round(value * 10) / 10;
  return `${rounded}%`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
