import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_PRIOR,
  FLAT_PRIOR,
  anytimePValue,
  geometricGrid,
  logMeanExp,
  logMixture,
  logSumExp,
  rejects,
  restrictPrior,
  tiltedPrior,
} from '../../src/analysis/mixture.ts';

const close = (actual: number, expected: number, tol = 1e-12): void => {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${actual} != ${expected}`,
  );
};

/** The grid 1.1 * (20/1.1)^(k/24), k = 0..24, written out independently of the module. */
const grid = Array.from({ length: 25 }, (_, k) => 1.1 * (20 / 1.1) ** (k / 24));

await test('geometric grids: constant ratio between neighbours, both ends included', () => {
  const g = geometricGrid(1.1, 20, 25);
  g.forEach((v, k) => close(v, grid[k]));
  geometricGrid(1, 100, 3).forEach((v, i) => close(v, [1, 10, 100][i]));
  assert.deepEqual(geometricGrid(2, 5, 1), [2]);
});

await test('the default prior weighs multiplier g as g^-0.25 on the 1.1..20 grid', () => {
  const raw = grid.map((g) => g ** -0.25);
  const sum = raw.reduce((a, b) => a + b, 0);
  assert.equal(DEFAULT_PRIOR.multipliers.length, 25);
  DEFAULT_PRIOR.logWeights.forEach((lw, k) => close(Math.exp(lw), raw[k] / sum));
  DEFAULT_PRIOR.logMultipliers.forEach((lg, k) => close(lg, Math.log(grid[k])));
  // Smaller ratios weigh more: 1.1 against 20 is (20/1.1)^0.25 = 2.065 times as heavy.
  close(Math.exp(DEFAULT_PRIOR.logWeights[0] - DEFAULT_PRIOR.logWeights[24]), (20 / 1.1) ** 0.25);
  // The equal-weight grid the judge used before: 1/25 each.
  FLAT_PRIOR.logWeights.forEach((lw) => close(Math.exp(lw), 1 / 25));
});

await test('a prior refuses multipliers at or below 1, which would not be alternatives', () => {
  assert.throws(() => tiltedPrior([1, 2], 0), RangeError);
  assert.throws(() => tiltedPrior([], 0), RangeError);
  assert.throws(() => tiltedPrior([2, Infinity], 0), RangeError);
});

await test('restricting a prior renormalises the weights it keeps', () => {
  const p = tiltedPrior([2, 4, 8], 1);
  const kept = restrictPrior(p, (g) => g < 5)!;
  assert.deepEqual(kept.multipliers, [2, 4]);
  // Weights 1/2 and 1/4 before, so 2/3 and 1/3 after.
  close(Math.exp(kept.logWeights[0]), 2 / 3);
  close(Math.exp(kept.logWeights[1]), 1 / 3);
  assert.equal(
    restrictPrior(p, () => false),
    undefined,
  );
});

await test('log-space sums match the plain formulas and survive huge values', () => {
  close(logSumExp([0, Math.log(3)]), Math.log(4));
  close(logMeanExp([0, Math.log(3)]), Math.log(2));
  close(logMeanExp([1000, 1000]), 1000);
  assert.equal(logMeanExp([]), -Infinity);
  assert.equal(logSumExp([-Infinity, -Infinity]), -Infinity);
  const p = tiltedPrior([2, 4], 1);
  // Weights 2/3 and 1/3: log(2/3 * e^1 + 1/3 * e^2).
  close(logMixture(p, [1, 2]), Math.log((2 / 3) * Math.E + (1 / 3) * Math.E ** 2));
  close(logMixture(p, [5000, 5000]), 5000);
});

await test('the anytime p-value is 1/max E, capped at 1; rejection at E >= 1/alpha', () => {
  close(anytimePValue({ maxLogE: Math.log(40) }), 1 / 40);
  assert.equal(anytimePValue({ maxLogE: -3 }), 1);
  assert.equal(rejects({ maxLogE: Math.log(100) }, 0.01), true);
  assert.equal(rejects({ maxLogE: Math.log(99.9) }, 0.01), false);
});
