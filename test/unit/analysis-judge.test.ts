import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJudge } from '../../src/analysis/judge.ts';
import type {
  Judge,
  JudgeOptions,
  JudgeState,
  JudgeWindow,
  Observation,
} from '../../src/analysis/judge.ts';
import { formatP, formatRatio } from '../../src/analysis/sentence.ts';

const base: JudgeOptions = {
  minSuccessRate: 99,
  latencyBoundariesMs: [250],
  minRequests: 20,
  canaryName: 'v2',
  stableName: 'v1',
};

interface Side {
  requests: number;
  errors: number;
  slow?: number;
}

const window = (canary: Side, stable: Side, first = false): JudgeWindow => ({
  canary: { requests: canary.requests, errors: canary.errors, slow: { '250': canary.slow ?? 0 } },
  stable: { requests: stable.requests, errors: stable.errors, slow: { '250': stable.slow ?? 0 } },
  firstAfterWeightChange: first,
});

function feed(judge: Judge, windows: JudgeWindow[], from?: JudgeState): Observation[] {
  let state = from ?? judge.initial();
  return windows.map((w) => {
    const o = judge.observe(state, w);
    state = o.state;
    return o;
  });
}

const last = <T>(xs: T[]): T => xs[xs.length - 1];

await test('alpha is split: half to errors, a quarter each to latency and the SLO', () => {
  const j = createJudge(base);
  assert.equal(j.options.alpha, 0.01);
  assert.equal(j.options.alphaError, 0.005);
  assert.equal(j.options.alphaLatency, 0.0025);
  assert.equal(j.options.alphaSlo, 0.0025);
  const plain = createJudge({ ...base, latencyBoundariesMs: [], minSuccessRate: 0 });
  assert.equal(plain.options.alphaError, 0.01);
  assert.equal(plain.options.noWorseRatio, 2);
  assert.equal(createJudge({ ...base, maxErrorRatio: 3 }).options.noWorseRatio, 3);
});

await test('options no test could honour are refused', () => {
  assert.throws(() => createJudge({ ...base, alpha: 0 }), RangeError);
  assert.throws(() => createJudge({ ...base, alpha: 1 }), RangeError);
  assert.throws(() => createJudge({ ...base, maxErrorRatio: -1 }), RangeError);
  assert.throws(() => createJudge({ ...base, minSuccessRate: 120 }), RangeError);
});

await test('the first window after a weight change is ignored (warm-up)', () => {
  const j = createJudge(base);
  // 30% canary errors: bad, but not catastrophic (< 50%), and ignored as warm-up.
  const [o] = feed(j, [window({ requests: 100, errors: 30 }, { requests: 900, errors: 1 }, true)]);
  assert.equal(o.decision, 'continue');
  assert.equal(o.evidence.eError, 1);
  assert.equal(o.evidence.warmUp, true);
  assert.equal(o.state.canary.requests, 0);
  assert.equal(o.state.windowsIgnored, 1);
  assert.match(o.sentence, /warm-up/);
});

await test('catastrophic fast path: success < 50% over >= 20 requests rolls back at once, warm-up or not', () => {
  const j = createJudge(base);
  const [o] = feed(j, [window({ requests: 30, errors: 16 }, { requests: 300, errors: 0 }, true)]);
  assert.equal(o.decision, 'rollback');
  assert.equal(o.evidence.reason, 'catastrophic');
  assert.equal(
    o.sentence,
    'v2 failed 16 of 30 requests since the weights moved: rolled back at once',
  );
  // 19 requests are too few for the fast path; the totals since the change reach 20 next window.
  const obs = feed(j, [
    window({ requests: 19, errors: 19 }, { requests: 300, errors: 0 }, true),
    window({ requests: 1, errors: 1 }, { requests: 300, errors: 0 }),
  ]);
  assert.equal(obs[0].decision, 'continue');
  assert.equal(obs[1].evidence.reason, 'catastrophic');
});

