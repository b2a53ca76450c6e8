import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binomial, logFactorial, poisson, seededRandom } from '../../src/analysis/random.ts';

/** Pearson chi-square of `draws` against `pmf`, cells with expected count < 5 pooled at the tails. */
function chiSquare(
  draws: number[],
  pmf: (k: number) => number,
  support: number,
): { stat: number; df: number } {
  const counts = new Map<number, number>();
  for (const d of draws) counts.set(d, (counts.get(d) ?? 0) + 1);
  let stat = 0;
  let cells = 0;
  let pooledObs = 0;
  let pooledExp = 0;
  for (let k = 0; k <= support; k++) {
    const expected = pmf(k) * draws.length;
    const observed = counts.get(k) ?? 0;
    if (expected < 5) {
      pooledObs += observed;
      pooledExp += expected;
      continue;
    }
    stat += (observed - expected) ** 2 / expected;
    cells += 1;
  }
  if (pooledExp > 0) {
    stat += (pooledObs - pooledExp) ** 2 / pooledExp;
    cells += 1;
  }
  return { stat, df: cells - 1 };
}

/** Upper 1e-4 quantile of chi-square with df degrees (Wilson-Hilferty), generous on purpose. */
function critical(df: number): number {
  const z = 3.72;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

const binomialPmf =
  (n: number, p: number) =>
  (k: number): number =>
    k > n
      ? 0
      : Math.exp(
          logFactorial(n) -
            logFactorial(k) -
            logFactorial(n - k) +
            k * Math.log(p) +
            (n - k) * Math.log1p(-p),
        );
const poissonPmf =
  (lambda: number) =>
  (k: number): number =>
    Math.exp(-lambda + k * Math.log(lambda) - logFactorial(k));

await test('the generator is deterministic per seed and uniform in (0, 1)', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const c = seededRandom(43);
  const xs = Array.from({ length: 20000 }, () => a.next());
  assert.deepEqual(
    xs.slice(0, 5),
    Array.from({ length: 5 }, () => b.next()),
  );
  assert.notEqual(xs[0], c.next());
  assert.ok(xs.every((x) => x > 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  // SE of the mean of U(0,1) over 20000 draws: sqrt(1/12/20000) = 0.002.
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
});

await test('logFactorial is exact in the table and continuous into the series', () => {
  assert.equal(logFactorial(0), 0);
  assert.ok(Math.abs(logFactorial(5) - Math.log(120)) < 1e-12);
  // log(256!) = log(255!) + log(256): the table and the series meet without a jump.
  assert.ok(Math.abs(logFactorial(256) - (logFactorial(255) + Math.log(256))) < 1e-10);
  let sum = 0;
  for (let i = 1; i <= 1000; i++) sum += Math.log(i);
  assert.ok(Math.abs(logFactorial(1000) - sum) < 1e-9);
});

for (const [n, p] of [
  [20, 0.1],
  [500, 0.005],
  [200, 0.3],
  [5000, 0.1],
  [60, 0.9],
] as const) {
  await test(`binomial(${n}, ${p}) matches the exact distribution (chi-square)`, () => {
    const rng = seededRandom(1000 + n);
    const draws = Array.from({ length: 40000 }, () => binomial(rng, n, p));
    assert.ok(draws.every((d) => Number.isInteger(d) && d >= 0 && d <= n));
    const { stat, df } = chiSquare(draws, binomialPmf(n, p), n);
    assert.ok(stat < critical(df), `chi-square ${stat} on ${df} df`);
    const mean = draws.reduce((s, d) => s + d, 0) / draws.length;
    assert.ok(Math.abs(mean - n * p) < 5 * Math.sqrt((n * p * (1 - p)) / draws.length) + 1e-9);
  });
}

for (const lambda of [0.5, 4, 25, 500]) {
  await test(`poisson(${lambda}) matches the exact distribution (chi-square)`, () => {
    const rng = seededRandom(7 + lambda);
    const draws = Array.from({ length: 40000 }, () => poisson(rng, lambda));
    const { stat, df } = chiSquare(draws, poissonPmf(lambda), Math.ceil(lambda * 3 + 30));
    assert.ok(stat < critical(df), `chi-square ${stat} on ${df} df`);
  });
}

await test('degenerate parameters', () => {
  const rng = seededRandom(1);
  assert.equal(binomial(rng, 0, 0.5), 0);
  assert.equal(binomial(rng, 10, 0), 0);
  assert.equal(binomial(rng, 10, 1), 10);
  assert.equal(poisson(rng, 0), 0);
});
