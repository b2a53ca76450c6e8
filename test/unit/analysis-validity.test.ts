/**
 * Validity of the e-processes by seeded simulation: at the null (the canary's error rate exactly
 * r0 times stable's, or below it), looking after every window, the share of runs that ever reject
 * stays below alpha. The margin each test states: the upper end of a 99% Wilson interval on that
 * share is below alpha, so the runs show the rate is below alpha, not only that it might be.
 * Windows are as small as per-scrape windows get (a few requests, mostly no events), straddle
 * weight changes, and the two versions' counts come from scrapes at different moments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJudge } from '../../src/analysis/judge.ts';
import type { JudgeOptions } from '../../src/analysis/judge.ts';
import { createRatioEProcess, updateRatio } from '../../src/analysis/ratio.ts';
import type { RatioEProcess, RatioWindow } from '../../src/analysis/ratio.ts';
import { rejects } from '../../src/analysis/mixture.ts';
import { binomial, poisson, seededRandom } from '../../src/analysis/random.ts';
import type { Random } from '../../src/analysis/random.ts';
import { createSloEProcess, updateSlo } from '../../src/analysis/slo.ts';

/** Upper end of the 99% Wilson score interval for `hits` of `n`. */
function upper99(hits: number, n: number): number {
  const z = 2.5758293035489;
  const p = hits / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return Math.min(1, centre + half);
}

function assertBelow(hits: number, runs: number, alpha: number, what: string): void {
  const bound = upper99(hits, runs);
  assert.ok(
    bound < alpha,
    `${what}: ${hits} of ${runs} runs rejected (${((100 * hits) / runs).toFixed(2)}%), 99% upper bound ${(100 * bound).toFixed(2)}% is not below alpha ${100 * alpha}%`,
  );
}

/** Traffic of one window: mean requests, the canary's share, error rates. */
interface Traffic {
  perWindow: number;
  share: number;
  stableErrorRate: number;
  /** Canary error rate over stable's. */
  ratio: number;
}

/** One window's counts: Poisson arrivals, binomial routing and errors. */
function drawWindow(rng: Random, t: Traffic): RatioWindow {
  const total = poisson(rng, t.perWindow);
  const canary = binomial(rng, total, t.share);
  return {
    canaryRequests: canary,
    stableRequests: total - canary,
    canaryEvents: binomial(rng, canary, Math.min(1, t.ratio * t.stableErrorRate)),
    stableEvents: binomial(rng, total - canary, t.stableErrorRate),
  };
}

/** Runs that ever reject within `windows` windows, the ratio e-process checked after each. */
function ratioRejections(
  runs: number,
  windows: number,
  seed: number,
  r0: number,
  alpha: number,
  draw: (rng: Random, j: number) => RatioWindow,
): number {
  const rng = seededRandom(seed);
  let hits = 0;
  for (let run = 0; run < runs; run++) {
    let state: RatioEProcess = createRatioEProcess(r0);
    for (let j = 0; j < windows; j++) {
      state = updateRatio(state, draw(rng, j));
      if (rejects(state, alpha)) {
        hits++;
        break;
      }
    }
  }
  return hits;
}

const ALPHA = 0.05;

await test('validity: the ratio e-process at the null, per-scrape windows from 2 to 1500 requests', () => {
  const cases: (Traffic & { runs: number; windows: number })[] = [
    // 10 rps at 1 s scrapes, canary 5%: most windows have no canary request, and very few events.
    { perWindow: 10, share: 0.05, stableErrorRate: 0.02, ratio: 1, runs: 1000, windows: 600 },
    // 2 requests a window: almost every window is one-sided and waits for the next.
    { perWindow: 2, share: 0.3, stableErrorRate: 0.05, ratio: 1, runs: 1000, windows: 600 },
    // 100 rps at 1 s scrapes, canary 10%.
    { perWindow: 100, share: 0.1, stableErrorRate: 0.01, ratio: 1, runs: 1000, windows: 600 },
    // 100 rps at 15 s scrapes, canary 50%.
    { perWindow: 1500, share: 0.5, stableErrorRate: 0.005, ratio: 1, runs: 1000, windows: 40 },
  ];
  cases.forEach((c, i) => {
    const hits = ratioRejections(c.runs, c.windows, 21 + i, 1, ALPHA, (rng) => drawWindow(rng, c));
    assertBelow(hits, c.runs, ALPHA, `${c.perWindow} requests a window, share ${c.share}`);
  });
});

