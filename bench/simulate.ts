/**
 * Simulated request streams for the benchmark: Poisson arrivals, binomial routing by weight,
 * binomial errors and slow requests, drawn per tick so that every method sees the same traffic.
 */
import { binomial, poisson } from '../src/analysis/random.ts';
import type { Random } from '../src/analysis/random.ts';

/** Seconds per simulated tick; every method's interval is a multiple of it. */
export const TICK_S = 5;

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
}

/** Counts of one version in one tick. */
export interface TickCounts {
  requests: number;
  errors: number;
  slowP90: number;
  slowP99: number;
}

/** One tick of traffic. */
export interface Tick {
  stage: number;
  /** Seconds since the watch began, at the end of this tick. */
  endS: number;
  canary: TickCounts;
  stable: TickCounts;
}

/** The whole watch of one run, tick by tick. */
export function simulateRun(rng: Random, s: Scenario, k: number): Tick[] {
  const ticks: Tick[] = [];
  let elapsed = 0;
  s.stages.forEach((stage, index) => {
    for (let t = 0; t < stage.durationS / TICK_S; t++) {
      elapsed += TICK_S;
      const total = poisson(rng, s.rps * TICK_S);
      const canaryRequests = binomial(rng, total, stage.weight);
      ticks.push({
        stage: index,
        endS: elapsed,
        canary: versionTick(rng, s, canaryRequests, Math.min(1, k * s.stableErrorRate)),
        stable: versionTick(rng, s, total - canaryRequests, s.stableErrorRate),
      });
    }
  });
  return ticks;
}

function versionTick(rng: Random, s: Scenario, requests: number, errorRate: number): TickCounts {
  // p99-slow requests are a subset of p90-slow ones, as histogram buckets are cumulative.
  const slowP90 = binomial(rng, requests, s.slowP90);
  return {
    requests,
    errors: binomial(rng, requests, errorRate),
    slowP90,
    slowP99: binomial(rng, slowP90, s.slowP99 / s.slowP90),
  };
}

/** Sums ticks [from, to) of one version. */
export function sumTicks(
  ticks: Tick[],
  from: number,
  to: number,
  side: 'canary' | 'stable',
): TickCounts {
  const sum: TickCounts = { requests: 0, errors: 0, slowP90: 0, slowP99: 0 };
  for (let i = from; i < to; i++) {
    const c = ticks[i][side];
    sum.requests += c.requests;
    sum.errors += c.errors;
    sum.slowP90 += c.slowP90;
    sum.slowP99 += c.slowP99;
  }
  return sum;
}
