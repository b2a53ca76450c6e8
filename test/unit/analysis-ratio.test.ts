import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anytimePValue, rejects, tiltedPrior } from '../../src/analysis/mixture.ts';
import {
  closeInterval,
  createRatioEProcess,
  mixtureLogE,
  ratioBounds,
  updateRatio,
  windowLogLR,
} from '../../src/analysis/ratio.ts';
import type { RatioWindow } from '../../src/analysis/ratio.ts';

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

/** L_j(r) as the conditional binomial likelihood ratio, with no simplification. */
function directLR(w: RatioWindow, r: number, r0: number): number {
  const t0 = w.canaryRequests / (w.canaryRequests + w.stableRequests);
  const t = (q: number): number => (q * t0) / (q * t0 + 1 - t0);
  return (t(r) / t(r0)) ** w.canaryEvents * ((1 - t(r)) / (1 - t(r0))) ** w.stableEvents;
}

/** Two alternatives, 3x and 6x, with weights 2/3 and 1/3 (tilt 1): small enough to write out. */
const TWO = tiltedPrior([3, 6], 1);

await test('one window x=2, y=0, t0=0.5: L(r) = t(r)^2 / 0.5^2', () => {
  const w = win(100, 100, 2, 0);
  // r = 3: t(3) = 3*0.5 / (3*0.5 + 0.5) = 0.75, L = 0.75^2 / 0.25 = 2.25.
  close(Math.exp(windowLogLR(w, 3, 1)), 2.25);
  // r = 6: t(6) = 3/3.5 = 6/7, L = (12/7)^2 = 2.93877...
  close(Math.exp(windowLogLR(w, 6, 1)), (12 / 7) ** 2);
  // The mixture: 2/3 * 2.25 + 1/3 * (12/7)^2.
  const expected = (2 / 3) * 2.25 + (1 / 3) * (12 / 7) ** 2;
  const state = updateRatio(createRatioEProcess(1, TWO), w);
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
  const state = updateRatio(createRatioEProcess(1.2, TWO), win(50, 50, 3, 1));
  const direct =
    (2 / 3) * directLR(win(50, 50, 3, 1), 3.6, 1.2) +
    (1 / 3) * directLR(win(50, 50, 3, 1), 7.2, 1.2);
  close(Math.exp(state.logE), direct);
});

await test('log-space accumulation equals the direct product of the default mixture', () => {
  const windows = [win(30, 270, 2, 3), win(25, 300, 0, 4), win(40, 260, 5, 2), win(10, 90, 1, 0)];
  let state = createRatioEProcess(1);
  for (const w of windows) state = updateRatio(state, w);
  const { multipliers, logWeights } = state.prior;
  const direct = multipliers.reduce(
    (sum, g, k) =>
      sum + Math.exp(logWeights[k]) * windows.reduce((prod, w) => prod * directLR(w, g, 1), 1),
    0,
  );
  close(Math.exp(state.logE), direct, 1e-12);
  close(Math.exp(mixtureLogE(windows, 1, 1)), direct, 1e-12);
  assert.equal(state.informativeWindows, 4);
});

await test('windows with no events contribute a factor of 1 but count as judged', () => {
  const start = updateRatio(createRatioEProcess(1), win(100, 900, 3, 4));
  const next = updateRatio(start, win(100, 900, 0, 0));
  assert.equal(next.logE, start.logE);
  assert.equal(next.totals.canaryRequests, 200);
  assert.equal(updateRatio(start, win(0, 0, 0, 0)), start);
});

await test('a one-sided window waits and joins the next window that has both sides', () => {
  // The canary's scrape lands first with 2 errors, stable's a moment later with 1.
  const canaryOnly = updateRatio(createRatioEProcess(1), win(40, 0, 2, 0));
  assert.equal(canaryOnly.logE, 0);
  assert.deepEqual(canaryOnly.pending, win(40, 0, 2, 0));
  assert.equal(updateRatio(canaryOnly, win(7, 0, 0, 0)).pending.canaryRequests, 47);
  const joined = updateRatio(canaryOnly, win(0, 360, 0, 1));
  // The same evidence as one window holding both scrapes.
  const once = updateRatio(createRatioEProcess(1), win(40, 360, 2, 1));
  assert.ok(joined.logE > 0);
  close(joined.logE, once.logE);
  assert.deepEqual(joined.pending, win(0, 0, 0, 0));
  assert.deepEqual(joined.totals, win(40, 360, 2, 1));
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

await test('inconsistent windows are refused', () => {
  assert.throws(() => updateRatio(createRatioEProcess(1), win(10, 10, 11, 0)), RangeError);
  assert.throws(() => updateRatio(createRatioEProcess(1), win(10, 10, -1, 0)), RangeError);
  assert.throws(() => updateRatio(createRatioEProcess(1), win(NaN, 10, 0, 0)), RangeError);
  assert.throws(() => createRatioEProcess(0), RangeError);
});

await test('closing an interval pools its windows for the bounds; equal shares pool exactly', () => {
  let state = createRatioEProcess(1);
  for (const w of [win(100, 900, 3, 9), win(200, 1800, 4, 20)]) state = updateRatio(state, w);
  state = closeInterval(state);
  assert.deepEqual(state.intervals, [win(300, 2700, 7, 29)]);
  assert.deepEqual(state.open, win(0, 0, 0, 0));
  // Both windows had the canary share 0.1, so the pooled window carries the same evidence.
  close(mixtureLogE(state.intervals, 1, 1), state.logE);
  // Nothing open: closing again changes nothing.
  assert.equal(closeInterval(state), state);
});

await test('the confidence bounds hold the estimate, sit where E crosses 1/alpha, round outwards', () => {
  const windows = [win(1000, 9000, 30, 90), win(1000, 9000, 25, 110), win(1000, 9000, 35, 95)];
  // Observed ratio: (90/3000) / (295/27000) = 2.745...
  const { lower, upper } = ratioBounds(windows, 0.01);
  assert.ok(lower > 1.5 && lower < 2.745, `lower ${lower}`);
  assert.ok(upper > 2.745 && upper < 5, `upper ${upper}`);
  // Within the bisection's precision (3e-5 in the ratio) of where E crosses 100.
  close(mixtureLogE(windows, lower, 1), Math.log(100), 1e-3);
  close(mixtureLogE(windows, upper, -1), Math.log(100), 1e-3);
  assert.ok(mixtureLogE(windows, lower * 1.0001, 1) < Math.log(100));
  assert.ok(mixtureLogE(windows, upper / 1.0001, -1) < Math.log(100));
  // Outwards: both ends are themselves rejected, so the set {not rejected} lies inside.
  assert.ok(mixtureLogE(windows, lower, 1) >= Math.log(100));
  assert.ok(mixtureLogE(windows, upper, -1) >= Math.log(100));
  // No data: nothing bounds the ratio.
  assert.deepEqual(ratioBounds([], 0.01), { lower: 0, upper: Infinity });
  // Canary errors but none on stable: no upper bound.
  assert.equal(ratioBounds([win(100, 900, 5, 0)], 0.01).upper, Infinity);
});
