/** Turns many runs of one method into the numbers of the table. */
import type { RunResult } from './methods.ts';
import { counterAt } from './simulate.ts';
import type { Run, Scenario } from './simulate.ts';

/** One row of a scenario's table: one method at one regression factor k. */
export interface Row {
  method: string;
  label: string;
  k: number;
  runs: number;
  /** Share of runs rolled back (false rollbacks when k = 1), with a Wilson 95% interval. */
  rollbackRate: number;
  rollbackCi: [number, number];
  /** Seconds to rollback, runs that never rolled back counted as never (Infinity). */
  medianTimeS: number;
  p90TimeS: number;
  /** Canary errors beyond stable's rate, served before the rollback or the end of the watch. */
  medianExcessErrors: number;
  /** Canary errors served before the rollback or the end of the watch. */
  medianCanaryErrors: number;
  /** Sequential only: share of runs that passed without showing the canary no worse. */
  inconclusiveRate?: number;
  /** Sequential only: share of runs that held because the environment was degraded. */
  heldRate?: number;
}

/**
 * Excess canary errors served until the route was restored (or the watch ended): the canary's
 * errors minus its requests times stable's error rate.
 */
export function excessErrors(run: Run, result: RunResult, s: Scenario): number {
  return servedErrors(run, result) - servedRequests(run, result) * s.stableErrorRate;
}

/** Canary errors served until the route was restored (or the watch ended). */
export function servedErrors(run: Run, result: RunResult): number {
  return counterAt(run.canary.errors, result.rollbackS ?? run.durationS);
}

function servedRequests(run: Run, result: RunResult): number {
  return counterAt(run.canary.requests, result.rollbackS ?? run.durationS);
}

/** Wilson score interval at 95% for `hits` of `n`. */
export function wilson(hits: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959963984540054;
  const p = hits / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** The q-quantile (0..1) by the nearest-rank rule; Infinity values sort last. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

/** Aggregates the runs of one method at one k. */
export function summarise(
  method: { id: string; label: string },
  k: number,
  results: RunResult[],
  excess: number[],
  served: number[],
): Row {
  const rolled = results.filter((r) => r.rollbackS !== undefined).length;
  const times = results.map((r) => r.rollbackS ?? Infinity);
  const row: Row = {
    method: method.id,
    label: method.label,
    k,
    runs: results.length,
    rollbackRate: rolled / results.length,
    rollbackCi: wilson(rolled, results.length),
    medianTimeS: quantile(times, 0.5),
    p90TimeS: quantile(times, 0.9),
    medianExcessErrors: quantile(excess, 0.5),
    medianCanaryErrors: quantile(served, 0.5),
  };
  if (results.some((r) => r.outcome !== undefined || r.held !== undefined)) {
    const unsure = results.filter(
      (r) => r.outcome === 'inconclusive' || r.outcome === 'no-data',
    ).length;
    row.inconclusiveRate = unsure / results.length;
    row.heldRate = results.filter((r) => r.held).length / results.length;
  }
  return row;
}
