/**
 * Seeded random numbers for simulations of request streams (the validity tests and the benchmark).
 * Exact samplers: inversion for small means, Hörmann's transformed rejection (BTRS for the binomial,
 * PTRS for the Poisson, W. Hörmann 1993) for large ones, so that the simulated counts carry the right
 * tails; a normal approximation would understate exactly the rare events a test of validity counts.
 */

/** A source of uniform numbers in (0, 1). */
export interface Random {
  next(): number;
}

/** sfc32 seeded through splitmix32: fast, 128 bits of state, good enough for Monte Carlo. */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    // Half a step off the grid keeps 0 and 1 out, so logs and divisions stay finite.
    return (t + 0.5) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return { next };
}

const LOG_FACTORIAL_TABLE: number[] = (() => {
  const table = [0];
  for (let k = 1; k < 256; k++) table.push(table[k - 1] + Math.log(k));
  return table;
})();

/** log(k!) for integer k >= 0: exact sums below 256, Stirling's series (error < 1e-15) above. */
export function logFactorial(k: number): number {
  if (k < 256) return LOG_FACTORIAL_TABLE[k];
  const n = k + 1;
  const inv = 1 / n;
  const inv2 = inv * inv;
  const series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)));
  return (n - 0.5) * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI) + series;
}

/** A Binomial(n, p) draw. */
export function binomial(rng: Random, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(rng, n, 1 - p);
  return n * p < 10 ? binomialInversion(rng, n, p) : binomialBtrs(rng, n, p);
}

/** Sequential search of the CDF from 0; expected cost n*p + 1 steps. */
function binomialInversion(rng: Random, n: number, p: number): number {
  const q = 1 - p;
  const odds = p / q;
  let pmf = Math.exp(n * Math.log1p(-p));
  let u = rng.next();
  for (let k = 0; k < n; k++) {
    if (u <= pmf) return k;
    u -= pmf;
    pmf *= (odds * (n - k)) / (k + 1);
  }
  return n;
}

/** BTRS: transformed rejection with a squeeze, for p <= 0.5 and n*p >= 10. */
function binomialBtrs(rng: Random, n: number, p: number): number {
  const q = 1 - p;
  const spq = Math.sqrt(n * p * q);
  const b = 1.15 + 2.53 * spq;
  const a = -0.0873 + 0.0248 * b + 0.01 * p;
  const c = n * p + 0.5;
  const vr = 0.92 - 4.2 / b;
  const alpha = (2.83 + 5.1 / b) * spq;
  const lpq = Math.log(p / q);
  const m = Math.floor((n + 1) * p);
  const h = logFactorial(m) + logFactorial(n - m);
  for (;;) {
    const u = rng.next() - 0.5;
    const v = rng.next();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + c);
    if (k < 0 || k > n) continue;
    if (us >= 0.07 && v <= vr) return k;
    const lhs = Math.log((v * alpha) / (a / (us * us) + b));
    const rhs = h - logFactorial(k) - logFactorial(n - k) + (k - m) * lpq;
    if (lhs <= rhs) return k;
  }
}

/** A Poisson(lambda) draw. */
export function poisson(rng: Random, lambda: number): number {
  if (lambda <= 0) return 0;
  return lambda < 10 ? poissonInversion(rng, lambda) : poissonPtrs(rng, lambda);
}

function poissonInversion(rng: Random, lambda: number): number {
  let pmf = Math.exp(-lambda);
  let u = rng.next();
  // Bounded: past 1000 + 100*lambda the remaining mass is far below double precision.
  for (let k = 0; k < 1000 + 100 * lambda; k++) {
    if (u <= pmf) return k;
    u -= pmf;
    pmf *= lambda / (k + 1);
  }
  return Math.round(lambda);
}

/** PTRS: transformed rejection with a squeeze, for lambda >= 10. */
function poissonPtrs(rng: Random, lambda: number): number {
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng.next() - 0.5;
    const v = rng.next();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    const lhs = Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b);
    if (lhs <= -lambda + k * loglam - logFactorial(k)) return k;
  }
}
