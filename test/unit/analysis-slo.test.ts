import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PRIOR, tiltedPrior } from '../../src/analysis/mixture.ts';
import { createSloEProcess, sloAlternatives, updateSlo } from '../../src/analysis/slo.ts';

const close = (actual: number, expected: number, tol = 1e-9): void => {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${actual} != ${expected}`,
  );
};

await test('SLO e-process: one hand-computed alternative and the weighted mixture', () => {
  // pSlo = 1%, n = 100, S = 3. For p = 2% alone: 2^3 * (0.98/0.99)^97.
  const single = updateSlo(createSloEProcess(0.01, tiltedPrior([2], 0)), 100, 3);
  close(Math.exp(single.logE), 2 ** 3 * (0.98 / 0.99) ** 97);
  // Two alternatives 2% and 4%, weights 2/3 and 1/3 (tilt 1).
  const two = updateSlo(createSloEProcess(0.01, tiltedPrior([2, 4], 1)), 100, 3);
  const expected = (2 / 3) * 2 ** 3 * (0.98 / 0.99) ** 97 + (1 / 3) * 4 ** 3 * (0.96 / 0.99) ** 97;
  close(Math.exp(two.logE), expected);
  assert.equal(two.requests, 100);
  assert.equal(two.errors, 3);
});

await test('SLO e-process: windows add up to the same evidence as their sum', () => {
  let split = createSloEProcess(0.01);
  for (const [n, s] of [
    [40, 1],
    [0, 0],
    [60, 2],
  ]) {
    split = updateSlo(split, n, s);
  }
  const whole = updateSlo(createSloEProcess(0.01), 100, 3);
  close(split.logE, whole.logE);
});

await test('SLO e-process: alternatives at or above 100% are dropped; 0% tolerates no error', () => {
  // pSlo = 10%: 10% * g < 1 only for g < 10.
  const wide = createSloEProcess(0.1);
  const below10 = DEFAULT_PRIOR.multipliers.filter((g) => g < 10).length;
  assert.equal(sloAlternatives(wide).length, below10);
  assert.ok(sloAlternatives(wide).every((p) => p < 1));
  const strict = createSloEProcess(0);
  assert.equal(updateSlo(strict, 1000, 0).logE, 0);
  assert.equal(updateSlo(strict, 1000, 1).maxLogE, Infinity);
  assert.equal(updateSlo(createSloEProcess(1), 100, 100).logE, 0);
});

await test('SLO e-process: inconsistent counts and limits are refused', () => {
  assert.throws(() => updateSlo(createSloEProcess(0.01), 10, 11), RangeError);
  assert.throws(() => createSloEProcess(1.5), RangeError);
});
