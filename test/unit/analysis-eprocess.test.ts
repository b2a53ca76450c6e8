import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GRID,
  anytimePValue,
  createRatioEProcess,
  createSloEProcess,
  geometricGrid,
  logMeanExp,
  mixtureLogE,
  ratioBounds,
  rejects,
  updateRatio,
  updateSlo,
  windowLogLR,
} from '../../src/analysis/eprocess.ts';
import type { RatioWindow } from '../../src/analysis/eprocess.ts';

const close = (actual: number, expected: number, tol = 1e-9): void => {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${actual} != ${expected}`,
  );
};

const win = (nc: number, nb: number, x: number, y: number): RatioWindow => ({
  canaryRequests: nc,
  stableRequests: nb,
  canaryEvents: x,
  stableEvents: y,
});

/** L_j(r) written the way ANALYSIS.md writes it, with no simplification. */
function directLR(w: RatioWindow, r: number, r0: number): number {
  const t0 = w.canaryRequests / (w.canaryRequests + w.stableRequests);
  const t = (q: number): number => (q * t0) / (q * t0 + 1 - t0);
  return (t(r) / t(r0)) ** w.canaryEvents * ((1 - t(r)) / (1 - t(r0))) ** w.stableEvents;
}

await test('the grid is geometric on [1.1, 20] with 25 points', () => {
  assert.equal(GRID.length, 25);
  close(GRID[0], 1.1);
  close(GRID[24], 20);
  // Constant ratio between neighbours: (20/1.1)^(1/24) = 1.1284...
  const step = (20 / 1.1) ** (1 / 24);
  for (let k = 1; k < 25; k++) close(GRID[k] / GRID[k - 1], step);
  geometricGrid(1, 100, 3).forEach((v, i) => close(v, [1, 10, 100][i]));
});

await test('one window x=2, y=0, t0=0.5: L(r) = t(r)^2 / 0.5^2', () => {
  const w = win(100, 100, 2, 0);
  // r = 3: t(3) = 3*0.5 / (3*0.5 + 0.5) = 0.75, L = 0.75^2 / 0.25 = 2.25.
  close(Math.exp(windowLogLR(w, 3, 1)), 2.25);
  // r = 1.1 (first grid point): t = 0.55/1.05 = 0.5238..., L = (0.5238/0.5)^2 = 1.09751...
  close(Math.exp(windowLogLR(w, 1.1, 1)), (1.1 / 2.1 / 0.5) ** 2);
  // r = 20 (last grid point): t = 20/21, L = (40/21)^2 = 3.62811...
  close(Math.exp(windowLogLR(w, 20, 1)), 3.628117913832199);
  // E = mean over the 25 grid points of (2g/(g+1))^2.
  const expected = GRID.reduce((sum, g) => sum + ((2 * g) / (g + 1)) ** 2, 0) / 25;
  const state = updateRatio(createRatioEProcess(1), w);
  close(Math.exp(state.logE), expected);
  close(anytimePValue(state), 1 / expected);
});

await test('one window x=1, y=1, t0=0.1: L(2) = (0.2/1.1)/0.1 * (0.9/1.1)/0.9 = 2/1.21', () => {
  // t(2) = 0.2 / (0.2 + 0.9) = 0.18182; 1 - t(2) = 0.81818.
  // L = (0.18182 / 0.1) * (0.81818 / 0.9) = 1.81818 * 0.90909 = 1.65289 = 2 / 1.21.
  close(Math.exp(windowLogLR(win(10, 90, 1, 1), 2, 1)), 2 / 1.21);
});

await test('a tolerance r0 = 1.2 tests r against 1.2, not against 1', () => {
  // t0 = 0.5, x = 3, y = 1. t(2.4) = 2.4/3.4, t(1.2) = 1.2/2.2.
  // L = ((2.4/3.4)/(1.2/2.2))^3 * ((1/3.4)/(1/2.2))^1 = (2*2.2/3.4)^3 * (2.2/3.4).
  const expected = ((2 * 2.2) / 3.4) ** 3 * (2.2 / 3.4);
  close(Math.exp(windowLogLR(win(50, 50, 3, 1), 2.4, 1.2)), expected);
  const state = updateRatio(createRatioEProcess(1.2), win(50, 50, 3, 1));
  const direct = GRID.reduce((s, g) => s + directLR(win(50, 50, 3, 1), 1.2 * g, 1.2), 0) / 25;
  close(Math.exp(state.logE), direct);
});

await test('windows with no canary, no stable or no events contribute a factor of 1', () => {
  const start = updateRatio(createRatioEProcess(1), win(100, 900, 3, 4));
  for (const w of [win(0, 900, 0, 5), win(100, 0, 5, 0), win(100, 900, 0, 0)]) {
    const next = updateRatio(start, w);
    assert.equal(next, start);
  }
  assert.equal(start.windows.length, 1);
});

await test('log-space accumulation equals the direct product where nothing overflows', () => {
  const windows = [win(30, 270, 2, 3), win(25, 300, 0, 4), win(40, 260, 5, 2), win(10, 90, 1, 0)];
  let state = createRatioEProcess(1);
  for (const w of windows) state = updateRatio(state, w);
  const direct =
    GRID.reduce((sum, g) => sum + windows.reduce((prod, w) => prod * directLR(w, g, 1), 1), 0) / 25;
  close(Math.exp(state.logE), direct, 1e-12);
  close(Math.exp(mixtureLogE(windows, 1, 1)), direct, 1e-12);
});

await test('the anytime p-value keeps the largest E seen so far', () => {
  let state = updateRatio(createRatioEProcess(1), win(100, 100, 6, 0));
  const best = state.logE;
  state = updateRatio(state, win(100, 100, 0, 20));
  assert.ok(state.logE < best);
  close(state.maxLogE, best);
  close(anytimePValue(state), Math.min(1, Math.exp(-best)));
  // A stable-heavy start: E < 1, the p-value is capped at 1.
  assert.equal(anytimePValue(updateRatio(createRatioEProcess(1), win(100, 100, 0, 10))), 1);
});

await test('huge counts neither overflow nor lose the answer', () => {
  let state = createRatioEProcess(1);
  for (let i = 0; i < 50; i++) state = updateRatio(state, win(1e9, 9e9, 5e7, 5e7));
  // Direct computation would be exp(~1e8); in logs it is an ordinary number.
  assert.ok(Number.isFinite(state.logE));
  assert.ok(state.logE > 1e6);
  assert.ok(rejects(state, 1e-12));
  assert.equal(anytimePValue(state), 0);
  let healthy = createRatioEProcess(1);
  for (let i = 0; i < 50; i++) healthy = updateRatio(healthy, win(1e9, 9e9, 5e6, 4.5e7));
  assert.ok(Number.isFinite(healthy.logE));
  assert.ok(healthy.logE < 0);
});

await test('logMeanExp matches the plain formula and survives huge values', () => {
  close(logMeanExp([0, Math.log(3)]), Math.log(2));
  close(logMeanExp([1000, 1000]), 1000);
  assert.equal(logMeanExp([]), -Infinity);
});

await test('inconsistent windows are refused', () => {
  assert.throws(() => updateRatio(createRatioEProcess(1), win(10, 10, 11, 0)), RangeError);
  assert.throws(() => createRatioEProcess(0), RangeError);
});

await test('the confidence bounds hold the estimate and sit where E crosses 1/alpha', () => {
  const windows = [win(1000, 9000, 30, 90), win(1000, 9000, 25, 110), win(1000, 9000, 35, 95)];
  // Observed ratio: (90/3000) / (295/27000) = 2.745...
  const { lower, upper } = ratioBounds(windows, 0.01);
  assert.ok(lower > 1.5 && lower < 2.745, `lower ${lower}`);
  assert.ok(upper > 2.745 && upper < 5, `upper ${upper}`);
  close(mixtureLogE(windows, lower, 1), Math.log(100), 1e-6);
  close(mixtureLogE(windows, upper, -1), Math.log(100), 1e-6);
  // No data: nothing bounds the ratio.
  assert.deepEqual(ratioBounds([], 0.01), { lower: 0, upper: Infinity });
  // Canary errors but none on stable: no upper bound.
  assert.equal(ratioBounds([win(100, 900, 5, 0)], 0.01).upper, Infinity);
});

await test('SLO e-process: one hand-computed alternative and the mixture', () => {
  // pSlo = 1%, n = 100, S = 3. For p = 1.1%: (1.1)^3 * (0.989/0.99)^97.
  const s = updateSlo(createSloEProcess(0.01), 100, 3);
  close(Math.exp(s.logLR[0]), 1.1 ** 3 * (0.989 / 0.99) ** 97);
  const direct =
    GRID.reduce((sum, g) => sum + g ** 3 * ((1 - 0.01 * g) / 0.99) ** 97, 0) / GRID.length;
  close(Math.exp(s.logE), direct);
  assert.equal(s.requests, 100);
  assert.equal(s.errors, 3);
});

await test('SLO e-process: alternatives at or above 100% are dropped; 0% tolerates no error', () => {
  // pSlo = 10%: 10% * g < 1 only for g < 10.
  const wide = createSloEProcess(0.1);
  assert.equal(wide.alternatives.length, GRID.filter((g) => g < 10).length);
  const strict = createSloEProcess(0);
  assert.equal(updateSlo(strict, 1000, 0).logE, 0);
  assert.equal(updateSlo(strict, 1000, 1).maxLogE, Infinity);
  assert.equal(updateSlo(createSloEProcess(1), 100, 100).logE, 0);
});