await test('a 10x canary is rolled back by the error test with a sentence a person reads', () => {
  const j = createJudge(base);
  const obs = feed(j, [
    window({ requests: 150, errors: 8 }, { requests: 1350, errors: 7 }, true),
    window({ requests: 150, errors: 8 }, { requests: 1350, errors: 7 }),
    window({ requests: 150, errors: 7 }, { requests: 1350, errors: 6 }),
  ]);
  const rolled = obs.find((o) => o.decision === 'rollback');
  assert.ok(rolled);
  assert.equal(rolled.evidence.reason, 'error-ratio');
  assert.ok(rolled.evidence.pValue <= 0.005);
  assert.ok(rolled.evidence.eError >= 200);
  assert.match(
    rolled.sentence,
    /^v2 errors \d+(\.\d)?x v1's \(\d+ of \d+ vs \d+ of \d+\), p [<=] [\d.]+: rolled back$/,
  );
  // Once decided, the decision stays.
  const after = j.observe(
    rolled.state,
    window({ requests: 150, errors: 0 }, { requests: 1350, errors: 7 }),
  );
  assert.equal(after.decision, 'rollback');
});

await test('hand-checked sentence: 31 of 1000 against 90 of 9000 is 3.1x', () => {
  const j = createJudge(base);
  const obs = feed(j, [window({ requests: 1000, errors: 31 }, { requests: 9000, errors: 90 })]);
  // (31/1000) / (90/9000) = 0.031 / 0.01 = 3.1.
  assert.ok(Math.abs(obs[0].evidence.ratioEstimate! - 3.1) < 1e-12);
  assert.equal(obs[0].decision, 'rollback');
  assert.equal(
    obs[0].sentence,
    "v2 errors 3.1x v1's (31 of 1000 vs 90 of 9000), p < 0.001: rolled back",
  );
});

await test('both versions breaching the SLO is a degraded environment: hold, not roll back', () => {
  const j = createJudge(base);
  const windows = Array.from({ length: 8 }, () =>
    window({ requests: 1000, errors: 30 }, { requests: 9000, errors: 270 }),
  );
  const obs = feed(j, windows);
  assert.ok(obs.every((o) => o.decision !== 'rollback'));
  const held = last(obs);
  assert.equal(held.decision, 'hold-degraded');
  assert.equal(held.evidence.degraded, true);
  assert.match(held.sentence, /both below 99% success \(97%, 97%\): environment degraded/);
});

await test('the canary breaching the SLO while stable is fine rolls back (tolerance hides the ratio)', () => {
  // maxErrorRatio 10: a 6x canary does not break the ratio null, but 3% breaks the 99% SLO.
  const j = createJudge({ ...base, maxErrorRatio: 10 });
  const obs = feed(
    j,
    Array.from({ length: 10 }, () =>
      window({ requests: 1000, errors: 30 }, { requests: 9000, errors: 45 }),
    ),
  );
  const rolled = obs.find((o) => o.decision === 'rollback');
  assert.ok(rolled);
  assert.equal(rolled.evidence.reason, 'slo');
  assert.match(
    rolled.sentence,
    /^v2 success 97% is below the 99% minimum while v1 is at 99\.5%, p/,
  );
});

await test('a canary slow 10x as often rolls back on latency', () => {
  const j = createJudge(base);
  const obs = feed(
    j,
    Array.from({ length: 6 }, () =>
      window({ requests: 500, errors: 0, slow: 50 }, { requests: 4500, errors: 5, slow: 45 }),
    ),
  );
  const rolled = obs.find((o) => o.decision === 'rollback');
  assert.ok(rolled);
  assert.equal(rolled.evidence.reason, 'latency');
  assert.match(rolled.sentence, /^v2 slower than 250 ms 10x as often as v1, p/);
});

await test('a missing latency boundary says nothing', () => {
  const j = createJudge(base);
  const w: JudgeWindow = {
    canary: { requests: 500, errors: 0, slow: {} },
    stable: { requests: 4500, errors: 5, slow: { '250': 10 } },
    firstAfterWeightChange: false,
  };
  const [o] = feed(j, [w, w, w]);
  assert.equal(o.evidence.eLatency, 1);
});

