/**
 * The benchmark of ANALYSIS.md "Measuring it": seeded simulated traffic, every method on the same
 * runs, one table per scenario. `node bench/run.ts [--runs-null N] [--runs-alt N] [--seed N]`.
 * Prints the tables; writes bench/out/results.json and bench/out/results.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seededRandom } from '../src/analysis/random.ts';
import { allMethods } from './methods.ts';
import type { RunResult } from './methods.ts';
import { goals, goalsMarkdown, scenarioTable } from './report.ts';
import type { ScenarioResult } from './report.ts';
import { simulateRun } from './simulate.ts';
import type { Scenario } from './simulate.ts';
import { excessErrors, summarise } from './summary.ts';

const TEN_MIN = 600;
const slow = { slowP90: 0.1, slowP99: 0.01 };

/** The scenarios of ANALYSIS.md; every watch is 10 minutes per stage. */
export const SCENARIOS: Scenario[] = [
  {
    id: 'baseline',
    title: 'Baseline: 100 rps, canary 10%, stable 0.5% errors, 10 min',
    rps: 100,
    stages: [{ weight: 0.1, durationS: TEN_MIN }],
    stableErrorRate: 0.005,
    ...slow,
  },
  {
    id: 'low-traffic',
    title: 'Low traffic: 10 rps, canary 5%, stable 0.5% errors, 10 min',
    rps: 10,
    stages: [{ weight: 0.05, durationS: TEN_MIN }],
    stableErrorRate: 0.005,
    ...slow,
  },
  {
    id: 'degraded',
    title:
      'Degraded environment: 100 rps, canary 10%, stable 1.5% errors (below the 99% SLO), 10 min',
    rps: 100,
    stages: [{ weight: 0.1, durationS: TEN_MIN }],
    stableErrorRate: 0.015,
    ...slow,
  },
  {
    id: 'staging',
    title:
      'Tutorial staging: 100 rps, canary 10% for 10 min then 50% for 10 min, stable 0.5% errors',
    rps: 100,
    stages: [
      { weight: 0.1, durationS: TEN_MIN },
      { weight: 0.5, durationS: TEN_MIN },
    ],
    stableErrorRate: 0.005,
    ...slow,
  },
];

export const FACTORS = [1, 1.5, 2, 5, 10];

function runScenario(s: Scenario, runsNull: number, runsAlt: number, seed: number): ScenarioResult {
  const methods = allMethods();
  const rows = FACTORS.flatMap((k, ki) => {
    const rng = seededRandom(seed * 1_000_003 + SCENARIOS.indexOf(s) * 101 + ki);
    const runs = k === 1 ? runsNull : runsAlt;
    const results = methods.map(() => [] as RunResult[]);
    const excess = methods.map(() => [] as number[]);
    for (let run = 0; run < runs; run++) {
      const ticks = simulateRun(rng, s, k);
      methods.forEach((m, i) => {
        const r = m.run(ticks, s);
        results[i].push(r);
        excess[i].push(excessErrors(ticks, r.servedTicks, s));
      });
    }
    return methods.map((m, i) => summarise(m, k, results[i], excess[i]));
  });
  return { id: s.id, title: s.title, rows };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      'runs-null': { type: 'string', default: '4000' },
      'runs-alt': { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
    },
  });
  const runsNull = Number(values['runs-null']);
  const runsAlt = Number(values['runs-alt']);
  const seed = Number(values.seed);
  const started = performance.now();
  const results: ScenarioResult[] = [];
  for (const s of SCENARIOS) {
    const t0 = performance.now();
    results.push(runScenario(s, runsNull, runsAlt, seed));
    console.error(`${s.id}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const seconds = (performance.now() - started) / 1000;
  const oursId = 'sequential-15s';
  const oursLabel = allMethods().find((m) => m.id === oursId)!.label;
  const checked = goals(results, oursId);
  const md = [
    `## Benchmark: canary analysis methods on simulated traffic`,
    '',
    `Seed ${seed}; ${runsNull} runs at k = 1, ${runsAlt} at each other k; same traffic for every method. ` +
      `Run time ${seconds.toFixed(1)} s.`,
    '',
    ...results.map(scenarioTable),
    goalsMarkdown(checked, oursLabel),
  ].join('\n');
  console.log(md);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'out');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'results.json'),
    JSON.stringify(
      { seed, runsNull, runsAlt, seconds, scenarios: SCENARIOS, results, goals: checked },
      null,
      2,
    ),
  );
  writeFileSync(join(out, 'results.md'), md);
}

main();
