import type { CheckResult } from '../metrics/types.ts';

/** One check placed on the time axis of the whole job. */
export interface TimelinePoint {
  check: CheckResult;
  /** Milliseconds since the first weight's watch began. */
  atMs: number;
}

/** The stretch of the time axis during which one weight was watched. */
export interface WeightSegment {
  weight: number;
  fromMs: number;
  toMs: number;
  checks: CheckResult[];
}

/** The checks of a job on one time axis, and the weights they were made at. */
export interface Timeline {
  points: TimelinePoint[];
  segments: WeightSegment[];
}

/**
 * Puts the checks of every weight of a job on one axis. A check's `elapsedMs` counts from the
 * start of its own weight's watch, so each weight's checks are shifted by the time watched
 * before it; a weight's watch is taken to end at its last check, where the next weight begins.
 * A new segment starts where the weight changes or the elapsed time runs backwards.
 */
export function timeline(checks: readonly CheckResult[]): Timeline {
  const points: TimelinePoint[] = [];
  const segments: WeightSegment[] = [];
  let current: WeightSegment | undefined;
  let lastElapsed = 0;
  for (const check of checks) {
    const elapsed = Number.isFinite(check.elapsedMs) ? Math.max(0, check.elapsedMs) : 0;
    if (current === undefined || check.weight !== current.weight || elapsed < lastElapsed) {
      const start = current?.toMs ?? 0;
      current = { weight: check.weight, fromMs: start, toMs: start, checks: [] };
      segments.push(current);
    }
    const atMs = current.fromMs + elapsed;
    current.toMs = Math.max(current.toMs, atMs);
    current.checks.push(check);
    points.push({ check, atMs });
    lastElapsed = elapsed;
  }
  return { points, segments };
}
