import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJudge } from '../../src/analysis/judge.ts';
import type {
  EvidenceWindow,
  Judge,
  JudgeOptions,
  JudgeState,
  JudgeWindow,
  Observation,
  Step,
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

/** A scrape's window for `add`. */
const scrape = (canary: Side, stable: Side, weightChanged = false): EvidenceWindow => ({
  canary: { requests: canary.requests, errors: canary.errors, slow: { '250': canary.slow ?? 0 } },
  stable: { requests: stable.requests, errors: stable.errors, slow: { '250': stable.slow ?? 0 } },
  weightChanged,
});

function addAll(judge: Judge, windows: EvidenceWindow[], from?: JudgeState): Step[] {
  let state = from ?? judge.initial();
  return windows.map((w) => {
    const step = judge.add(state, w);
    state = step.state;
    return step;
  });
}

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

await test('add judges the first window after a weight change: nothing is thrown away', () => {
  const j = createJudge(base);
  // The window observe would ignore as warm-up: 10 of 100 against 9 of 900.
  const [step] = addAll(j, [
    scrape({ requests: 100, errors: 10 }, { requests: 900, errors: 9 }, true),
  ]);
  assert.equal(step.state.canary.requests, 100);
  assert.equal(step.state.windowsIgnored, 0);
  assert.ok(step.state.error.logE > 0);
  assert.equal(step.decision, 'rollback');
  const r = j.report(step.state);
  assert.equal(r.evidence.warmUp, false);
  assert.equal(r.evidence.reason, 'error-ratio');
  assert.match(
    r.sentence,
    /^v2 errors 10x v1's \(10 of 100 vs 9 of 900\), p [<=] [\d.]+: rolled back$/,
  );
});

await test('many scrapes at one canary share carry exactly the evidence of one window', () => {
  const j = createJudge({ ...base, latencyBoundariesMs: [] });
  // Ten scrapes of 10 canary and 90 stable requests each, the errors spread over them.
  const errors = [1, 0, 0, 2, 0, 1, 0, 0, 1, 1];
  const steps = addAll(
    j,
    errors.map((x, i) =>
      scrape({ requests: 10, errors: x }, { requests: 90, errors: i % 3 === 0 ? 1 : 0 }),
    ),
  );
  const once = j.add(
    j.initial(),
    scrape({ requests: 100, errors: 6 }, { requests: 900, errors: 4 }),
  );
  const a = last(steps).state;
  assert.ok(Math.abs(a.error.logE - once.state.error.logE) < 1e-9);
  assert.ok(Math.abs(a.sloCanary.logE - once.state.sloCanary.logE) < 1e-9);
  assert.equal(a.windowsSeen, 10);
});

await test('scrapes of the two versions at different moments are judged once both have landed', () => {
  const j = createJudge({ ...base, latencyBoundariesMs: [] });
  // The canary's pods are scraped first: 5 of 50 failed; stable's scrape lands next: 4 of 450.
  const [first, second] = addAll(j, [
    scrape({ requests: 50, errors: 5 }, { requests: 0, errors: 0 }),
    scrape({ requests: 0, errors: 0 }, { requests: 450, errors: 4 }),
  ]);
  assert.equal(first.state.error.logE, 0);
  assert.equal(first.state.error.pending.canaryEvents, 5);
  const together = j.add(
    j.initial(),
    scrape({ requests: 50, errors: 5 }, { requests: 450, errors: 4 }),
  );
  assert.ok(Math.abs(second.state.error.logE - together.state.error.logE) < 1e-9);
  // A version without requests had no slow requests: latency waits the same way.
  const slow = createJudge(base);
  const s1 = slow.add(slow.initial(), {
    canary: { requests: 50, errors: 0, slow: { '250': 20 } },
    stable: { requests: 0, errors: 0, slow: {} },
  });
  assert.equal(s1.state.latency[0].pending.canaryEvents, 20);
});

await test('the errors and the SLO together roll back where neither would alone', () => {
  const j = createJudge({ ...base, latencyBoundariesMs: [] });
  // 6 of 100 against 7 of 900: the error test alone needs E >= 1/0.0075 = 133, the SLO test
  // alone E >= 1/0.0025 = 400; their average weighted 3/4 and 1/4 needs 100.
  const step = j.add(
    j.initial(),
    scrape({ requests: 100, errors: 6 }, { requests: 900, errors: 7 }),
  );
  const e = j.report(step.state).evidence;
  assert.ok(e.eError < 1 / j.options.alphaError, `eError ${e.eError}`);
  assert.ok(e.eSlo < 1 / j.options.alphaSlo, `eSlo ${e.eSlo}`);
  const average = (j.options.alphaError * e.eError + j.options.alphaSlo * e.eSlo) / j.options.alpha;
  assert.ok(Math.abs(e.eCombined - average) < 1e-9 * average);
  assert.ok(e.eCombined >= 100);
  assert.equal(step.decision, 'rollback');
  assert.equal(e.reason, 'error-ratio');
  assert.ok(e.pCombined <= 0.01 && e.pValue > 0.0075);
});

await test('a weight change restarts the fast path count, and only that', () => {
  const j = createJudge(base);
  // Stable fails half its requests, so neither the ratio nor the SLO can blame the canary: only
  // the fast path can roll it back.
  const steps = addAll(j, [
    scrape({ requests: 200, errors: 0 }, { requests: 1800, errors: 900 }),
    scrape({ requests: 10, errors: 6 }, { requests: 1800, errors: 900 }, true),
    scrape({ requests: 10, errors: 5 }, { requests: 600, errors: 300 }),
  ]);
  assert.equal(steps[1].state.canarySinceChange.requests, 10);
  // 11 of 20 failed since the change: below 50% success over 20 requests.
  assert.equal(steps[2].state.rollback, 'catastrophic');
  assert.equal(steps[2].state.canary.requests, 220);
  // Without the change the 200 earlier successes would have counted, and nothing would happen.
  const [, , unchanged] = addAll(j, [
    scrape({ requests: 200, errors: 0 }, { requests: 1800, errors: 900 }),
    scrape({ requests: 10, errors: 6 }, { requests: 1800, errors: 900 }),
    scrape({ requests: 10, errors: 5 }, { requests: 600, errors: 300 }),
  ]);
  assert.equal(unchanged.decision, 'hold-degraded');
});

await test('report closes an interval: one log line over every scrape so far', () => {
  const j = createJudge(base);
  const steps = addAll(
    j,
    Array.from({ length: 15 }, () =>
      scrape({ requests: 10, errors: 0 }, { requests: 90, errors: 1 }),
    ),
  );
  const r = j.report(last(steps).state);
  assert.equal(r.decision, 'continue');
  assert.equal(r.state.error.intervals.length, 1);
  assert.equal(r.state.error.intervals[0].stableRequests, 1350);
  assert.match(
    r.sentence,
    /^v2 errors 0, v1 none|^v2 errors 0x v1's \(0 of 150 vs 15 of 1350\) so far, p = 1: watching$/,
  );
  assert.ok(Number.isFinite(r.evidence.ratioUpper));
  // conclude closes what report left open and hands back that state.
  const more = j.add(r.state, scrape({ requests: 10, errors: 0 }, { requests: 90, errors: 1 }));
  const c = j.conclude(more.state);
  assert.equal(c.state.error.intervals.length, 2);
  assert.equal(c.outcome, 'inconclusive');
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
  assert.ok(rolled.evidence.pCombined <= 0.01);
  assert.ok(rolled.evidence.eCombined >= 100);
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