await test('validity: a tolerance r0 = 1.5 at exactly 1.5x, and a canary better than stable', () => {
  const atTolerance = { perWindow: 300, share: 0.2, stableErrorRate: 0.01, ratio: 1.5 };
  const hits = ratioRejections(1000, 200, 31, 1.5, ALPHA, (rng) => drawWindow(rng, atTolerance));
  assertBelow(hits, 1000, ALPHA, 'r0 = 1.5 at 1.5x');
  const better = { perWindow: 300, share: 0.1, stableErrorRate: 0.02, ratio: 0.5 };
  const fewer = ratioRejections(1000, 200, 32, 1, ALPHA, (rng) => drawWindow(rng, better));
  assertBelow(fewer, 1000, ALPHA, 'canary at 0.5x');
});

/**
 * A window that straddles a weight change: its first half served at `before`, its second at
 * `after`, summed as one reading of the counters would sum them.
 */
function straddling(rng: Random, perWindow: number, before: number, after: number, p: number) {
  const a = drawWindow(rng, {
    perWindow: perWindow / 2,
    share: before,
    stableErrorRate: p,
    ratio: 1,
  });
  const b = drawWindow(rng, {
    perWindow: perWindow / 2,
    share: after,
    stableErrorRate: p,
    ratio: 1,
  });
  return {
    canaryRequests: a.canaryRequests + b.canaryRequests,
    stableRequests: a.stableRequests + b.stableRequests,
    canaryEvents: a.canaryEvents + b.canaryEvents,
    stableEvents: a.stableEvents + b.stableEvents,
  };
}

await test('validity: windows straddling a weight change (10% to 50% mid-window) stay valid', () => {
  // Every window straddles a change: the weight alternates 10% -> 50% -> 10% ... mid-window.
  const hits = ratioRejections(1000, 200, 41, 1, ALPHA, (rng, j) =>
    j % 2 === 0 ? straddling(rng, 400, 0.1, 0.5, 0.01) : straddling(rng, 400, 0.5, 0.1, 0.01),
  );
  assertBelow(hits, 1000, ALPHA, 'observed share across a weight change');
});

await test('the observed share is what makes it valid: the weight before the change would not be', () => {
  // The same windows, but the canary's share taken from the weight before the change (10%), as
  // a loop that attributed the window to the earlier stage would: the canary served 30% of the
  // window, so its errors look three times too many, and healthy canaries are rolled back.
  const hits = ratioRejections(300, 50, 42, 1, ALPHA, (rng) => {
    const w = straddling(rng, 400, 0.1, 0.5, 0.01);
    const total = w.canaryRequests + w.stableRequests;
    return { ...w, canaryRequests: 0.1 * total, stableRequests: 0.9 * total };
  });
  assert.ok(hits / 300 > 0.5, `only ${hits} of 300 runs rejected`);
});

/**
 * Two targets scraped every `interval` seconds at phases of their own, per-second traffic, the
 * weight moving from 10% to 50% halfway: the windows the judge receives are one-sided or hold the
 * two versions' counts over different seconds, and many straddle the change.
 */
