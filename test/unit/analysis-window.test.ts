import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  boundaryForShare,
  chooseLatencyBoundaries,
  judgeWindow,
  nearestInLog,
  slowCounts,
} from '../../src/rollout/judge-window.ts';
import type { Bucket } from '../../src/rollout/judge-window.ts';

/** A cumulative histogram from counts at or below each bound; `total` goes in the +Inf bucket. */
const histogram = (atOrBelow: Record<number, number>, total: number): Bucket[] => [
  ...Object.entries(atOrBelow).map(([le, count]) => ({ le: Number(le), count })),
  { le: Infinity, count: total },
];

await test('slow = count(+Inf) - bucket(le=L), per boundary, keyed as written', () => {
  const buckets = histogram({ 25: 500, 100: 900, 250: 990, 1000: 1000 }, 1000);
  assert.deepEqual(slowCounts(buckets, 1000, [100, 250, 1000]), {
    '100': 100,
    '250': 10,
    '1000': 0,
  });
});

await test('a boundary the histogram lacks, or a window without +Inf, gives no slow count', () => {
  const buckets = histogram({ 100: 90 }, 100);
  assert.deepEqual(slowCounts(buckets, 100, [100, 300]), { '100': 10 });
  assert.deepEqual(slowCounts([{ le: 100, count: 90 }], 100, [100]), {});
});

await test('slow counts stay within 0..requests when histogram and counter disagree', () => {
  // The histogram saw 3 more requests than the request counter in this window (separate series).
  assert.deepEqual(slowCounts(histogram({ 100: 0 }, 103), 100, [100]), { '100': 100 });
  // A reset between readings can leave a bucket above +Inf.
  assert.deepEqual(slowCounts(histogram({ 100: 120 }, 100), 100, [100]), { '100': 0 });
});

await test('the judge window carries requests, 5xx, slow counts and the warm-up flag', () => {
  const w = judgeWindow(
    {
      canary: { requests: 100, errors: 7, buckets: histogram({ 250: 80 }, 100) },
      stable: { requests: 900, errors: 9, buckets: histogram({ 250: 891 }, 900) },
    },
    [250],
    true,
  );
  assert.deepEqual(w, {
    canary: { requests: 100, errors: 7, slow: { '250': 20 } },
    stable: { requests: 900, errors: 9, slow: { '250': 9 } },
    firstAfterWeightChange: true,
  });
});

await test("boundaries near stable's p90 and p99 are bucket bounds with about 10% and 1% slower", () => {
  const stable = histogram(
    { 25: 5000, 50: 8000, 100: 9000, 250: 9900, 500: 9990, 1000: 10000 },
    10000,
  );
  assert.equal(boundaryForShare(stable, 0.1), 100);
  assert.equal(boundaryForShare(stable, 0.01), 250);
  assert.deepEqual(chooseLatencyBoundaries(stable, [25, 50, 100, 250, 500, 1000]), [100, 250]);
});

await test('between buckets the one closest in log scale to the target share wins', () => {
  // 30% slower than 50 ms, 4% slower than 100 ms: log(0.3/0.1) = 1.10, log(0.1/0.04) = 0.92.
  const stable = histogram({ 50: 700, 100: 960, 250: 1000 }, 1000);
  assert.equal(boundaryForShare(stable, 0.1), 100);
  // Nothing above 250 ms: 250 says nothing about stable, so p99 falls back to 100 ms (4%).
  assert.equal(boundaryForShare(stable, 0.01), 100);
});

await test('too little stable history places no distribution boundary', () => {
  const stable = histogram({ 100: 90, 250: 99 }, 99);
  assert.equal(boundaryForShare(stable, 0.1), undefined);
  assert.deepEqual(chooseLatencyBoundaries(stable, [100, 250]), []);
  assert.deepEqual(chooseLatencyBoundaries([], []), []);
});

await test('max-latency adds the bucket bound nearest to it, from the mesh or Istio defaults', () => {
  const stable = histogram({ 100: 9000, 250: 9900, 500: 9990 }, 10000);
  assert.deepEqual(
    chooseLatencyBoundaries(stable, [100, 250, 500, Infinity], 400),
    [100, 250, 500],
  );
  assert.deepEqual(chooseLatencyBoundaries(stable, [100, 250, 500], 250), [100, 250]);
  // No histogram yet: Istio's default buckets (..., 250, 500, ...) still give a bound.
  assert.deepEqual(chooseLatencyBoundaries([], [], 300), [250]);
  assert.equal(nearestInLog([100, 250, 500], 0), undefined);
  assert.equal(nearestInLog([100, 400], 200), 100, 'a tie goes to the smaller bound');
});
