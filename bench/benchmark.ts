/**
 * The benchmark's scenarios and the loop that runs every method on the same seeded runs.
 * bench/run.ts is its command line.
 */
import { seededRandom } from '../src/analysis/random.ts';
import { candidateMethods } from './candidates.ts';
import { drawPhases, scrapeWindows } from './loop.ts';
import type { LoopTiming } from './loop.ts';
import { allMethods } from './methods.ts';
import type { Method, RunResult } from './methods.ts';
import { simulateRun } from './simulate.ts';
import type { Scenario } from './simulate.ts';
import { excessErrors, servedErrors, summarise } from './summary.ts';
import type { Row } from './summary.ts';

const TEN_MIN = 600;
const slow = { slowP90: 0.1, slowP99: 0.01 };

/** A scenario of the benchmark, and whether the e-process candidates run on it too. */
export interface BenchScenario extends Scenario {
  candidates?: boolean;
  /** Regression factors of this scenario; FACTORS when absent. */
  factors?: number[];
}

/** Most clusters scrape every 15 s; the sandbox every second. */
export const SCRAPE_CLUSTER_S = 15;
export const SCRAPE_SANDBOX_S = 1;

const baseline = {
  rps: 100,
  stages: [{ weight: 0.1, durationS: TEN_MIN }],
  stableErrorRate: 0.005,
  ...slow,
};
const lowTraffic = {
  rps: 10,
  stages: [{ weight: 0.05, durationS: TEN_MIN }],
  stableErrorRate: 0.005,
  ...slow,
};

/** The scenarios; every watch is 10 minutes per stage. */
export const SCENARIOS: BenchScenario[] = [
  {
    id: 'baseline',
    title: 'Baseline: 100 rps, canary 10%, stable 0.5% errors, 15 s scrapes, 10 min',
    ...baseline,
    scrapeIntervalS: SCRAPE_CLUSTER_S,
    candidates: true,
  },
  {
    id: 'low-traffic',
    title: 'Low traffic: 10 rps, canary 5%, stable 0.5% errors, 15 s scrapes, 10 min',
    ...lowTraffic,
    scrapeIntervalS: SCRAPE_CLUSTER_S,
  },
  {
    id: 'degraded',
    title:
      'Degraded environment: 100 rps, canary 10%, stable 1.5% errors (below the 99% SLO), 15 s scrapes, 10 min',
    ...baseline,
    stableErrorRate: 0.015,
    scrapeIntervalS: SCRAPE_CLUSTER_S,
  },
  {
    id: 'staging',
    title:
      'Tutorial staging: 100 rps, canary 10% for 10 min then 50% for 10 min, stable 0.5% errors, 15 s scrapes',
    ...baseline,
    stages: [
      { weight: 0.1, durationS: TEN_MIN },
      { weight: 0.5, durationS: TEN_MIN },
    ],
    scrapeIntervalS: SCRAPE_CLUSTER_S,
  },
  {
    id: 'baseline-1s',
    title: "Baseline at the sandbox's 1 s scrapes: 100 rps, canary 10%, stable 0.5% errors, 10 min",
    ...baseline,
    scrapeIntervalS: SCRAPE_SANDBOX_S,
    candidates: true,
  },
  {
    id: 'sandbox-200',
    title: "The real loop's case at 1 s scrapes: 200 rps, canary 10%, stable 0.5% errors, 10 min",
    ...baseline,
    rps: 200,
    scrapeIntervalS: SCRAPE_SANDBOX_S,
    candidates: true,
    factors: [1, 10],
  },
  {
    id: 'low-traffic-1s',
    title: 'Low traffic at 1 s scrapes: 10 rps, canary 5%, stable 0.5% errors, 10 min',
    ...lowTraffic,
    scrapeIntervalS: SCRAPE_SANDBOX_S,
    factors: [1, 5, 10],
  },
];

/** Regression factors: the canary's error rate over stable's. */
export const FACTORS = [1, 1.5, 2, 5, 10];

/** How many runs, from which seed, with which loop delays. */
export interface BenchConfig {
  runsNull: number;
  runsAlt: number;
  seed: number;
  timing: LoopTiming;
  /** The sequential loop's `interval`: its log lines, and the checks of the loop before. */
  intervalS: number;
  factors?: number[];
}

/** Results of one scenario: the comparison rows, and the candidates' rows where they ran. */
export interface ScenarioResult {
  id: string;
  title: string;
  scrapeIntervalS: number;
  rows: Row[];
  candidates: Row[];
}

/** Runs every method (and the candidates, where the scenario asks) on the same seeded runs. */
export function runScenario(s: BenchScenario, index: number, config: BenchConfig): ScenarioResult {
  const main = allMethods(config.intervalS);
  const extra = s.candidates ? candidateMethods() : [];
  const methods = [...main, ...extra];
  const rows: Row[] = [];
  (config.factors ?? s.factors ?? FACTORS).forEach((k, ki) => {
    const rng = seededRandom(config.seed * 1_000_003 + index * 101 + ki);
    const runs = k === 1 ? config.runsNull : config.runsAlt;
    const judged = methods.filter((m) => k !== 1 || m.judgesHealthy);
    const results = judged.map(() => [] as RunResult[]);
    const excess = judged.map(() => [] as number[]);
    const served = judged.map(() => [] as number[]);
    for (let run = 0; run < runs; run++) {
      const phases = drawPhases(rng, s.scrapeIntervalS);
      const simulated = simulateRun(rng, s, k);
      const scrapes = scrapeWindows(simulated, s.scrapeIntervalS, phases);
      const input = { run: simulated, scenario: s, k, phases, scrapes, timing: config.timing };
      judged.forEach((m: Method, i) => {
        const r = m.run(input);
        results[i].push(r);
        excess[i].push(excessErrors(simulated, r, s));
        served[i].push(servedErrors(simulated, r));
      });
    }
    judged.forEach((m, i) => rows.push(summarise(m, k, results[i], excess[i], served[i])));
  });
  const isCandidate = (r: Row): boolean => extra.some((m) => m.id === r.method);
  return {
    id: s.id,
    title: s.title,
    scrapeIntervalS: s.scrapeIntervalS,
    rows: rows.filter((r) => !isCandidate(r)),
    candidates: rows.filter(isCandidate),
  };
}