function misalignedRun(rng: Random, seconds: number, interval: number, rps: number, p: number) {
  const canaryPhase = 1 + Math.floor(rng.next() * interval);
  const stablePhase = 1 + Math.floor(rng.next() * interval);
  const pending = { canary: { n: 0, e: 0 }, stable: { n: 0, e: 0 } };
  const windows: RatioWindow[] = [];
  for (let t = 1; t <= seconds; t++) {
    const share = t <= seconds / 2 ? 0.1 : 0.5;
    const total = poisson(rng, rps);
    const c = binomial(rng, total, share);
    pending.canary.n += c;
    pending.canary.e += binomial(rng, c, p);
    pending.stable.n += total - c;
    pending.stable.e += binomial(rng, total - c, p);
    const canaryDue = t >= canaryPhase && (t - canaryPhase) % interval === 0;
    const stableDue = t >= stablePhase && (t - stablePhase) % interval === 0;
    if (!canaryDue && !stableDue) continue;
    windows.push({
      canaryRequests: canaryDue ? pending.canary.n : 0,
      canaryEvents: canaryDue ? pending.canary.e : 0,
      stableRequests: stableDue ? pending.stable.n : 0,
      stableEvents: stableDue ? pending.stable.e : 0,
    });
    if (canaryDue) pending.canary = { n: 0, e: 0 };
    if (stableDue) pending.stable = { n: 0, e: 0 };
  }
  return windows;
}

await test('validity: scrapes of the two versions at different moments, across a weight change', () => {
  const rng = seededRandom(51);
  let hits = 0;
  const runs = 1000;
  for (let run = 0; run < runs; run++) {
    let state = createRatioEProcess(1);
    for (const w of misalignedRun(rng, 600, 15, 40, 0.01)) {
      state = updateRatio(state, w);
      if (rejects(state, ALPHA)) {
        hits++;
        break;
      }
    }
  }
  assertBelow(hits, runs, ALPHA, '15 s scrapes at two phases');
});

await test('validity: the SLO e-process at exactly the limit and below it', () => {
  for (const [rate, seed] of [
    [0.01, 61],
    [0.005, 62],
  ] as const) {
    const rng = seededRandom(seed);
    let hits = 0;
    for (let run = 0; run < 1000; run++) {
      let state = createSloEProcess(0.01);
      for (let j = 0; j < 300; j++) {
        const n = poisson(rng, 20);
        state = updateSlo(state, n, binomial(rng, n, rate));
        if (rejects(state, ALPHA)) {
          hits++;
          break;
        }
      }
    }
    assertBelow(hits, 1000, ALPHA, `SLO 1% at a true rate of ${rate}`);
  }
});

/** The whole judge fed every 1 s scrape, as the loop will feed it; runs that ever roll back. */
function judgeRollbacks(
  opts: JudgeOptions,
  t: Traffic,
  seconds: number,
  runs: number,
  seed: number,
) {
  const judge = createJudge({ ...opts, boundsEveryWindow: false });
  const rng = seededRandom(seed);
  let hits = 0;
  for (let run = 0; run < runs; run++) {
    let state = judge.initial();
    for (let s = 0; s < seconds; s++) {
      const w = drawWindow(rng, t);
      const step = judge.add(state, {
        canary: { requests: w.canaryRequests, errors: w.canaryEvents, slow: {} },
        stable: { requests: w.stableRequests, errors: w.stableEvents, slow: {} },
        weightChanged: s === 0,
      });
      state = step.state;
      if (step.decision === 'rollback') {
        hits++;
        break;
      }
    }
  }
  return hits;
}

await test('validity: the full judge fed every 1 s scrape rolls back healthy canaries below alpha', () => {
  const opts: JudgeOptions = {
    alpha: ALPHA,
    minSuccessRate: 99,
    latencyBoundariesMs: [],
    minRequests: 20,
  };
  for (const [t, seed] of [
    // Low traffic: 10 rps, canary 5%.
    [{ perWindow: 10, share: 0.05, stableErrorRate: 0.005, ratio: 1 }, 71],
    // The baseline: 100 rps, canary 10%.
    [{ perWindow: 100, share: 0.1, stableErrorRate: 0.005, ratio: 1 }, 72],
  ] as const) {
    const hits = judgeRollbacks(opts, t, 300, 600, seed);
    assertBelow(hits, 600, ALPHA, `judge at ${t.perWindow} rps`);
  }
});
