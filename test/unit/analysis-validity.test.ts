import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRatioEProcess, rejects, updateRatio } from '../../src/analysis/eprocess.ts';
import { createJudge } from '../../src/analysis/judge.ts';
import type { JudgeOptions } from '../../src/analysis/judge.ts';
import { binomial, poisson, seededRandom } from '../../src/analysis/random.ts';
import type { Random } from '../../src/analysis/random.ts';

interface Traffic {
  /** Mean requests per window, both versions together. */
  perWindow: number;
  weight: number;
  stableErrorRate: number;
  canaryErrorRate: number;
  windows: number;
}

/** One window of simulated traffic: Poisson arrivals, binomial routing and errors. */
function drawWindow(rng: Random, t: Traffic) {
  const total = poisson(rng, t.perWindow);
  const canary = binomial(rng, total, t.weight);
  const stable = total - canary;
  return {
    canary,
    stable,
    canaryErrors: binomial(rng, canary, t.canaryErrorRate),
    stableErrors: binomial(rng, stable, t.stableErrorRate),
  };
}

/** How often the plain error e-process ever rejects within the watch. */
function ratioRejectionRate(
  t: Traffic,
  r0: number,
  alpha: number,
  runs: number,
  seed: number,
): number {
  const rng = seededRandom(seed);
  let rejected = 0;
  for (let run = 0; run < runs; run++) {
    let state = createRatioEProcess(r0);
    for (let j = 0; j < t.windows; j++) {
      const w = drawWindow(rng, t);
      state = updateRatio(state, {
        canaryRequests: w.canary,
        stableRequests: w.stable,
        canaryEvents: w.canaryErrors,
        stableEvents: w.stableErrors,
      });
      if (rejects(state, alpha)) {
        rejected++;
        break;
      }
    }
  }
  return rejected / runs;
}

/** How often the full judge decides to roll back within the watch, and at which window. */
function judgeRollbacks(t: Traffic, opts: JudgeOptions, runs: number, seed: number) {
  const judge = createJudge({ ...opts, boundsEveryWindow: false });
  const rng = seededRandom(seed);
  const at: number[] = [];
  for (let run = 0; run < runs; run++) {
    let state = judge.initial();
    for (let j = 0; j < t.windows; j++) {
      const w = drawWindow(rng, t);
      const o = judge.observe(state, {
        canary: { requests: w.canary, errors: w.canaryErrors, slow: {} },
        stable: { requests: w.stable, errors: w.stableErrors, slow: {} },
        firstAfterWeightChange: j === 0,
      });
      state = o.state;
      if (o.decision === 'rollback') {
        at.push(j);
        break;
      }
    }
  }
  return { rate: at.length / runs, at };
}

/** alpha plus three binomial standard errors: a bound a valid test exceeds with chance ~0.1%. */
const allowance = (alpha: number, runs: number): number =>
  alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs);

await test('validity: the error e-process at alpha 0.1 rejects a ratio of exactly 1 at most 10% of the time', () => {
  const runs = 2000;
  const traffic = {
    perWindow: 300,
    weight: 0.1,
    stableErrorRate: 0.02,
    canaryErrorRate: 0.02,
    windows: 40,
  };
  const rate = ratioRejectionRate(traffic, 1, 0.1, runs, 11);
  assert.ok(rate <= allowance(0.1, runs), `false rejection rate ${rate}`);
});

await test('validity: with a tolerance r0 = 1.5, a canary at exactly 1.5x stable is rejected at most alpha', () => {
  const runs = 2000;
  const traffic = {
    perWindow: 500,
    weight: 0.2,
    stableErrorRate: 0.01,
    canaryErrorRate: 0.015,
    windows: 40,
  };
  const rate = ratioRejectionRate(traffic, 1.5, 0.1, runs, 12);
  assert.ok(rate <= allowance(0.1, runs), `false rejection rate ${rate}`);
});

await test('validity: the full judge rolls back at most 1% of healthy canaries (low traffic and baseline)', () => {
  const runs = 2000;
  const opts: JudgeOptions = { minSuccessRate: 99, latencyBoundariesMs: [], minRequests: 20 };
  for (const traffic of [
    { perWindow: 150, weight: 0.05, stableErrorRate: 0.005, canaryErrorRate: 0.005, windows: 40 },
    { perWindow: 1500, weight: 0.1, stableErrorRate: 0.005, canaryErrorRate: 0.005, windows: 40 },
  ]) {
    const { rate } = judgeRollbacks(traffic, opts, runs, 13);
    assert.ok(
      rate <= allowance(0.01, runs),
      `false rollback rate ${rate} at ${traffic.perWindow}/window`,
    );
  }
});

await test('power: a 10x canary at 100 rps and 10% weight is caught, mostly in the first counted window', () => {
  const runs = 300;
  const traffic = {
    perWindow: 1500,
    weight: 0.1,
    stableErrorRate: 0.005,
    canaryErrorRate: 0.05,
    windows: 40,
  };
  const opts: JudgeOptions = { minSuccessRate: 99, latencyBoundariesMs: [250], minRequests: 20 };
  const { rate, at } = judgeRollbacks(traffic, opts, runs, 14);
  assert.ok(rate >= 0.99, `detection ${rate}`);
  const sorted = [...at].sort((a, b) => a - b);
  // Window 0 is warm-up; the median rollback happens at window 1 or 2.
  assert.ok(
    sorted[Math.floor(sorted.length / 2)] <= 2,
    `median window ${sorted[Math.floor(sorted.length / 2)]}`,
  );
});

await test('power: a 2x canary at 100 rps and 10% weight is caught most of the time within 40 windows', () => {
  const runs = 300;
  const traffic = {
    perWindow: 1500,
    weight: 0.1,
    stableErrorRate: 0.005,
    canaryErrorRate: 0.01,
    windows: 40,
  };
  const opts: JudgeOptions = { minSuccessRate: 99, latencyBoundariesMs: [], minRequests: 20 };
  const { rate } = judgeRollbacks(traffic, opts, runs, 15);
  assert.ok(rate >= 0.6, `detection ${rate}`);
});
