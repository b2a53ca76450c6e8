/**
 * The methods compared, each reading the same simulated ticks:
 * - Flagger-style: every 1 min, canary success rate over that minute >= 99%; a minute with no
 *   canary requests is a failed check; failed checks accumulate over the whole rollout and reaching
 *   the threshold (1 or 5) rolls back.
 * - Argo-style: an AnalysisTemplate with `interval: 1m`, `successCondition: result[0] >= 0.99` on the
 *   success rate over the last minute, `failureLimit: 2` (the third failed measurement fails the
 *   rollout); no requests gives NaN, which fails the condition, as Argo evaluates it by default.
 * - Sequential: the judge of src/analysis, one window per check interval, the first window after each
 *   weight change ignored as warm-up, the state carried across stages (a comma list of weights in
 *   one job).
 */
import { createJudge } from '../src/analysis/judge.ts';
import type { Judge, Outcome } from '../src/analysis/judge.ts';
import { TICK_S, sumTicks } from './simulate.ts';
import type { Scenario, Tick } from './simulate.ts';

/** How one method fared on one run. */
export interface RunResult {
  /** Seconds from the start of the watch to the rollback; undefined when it never rolled back. */
  rollbackS?: number;
  /** Index of the first tick not served any more because the route was restored. */
  servedTicks: number;
  /** The sequential judge's verdict at the end, when it did not roll back. */
  outcome?: Outcome;
  /** The judge held at some point because stable breached the SLO too. */
  held?: boolean;
}

/** A method: a name for the table and a function of one run's ticks. */
export interface Method {
  id: string;
  label: string;
  run(ticks: Tick[], scenario: Scenario): RunResult;
}

const MIN_SUCCESS = 99;

/** Checks every `intervalS` on the success rate of that interval, counting failures. */
function thresholdMethod(
  id: string,
  label: string,
  intervalS: number,
  failuresToRollback: number,
): Method {
  const perCheck = intervalS / TICK_S;
  return {
    id,
    label,
    run(ticks) {
      let failures = 0;
      let start = 0;
      for (let i = 0; i < ticks.length; i++) {
        const endOfStage = i + 1 === ticks.length || ticks[i + 1].stage !== ticks[i].stage;
        if (i + 1 - start < perCheck && !endOfStage) continue;
        if (i + 1 - start === perCheck) {
          const c = sumTicks(ticks, start, i + 1, 'canary');
          const noData = c.requests === 0;
          if (noData || (100 * (c.requests - c.errors)) / c.requests < MIN_SUCCESS) failures++;
          if (failures >= failuresToRollback)
            return { rollbackS: ticks[i].endS, servedTicks: i + 1 };
        }
        start = i + 1;
      }
      return { servedTicks: ticks.length };
    },
  };
}

/** The sequential judge with one check every `intervalS`. */
function sequentialMethod(id: string, label: string, intervalS: number): Method {
  const perCheck = intervalS / TICK_S;
  const judges = new Map<string, Judge>();
  const judgeFor = (s: Scenario): Judge => {
    let judge = judges.get(s.id);
    if (!judge) {
      judge = createJudge({
        alpha: 0.01,
        maxErrorRatio: 1,
        minSuccessRate: MIN_SUCCESS,
        latencyBoundariesMs: [250, 1000],
        minRequests: 20,
        boundsEveryWindow: false,
      });
      judges.set(s.id, judge);
    }
    return judge;
  };
  return {
    id,
    label,
    run(ticks, scenario) {
      const judge = judgeFor(scenario);
      let state = judge.initial();
      let held = false;
      let stage = -1;
      for (let start = 0; start < ticks.length; start += perCheck) {
        const end = Math.min(start + perCheck, ticks.length);
        const first = ticks[start].stage !== stage;
        stage = ticks[start].stage;
        const c = sumTicks(ticks, start, end, 'canary');
        const s = sumTicks(ticks, start, end, 'stable');
        const o = judge.observe(state, {
          canary: {
            requests: c.requests,
            errors: c.errors,
            slow: { '250': c.slowP90, '1000': c.slowP99 },
          },
          stable: {
            requests: s.requests,
            errors: s.errors,
            slow: { '250': s.slowP90, '1000': s.slowP99 },
          },
          firstAfterWeightChange: first,
        });
        state = o.state;
        held ||= o.decision === 'hold-degraded';
        if (o.decision === 'rollback')
          return { rollbackS: ticks[end - 1].endS, servedTicks: end, held };
      }
      return { servedTicks: ticks.length, outcome: judge.conclude(state).outcome, held };
    },
  };
}

/** Every method of the comparison, in table order. */
export function allMethods(): Method[] {
  return [
    thresholdMethod('flagger-1', 'Flagger-style, threshold 1', 60, 1),
    thresholdMethod('flagger-5', 'Flagger-style, threshold 5', 60, 5),
    thresholdMethod('argo', 'Argo-style, failureLimit 2', 60, 3),
    sequentialMethod('sequential-30s', 'Sequential, 30 s checks', 30),
    sequentialMethod('sequential-15s', 'Sequential, 15 s checks', 15),
  ];
}
