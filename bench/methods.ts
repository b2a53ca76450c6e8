/**
 * The methods compared, each reading the same simulated run through the same Prometheus:
 * - Oracle: Wald's SPRT of the canary's requests with both true error rates known (alpha 0.01),
 *   fed every canary scrape. No method can do better on the same data; it is the physical limit.
 * - Sequential, every scrape: the judge of src/analysis fed each new scrape as it lands (`add`),
 *   one report per interval, nothing thrown away.
 * - Sequential, checks every `interval`: the judge fed one window per check (`observe`), the first
 *   window after each weight change ignored as warm-up: how the watch loop fed it so far.
 * - Flagger-style: every 1 min, canary success rate over the last minute >= 99%; a minute with no
 *   canary requests is a failed check; failed checks accumulate over the whole rollout and reaching
 *   the threshold (1 or 5) rolls back.
 * - Argo-style: an AnalysisTemplate with `interval: 1m`, `successCondition: result[0] >= 0.99` on the
 *   success rate over the last minute, `failureLimit: 2` (the third failed measurement fails the
 *   rollout); no requests gives NaN, which fails the condition, as Argo evaluates it by default.
 * Every method's time runs from the weight change to the restored route: evidence arrives with the
 * scrapes, a decision costs a query (and, for the scrape followers, half a poll) and a restore.
 */
import { createJudge } from '../src/analysis/judge.ts';
import type { Judge, JudgeOptions, Outcome, VersionWindow } from '../src/analysis/judge.ts';
import type { Counts } from './simulate.ts';
import type { Scenario } from './simulate.ts';
import { scrapedBetween } from './loop.ts';
import type { LoopTiming, Phases, ScrapeWindow } from './loop.ts';
import type { Run } from './simulate.ts';

/** Everything a method may read about one run. */
export interface RunInput {
  run: Run;
  scenario: Scenario;
  /** The canary's error rate over stable's (known to the oracle only). */
  k: number;
  phases: Phases;
  /** The run's scrapes in time order. */
  scrapes: ScrapeWindow[];
  timing: LoopTiming;
}

/** How one method fared on one run. */
export interface RunResult {
  /** Seconds from the weight change to the restored route; undefined when it never rolled back. */
  rollbackS?: number;
  /** The sequential judge's verdict at the end, when it did not roll back. */
  outcome?: Outcome;
  /** The judge held at some point because stable breached the SLO too. */
  held?: boolean;
}

/** A method: a name for the table and a function of one run. */
export interface Method {
  id: string;
  label: string;
  /** False for methods that have no meaning on a healthy canary (the oracle). */
  judgesHealthy: boolean;
  run(input: RunInput): RunResult;
}

const MIN_SUCCESS = 99;
const ORACLE_ALPHA = 0.01;

/** Delay from a scrape landing to a method that follows the scrapes having acted on it. */
export function scrapeFollowerDelay(t: LoopTiming): number {
  return t.pollS / 2 + t.queryS + t.restoreS;
}

/** Delay from a scheduled check to the restore: a query, then the API round trip. */
export function checkerDelay(t: LoopTiming): number {
  return t.queryS + t.restoreS;
}

/** The oracle: Wald's SPRT, canary rate k*p against p, both known, on each canary scrape. */
export function oracleMethod(): Method {
  return {
    id: 'oracle',
    label: 'Oracle: SPRT, true rates known',
    judgesHealthy: false,
    run({ scrapes, scenario, k, timing }) {
      const p = scenario.stableErrorRate;
      const q = Math.min(1 - 1e-12, k * p);
      const perError = Math.log(q / p);
      const perSuccess = Math.log1p(-q) - Math.log1p(-p);
      const limit = -Math.log(ORACLE_ALPHA);
      let llr = 0;
      for (const w of scrapes) {
        const c = w.canary;
        llr += c.errors * perError + (c.requests - c.errors) * perSuccess;
        if (llr >= limit) return { rollbackS: w.atS + scrapeFollowerDelay(timing) };
      }
      return {};
    },
  };
}

/** The judge's options in the benchmark: defaults, 99% SLO, boundaries at stable's p90/p99. */
export function benchJudgeOptions(extra: Partial<JudgeOptions> = {}): JudgeOptions {
  return {
    alpha: 0.01,
    maxErrorRatio: 1,
    minSuccessRate: MIN_SUCCESS,
    latencyBoundariesMs: [250, 1000],
    minRequests: 20,
    boundsEveryWindow: false,
    ...extra,
  };
}

function versionWindow(c: Counts): VersionWindow {
  return {
    requests: c.requests,
    errors: c.errors,
    slow: { '250': c.slowP90, '1000': c.slowP99 },
  };
}

