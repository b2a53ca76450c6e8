/** The benchmark's machinery on hand-built and tiny runs; its figures are printed, not tested. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCENARIOS, runScenario } from '../../bench/benchmark.ts';
import type { BenchConfig } from '../../bench/benchmark.ts';
import { lastScrape, scrapeWindows } from '../../bench/loop.ts';
import type { LoopTiming } from '../../bench/loop.ts';
import {
  oracleMethod,
  scrapeFollowerDelay,
  thresholdMethod,
  checkerDelay,
} from '../../bench/methods.ts';
import type { RunInput } from '../../bench/methods.ts';
import { goals } from '../../bench/report.ts';
import { counterAt } from '../../bench/simulate.ts';
import type { Counters, Run, Scenario } from '../../bench/simulate.ts';
import { excessErrors } from '../../bench/summary.ts';

/** Cumulative counters from per-second requests and errors (no slow requests). */
function counters(requests: number[], errors: number[]): Counters {
  const sum = (xs: number[]): Float64Array => {
    const out = new Float64Array(xs.length + 1);
    xs.forEach((x, i) => (out[i + 1] = out[i] + x));
    return out;
  };
  const none = sum(requests.map(() => 0));
  return { requests: sum(requests), errors: sum(errors), slowP90: none, slowP99: none };
}

function handRun(canary: [number[], number[]], stable: [number[], number[]], stages = [0]): Run {
  return {
    durationS: canary[0].length,
    stageStartS: stages,
    canary: counters(...canary),
    stable: counters(...stable),
  };
}

const TIMING: LoopTiming = { pollS: 1, queryS: 0.05, restoreS: 0.1 };

const scenario: Scenario = {
  id: 'hand',
  title: 'hand',
  rps: 100,
  stages: [{ weight: 0.1, durationS: 6 }],
  stableErrorRate: 0.01,
  slowP90: 0.1,
  slowP99: 0.01,
  scrapeIntervalS: 2,
};

await test('scrapes: each version read at its own phase, every request counted once', () => {
  const run = handRun(
    [
      [10, 10, 10, 10, 10, 10],
      [1, 0, 0, 2, 0, 0],
    ],
    [
      [90, 90, 90, 90, 90, 90],
      [0, 1, 0, 0, 0, 1],
    ],
    [0, 3],
  );
  const windows = scrapeWindows(run, 2, { canary: 1, stable: 2 });
  // Canary scraped at 1, 3, 5; stable at 2, 4, 6.
  assert.deepEqual(
    windows.map((w) => [w.atS, w.canary.requests, w.stable.requests]),
    [
      [1, 10, 0],
      [2, 0, 180],
      [3, 20, 0],
      [4, 0, 180],
      [5, 20, 0],
      [6, 0, 180],
    ],
  );
  const sum = (f: (w: (typeof windows)[number]) => number): number =>
    windows.reduce((a, w) => a + f(w), 0);
  assert.equal(
    sum((w) => w.canary.errors),
    3,
  );
  assert.equal(
    sum((w) => w.stable.errors),
    2,
  );
  // The second stage starts at second 3: the first window holding its traffic ends at 4.
  assert.deepEqual(
    windows.map((w) => w.weightChanged),
    [true, false, false, true, false, false],
  );
  assert.equal(lastScrape(1, 2, 0.5), 0);
  assert.equal(lastScrape(1, 2, 4.9), 3);
});

await test('the oracle rolls back at the first scrape its log likelihood ratio reaches log(100)', () => {
  // Canary at 10x stable's 1%: each error adds log(10), each success log(0.9/0.99).
  const run = handRun(
    [
      [10, 10, 10, 10, 10, 10],
      [1, 1, 1, 1, 0, 0],
    ],
    [Array.from({ length: 6 }, () => 90), Array.from({ length: 6 }, () => 1)],
  );
  const input: RunInput = {
    run,
    scenario,
    k: 10,
    phases: { canary: 2, stable: 1 },
    scrapes: scrapeWindows(run, 2, { canary: 2, stable: 1 }),
    timing: TIMING,
  };
  // At 2 s: 2 errors of 20, 2*log(10) + 18*log(0.9/0.99) = 4.61 - 1.72 = 2.89 < 4.61.
  // At 4 s: 4 of 40, 9.21 - 3.43 = 5.78 >= 4.61: rolled back then, plus the follower's delay.
  const r = oracleMethod().run(input);
  assert.equal(r.rollbackS, 4 + scrapeFollowerDelay(TIMING));
});

await test('a Flagger-style check fails below 99% and on no data; the threshold counts them', () => {
  const minute = (canary: number, errors: number): [number[], number[]] => [
    Array.from({ length: 60 }, () => canary),
    Array.from({ length: 60 }, () => errors),
  ];
  const join = (...parts: [number[], number[]][]): [number[], number[]] => [
    parts.flatMap((p) => p[0]),
    parts.flatMap((p) => p[1]),
  ];
  // Minute 1 healthy; minute 2 no canary requests (a failure); minute 3 at 98% success.
  const canary = join(minute(10, 0), minute(0, 0), minute(50, 1));
  const stable = join(minute(90, 0), minute(100, 0), minute(50, 0));
  const run = handRun(canary, stable);
  const phases = { canary: 1, stable: 1 };
  const input: RunInput = {
    run,
    scenario: { ...scenario, scrapeIntervalS: 1 },
    k: 2,
    phases,
    scrapes: scrapeWindows(run, 1, phases),
    timing: TIMING,
  };
  assert.equal(thresholdMethod('t1', 't1', 60, 1).run(input).rollbackS, 120 + checkerDelay(TIMING));
  assert.equal(thresholdMethod('t2', 't2', 60, 2).run(input).rollbackS, 180 + checkerDelay(TIMING));
  assert.equal(thresholdMethod('t3', 't3', 60, 3).run(input).rollbackS, undefined);
});

await test('errors served until a restore within a second are taken pro rata', () => {
  const run = handRun(
    [
      [100, 100],
      [4, 8],
    ],
    [
      [900, 900],
      [9, 9],
    ],
  );
  assert.equal(counterAt(run.canary.errors, 1.5), 4 + 0.5 * 8);
  // Until 1.5 s: 8 errors of 150 requests, 1.5 of them at stable's 1%.
  assert.equal(excessErrors(run, { rollbackS: 1.5 }, scenario), 8 - 1.5);
  // Never rolled back: the whole watch.
  assert.equal(excessErrors(run, {}, scenario), 12 - 2);
});

await test('a tiny benchmark run is repeatable and its goals say met or not met with a margin', () => {
  const config: BenchConfig = {
    runsNull: 20,
    runsAlt: 10,
    seed: 3,
    timing: TIMING,
    intervalS: 30,
    factors: [1, 2, 10],
  };
  const baseline = SCENARIOS.find((s) => s.id === 'baseline')!;
  const a = runScenario({ ...baseline, candidates: false }, 0, config);
  const b = runScenario({ ...baseline, candidates: false }, 0, config);
  assert.deepEqual(a, b);
  const ids = new Set(a.rows.map((r) => r.method));
  for (const id of ['oracle', 'sequential-scrape', 'sequential-check', 'flagger-5', 'argo']) {
    assert.ok(ids.has(id), id);
  }
  // The oracle has no row for healthy canaries; every other method has one per k.
  assert.equal(a.rows.filter((r) => r.method === 'oracle').length, 2);
  const list = goals([a]);
  assert.equal(list.length, 4, 'no sandbox-200 scenario ran, so no preview');
  for (const g of list) assert.match(g.measured, /to spare|short by/);
  assert.ok(list.every((g) => typeof g.met === 'boolean'));
});
