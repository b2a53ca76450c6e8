/**
 * Simulated request streams for the benchmark: Poisson arrivals, binomial routing by weight,
 * binomial errors and slow requests, drawn per second so that every method sees the same traffic.
 * Counts are kept as running sums, so any method reads the counters at any second in O(1), as it
 * would read Prometheus.
 */
import { binomial, poisson } from '../src/analysis/random.ts';
import type { Random } from '../src/analysis/random.ts';

/** One weight of a staged rollout and how long it is watched. */
export interface Stage {
  weight: number;
  durationS: number;
}

/** A traffic situation to judge canaries in. */
export interface Scenario {
  id: string;
  title: string;
  /** Requests per second, both versions together. */
  rps: number;
  stages: Stage[];
  /** Stable's 5xx rate; the canary's is k times it. */
  stableErrorRate: number;
  /** Share of requests above the p90 and p99 boundaries; the same for both versions. */
  slowP90: number;
  slowP99: number;
  /** Seconds between two scrapes of a target. */
  scrapeIntervalS: number;
}

/** Cumulative counters of one version: entry t holds the counts of seconds [0, t). */
export interface Counters {
  requests: Float64Array;
  errors: Float64Array;
  slowP90: Float64Array;
  slowP99: Float64Array;
}

/** The whole watch of one run. */
export interface Run {
  durationS: number;
  /** Second at which each stage starts (the first is 0). */
  stageStartS: number[];
  canary: Counters;
  stable: Counters;
}

/** Counts of one version over a span of seconds. */
export interface Counts {
  requests: number;
  errors: number;
  slowP90: number;
  slowP99: number;
}

/** Total watch length of a scenario, in seconds. */
export function durationOf(s: Scenario): number {
  return s.stages.reduce((sum, st) => sum + st.durationS, 0);
}

/** The traffic of one run, second by second, with the canary's error rate k times stable's. */
export function simulateRun(rng: Random, s: Scenario, k: number): Run {
  const durationS = durationOf(s);
  const canary = counters(durationS);
  const stable = counters(durationS);
  const stageStartS: number[] = [];
  const canaryRate = Math.min(1, k * s.stableErrorRate);
  let t = 0;
  for (const stage of s.stages) {
    stageStartS.push(t);
    for (let i = 0; i < stage.durationS; i++, t++) {
      const total = poisson(rng, s.rps);
      const toCanary = binomial(rng, total, stage.weight);
      second(rng, s, canary, t, toCanary, canaryRate);
      second(rng, s, stable, t, total - toCanary, s.stableErrorRate);
    }
  }
  return { durationS, stageStartS, canary, stable };
}

function counters(durationS: number): Counters {
  const make = (): Float64Array => new Float64Array(durationS + 1);
  return { requests: make(), errors: make(), slowP90: make(), slowP99: make() };
}

function second(
  rng: Random,
  s: Scenario,
  c: Counters,
  t: number,
  requests: number,
  errorRate: number,
): void {
  // p99-slow requests are a subset of p90-slow ones, as histogram buckets are cumulative.
  const slowP90 = binomial(rng, requests, s.slowP90);
  c.requests[t + 1] = c.requests[t] + requests;
  c.errors[t + 1] = c.errors[t] + binomial(rng, requests, errorRate);
  c.slowP90[t + 1] = c.slowP90[t] + slowP90;
  c.slowP99[t + 1] = c.slowP99[t] + binomial(rng, slowP90, s.slowP99 / s.slowP90);
}

/** Counts of seconds [from, to), both whole seconds within the run. */
export function countsBetween(c: Counters, from: number, to: number): Counts {
  return {
    requests: c.requests[to] - c.requests[from],
    errors: c.errors[to] - c.errors[from],
    slowP90: c.slowP90[to] - c.slowP90[from],
    slowP99: c.slowP99[to] - c.slowP99[from],
  };
}

/**
 * A counter's value at time `t` seconds, which may fall within a second: the part of that second
 * is taken pro rata (the expected count of a Poisson stream), which is what errors served until a
 * restore at a fractional time need.
 */
export function counterAt(values: Float64Array, t: number): number {
  const last = values.length - 1;
  if (t >= last) return values[last];
  if (t <= 0) return 0;
  const whole = Math.floor(t);
  return values[whole] + (t - whole) * (values[whole + 1] - values[whole]);
}