/** The judge fed every scrape; a report (a log line) every `intervalS`. */
export function everyScrapeMethod(id: string, label: string, intervalS: number): Method {
  const judge = createJudge(benchJudgeOptions());
  return {
    id,
    label,
    judgesHealthy: true,
    run({ scrapes, timing }) {
      let state = judge.initial();
      let held = false;
      let nextReport = intervalS;
      for (const w of scrapes) {
        while (w.atS > nextReport) {
          state = judge.report(state).state;
          nextReport += intervalS;
        }
        const step = judge.add(state, {
          canary: versionWindow(w.canary),
          stable: versionWindow(w.stable),
          weightChanged: w.weightChanged,
        });
        state = step.state;
        held ||= step.decision === 'hold-degraded';
        if (step.decision === 'rollback') {
          return { rollbackS: w.atS + scrapeFollowerDelay(timing), held };
        }
      }
      return { outcome: judge.conclude(state).outcome, held };
    },
  };
}

/** The judge fed one window per check every `intervalS`, the first of each stage as warm-up. */
export function perCheckMethod(id: string, label: string, intervalS: number): Method {
  const judge: Judge = createJudge(benchJudgeOptions());
  return {
    id,
    label,
    judgesHealthy: true,
    run({ run, phases, scenario, timing }) {
      let state = judge.initial();
      let held = false;
      let result: RunResult | undefined;
      forEachCheck(run, intervalS, (from, to, first) => {
        const window = {
          canary: versionWindow(scraped(run, scenario, phases, 'canary', from, to)),
          stable: versionWindow(scraped(run, scenario, phases, 'stable', from, to)),
          firstAfterWeightChange: first,
        };
        const o = judge.observe(state, window);
        state = o.state;
        held ||= o.decision === 'hold-degraded';
        if (o.decision !== 'rollback') return false;
        result = { rollbackS: to + checkerDelay(timing), held };
        return true;
      });
      return result ?? { outcome: judge.conclude(state).outcome, held };
    },
  };
}

/** Checks every `intervalS` on the success rate of that interval, counting failures. */
export function thresholdMethod(
  id: string,
  label: string,
  intervalS: number,
  failuresToRollback: number,
): Method {
  return {
    id,
    label,
    judgesHealthy: true,
    run({ run, phases, scenario, timing }) {
      let failures = 0;
      let rollbackS: number | undefined;
      forEachCheck(run, intervalS, (from, to) => {
        const c = scraped(run, scenario, phases, 'canary', from, to);
        const noData = c.requests === 0;
        if (noData || (100 * (c.requests - c.errors)) / c.requests < MIN_SUCCESS) failures++;
        if (failures < failuresToRollback) return false;
        rollbackS = to + checkerDelay(timing);
        return true;
      });
      return rollbackS === undefined ? {} : { rollbackS };
    },
  };
}

function scraped(
  run: Run,
  scenario: Scenario,
  phases: Phases,
  side: 'canary' | 'stable',
  from: number,
  to: number,
): Counts {
  return scrapedBetween(run, side, phases[side], scenario.scrapeIntervalS, from, to);
}

/**
 * Calls `check(from, to, first)` every `intervalS` from each stage's start; a stage's last check
 * falls at its end. Stops when `check` returns true.
 */
function forEachCheck(
  run: Run,
  intervalS: number,
  check: (from: number, to: number, first: boolean) => boolean,
): void {
  for (let s = 0; s < run.stageStartS.length; s++) {
    const start = run.stageStartS[s];
    const end = s + 1 < run.stageStartS.length ? run.stageStartS[s + 1] : run.durationS;
    for (let from = start, first = true; from < end; from += intervalS, first = false) {
      const to = Math.min(end, from + intervalS);
      if (check(from, to, first)) return;
    }
  }
}

/** Every method of the comparison, in table order; `intervalS` is the sequential loop's. */
export function allMethods(intervalS = 30): Method[] {
  return [
    oracleMethod(),
    everyScrapeMethod('sequential-scrape', 'Sequential, every scrape (ours)', intervalS),
    perCheckMethod(
      'sequential-check',
      `Sequential, ${intervalS} s checks, warm-up (the loop as it is)`,
      intervalS,
    ),
    thresholdMethod('flagger-1', 'Flagger-style, threshold 1', 60, 1),
    thresholdMethod('flagger-5', 'Flagger-style, threshold 5', 60, 5),
    thresholdMethod('argo', 'Argo-style, failureLimit 2', 60, 3),
  ];
}