await test('observe never mutates the state it was given', () => {
  const j = createJudge(base);
  const s0 = j.initial();
  const snapshot = JSON.stringify(s0);
  j.observe(s0, window({ requests: 100, errors: 5 }, { requests: 900, errors: 5 }));
  assert.equal(JSON.stringify(s0), snapshot);
});

await test('inconsistent windows are refused', () => {
  const j = createJudge(base);
  assert.throws(
    () => j.observe(j.initial(), window({ requests: 5, errors: 6 }, { requests: 9, errors: 0 })),
    RangeError,
  );
  assert.throws(
    () =>
      j.observe(
        j.initial(),
        window({ requests: 5, errors: 0, slow: 7 }, { requests: 9, errors: 0 }),
      ),
    RangeError,
  );
});

await test('conclude: too few canary requests is no-data', () => {
  const j = createJudge(base);
  const obs = feed(j, [window({ requests: 12, errors: 0 }, { requests: 300, errors: 1 })]);
  const c = j.conclude(last(obs).state);
  assert.equal(c.outcome, 'no-data');
  assert.equal(c.sentence, 'v2 served 12 requests, fewer than the 20 needed to judge: no data');
  assert.equal(j.conclude(j.initial()).outcome, 'no-data');
});

await test('conclude: plenty of healthy data is shown no worse; little data is inconclusive', () => {
  const j = createJudge(base);
  const lots = feed(
    j,
    Array.from({ length: 20 }, () =>
      window({ requests: 3000, errors: 15 }, { requests: 27000, errors: 135 }),
    ),
  );
  const shown = j.conclude(last(lots).state);
  assert.equal(shown.outcome, 'shown-no-worse');
  assert.ok(shown.evidence.ratioUpper < 2 && shown.evidence.ratioLower < 1);
  assert.match(
    shown.sentence,
    /^shown no worse: v2\/v1 error ratio < 1\.\d at 99\.5% confidence; v2 errors 1x v1's \(/,
  );
  const few = feed(j, [window({ requests: 100, errors: 1 }, { requests: 900, errors: 5 })]);
  const unsure = j.conclude(last(few).state);
  assert.equal(unsure.outcome, 'inconclusive');
  assert.match(
    unsure.sentence,
    /^inconclusive: too little traffic to show v2 is no worse \(the v2\/v1 error ratio could be up to \d+ at 99\.5% confidence, more than the 2 allowed\); v2 errors .*, not shown worse \(p = 1\)$/,
  );
});

await test('conclude after a rollback says so', () => {
  const j = createJudge(base);
  const obs = feed(j, [window({ requests: 1000, errors: 31 }, { requests: 9000, errors: 90 })]);
  assert.equal(j.conclude(last(obs).state).outcome, 'rolled-back');
});

await test('bounds every window intersect to the same or a tighter interval than at the end', () => {
  const j = createJudge(base);
  const lazy = createJudge({ ...base, boundsEveryWindow: false });
  const ws = Array.from({ length: 5 }, (_, i) =>
    window({ requests: 800, errors: 4 + i }, { requests: 7200, errors: 40 }),
  );
  const eager = j.conclude(last(feed(j, ws)).state).evidence;
  const once = lazy.conclude(last(feed(lazy, ws)).state).evidence;
  assert.ok(eager.ratioUpper <= once.ratioUpper && eager.ratioLower >= once.ratioLower);
  assert.ok(Number.isFinite(once.ratioUpper));
});

await test('number formats', () => {
  assert.equal(formatP(0.0004), 'p < 0.001');
  assert.equal(formatP(0.0042), 'p = 0.004');
  assert.equal(formatP(0.4137), 'p = 0.41');
  assert.equal(formatP(1), 'p = 1');
  assert.equal(formatRatio(3.14), '3.1');
  assert.equal(formatRatio(12.4), '12');
  assert.equal(formatRatio(0.853), '0.85');
  assert.equal(formatRatio(Infinity), 'unbounded');
});
