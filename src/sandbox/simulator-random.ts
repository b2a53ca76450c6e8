/**
 * Seeded randomness for the traffic simulator: the same seed gives the same run, so routing tests
 * can assert statistical bounds without flaking.
 */

/** A uniform generator on [0, 1). */
export type Random = () => number;

/** mulberry32: tiny, fast, and good enough for traffic shares (not for cryptography). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** z of the standard normal distribution at 0.99. */
const Z_99 = 2.326347874;

/** Parameters of a log-normal distribution in log space. */
export interface LogNormal {
  mu: number;
  sigma: number;
  /** exp(mu), kept exact so that a constant latency is the number the user gave. */
  median: number;
}

/**
 * Fits a log-normal to a median and a 99th percentile, the two numbers people know about their
 * service's latency. A p99 at or below the median gives a constant latency.
 */
export function fitLogNormal(medianMs: number, p99Ms: number): LogNormal {
  const median = Math.max(medianMs, 0.001);
  const p99 = Math.max(p99Ms, median);
  return { mu: Math.log(median), sigma: (Math.log(p99) - Math.log(median)) / Z_99, median };
}

/** Draws one value of the log-normal (Box-Muller; one draw of the pair is enough here). */
export function sampleLogNormal(random: Random, dist: LogNormal): number {
  if (dist.sigma === 0) return dist.median;
  const u1 = 1 - random();
  const u2 = random();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.exp(dist.mu + dist.sigma * z);
}

/** Picks an index by cumulative weights (ascending, last = total); `weights` must not be empty. */
export function pickCumulative(random: Random, cumulative: readonly number[]): number {
  const total = cumulative[cumulative.length - 1] ?? 0;
  const target = random() * total;
  for (let i = 0; i < cumulative.length; i++) {
    if (target < (cumulative[i] ?? 0)) return i;
  }
  return cumulative.length - 1;
}
