import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WindowCounts } from '../../src/metrics/counters.ts';
import { evaluateThresholds, latencyAtPercentile } from '../../src/metrics/thresholds.ts';
import type { CustomCheckResult } from '../../src/metrics/types.ts';

// 100 requests: 20 at or below 10 ms, 60 at or below 50 ms, 90 at or below 100 ms.
const histogram = [
  { le: 10, count: 20 },
  { le: 50, count: 60 },
  { le: 100, count: 90 },
  { le: Infinity, count: 100 },
];

await test('latencyAtPercentile interpolates inside the bucket like histogram_quantile', () => {
  // Values worked by hand, and the same as promtool's histogram_quantile on these buckets.
  // p50: rank 50 in (10, 50], which holds 40 from 20: 10 + 40 * 30/40.
  assert.equal(latencyAtPercentile(histogram, 50), 40);
  // p10: rank 10 in the first bucket, interpolated from 0: 10 * 10/20.
  assert.equal(latencyAtPercentile(histogram, 10), 5);
  // p75: rank 75 in (50, 100], 30 requests from 60: 50 + 50 * 15/30.
  assert.equal(latencyAtPercentile(histogram, 75), 75);
  // p90: rank 90 is exactly the top of (50, 100].
  assert.equal(latencyAtPercentile(histogram, 90), 100);
});

await test('a rank in the +Inf bucket answers the largest finite bound', () => {
  assert.equal(latencyAtPercentile(histogram, 99), 100);
});

await test('input order does not matter, and decreasing counts are made monotonic', () => {
  assert.equal(latencyAtPercentile([...histogram].reverse(), 50), 40);
  const bumpy = [
    { le: 10, count: 30 },
    { le: 50, count: 20 },
    { le: Infinity, count: 40 },
  ];
  // Treated as 30, 30, 40: p50 rank 20 in (0, 10] holding 30: 10 * 20/30.
  assert.ok(Math.abs(latencyAtPercentile(bumpy, 50)! - 20 / 3) < 1e-12);
  assert.equal(latencyAtPercentile(bumpy, 80), 50);
});

await test('no answer without +Inf, with one bucket, or without requests', () => {
  assert.equal(latencyAtPercentile(histogram.slice(0, 3), 50), undefined);
  assert.equal(latencyAtPercentile([{ le: Infinity, count: 5 }], 50), undefined);
  assert.equal(
    latencyAtPercentile(
      histogram.map((b) => ({ ...b, count: 0 })),
      50,
    ),
    undefined,
  );
  assert.equal(latencyAtPercentile([], 50), undefined);
  assert.throws(() => latencyAtPercentile(histogram, 101), RangeError);
});

const counts = (requests: number, errors: number, buckets = histogram): WindowCounts => ({
  requests,
  errors,
  buckets,
});
const opts = { minSuccessRate: 99, latencyPercentile: 99, minRequests: 20 };
const meta = { elapsedMs: 60_000, weight: 10 };

await test('a healthy canary passes, with both versions side by side', () => {
  const result = evaluateThresholds(
    { canary: counts(100, 0), stable: counts(1000, 3) },
    { ...opts, maxLatencyMs: 200 },
    [],
    meta,
  );
  assert.equal(result.verdict, 'pass');
  assert.deepEqual(result.reasons, []);
  assert.equal(result.elapsedMs, 60_000);
  assert.equal(result.weight, 10);
  assert.deepEqual(result.canary, { requests: 100, errors: 0, successRate: 100, latencyMs: 100 });
  assert.deepEqual(result.stable, { requests: 1000, errors: 3, successRate: 99.7, latencyMs: 100 });
});

await test('a low success rate fails with one sentence saying the numbers', () => {
  const result = evaluateThresholds(
    { canary: counts(1000, 88), stable: counts(9000, 0) },
    opts,
    [],
    meta,
  );
  assert.equal(result.verdict, 'fail');
  assert.deepEqual(result.reasons, ['canary success rate 91.2% < 99% (912/1000 requests)']);
});

await test('a rate just under the limit is not rounded up to it', () => {
  const result = evaluateThresholds(
    { canary: counts(10_000, 104), stable: counts(1, 0) },
    opts,
    [],
    meta,
  );
  // 98.96% would read 99.0% with one decimal, as if it met the limit.
  assert.deepEqual(result.reasons, ['canary success rate 98.96% < 99% (9896/10000 requests)']);
});

await test('latency above the maximum fails; at the maximum passes', () => {
  const slow = evaluateThresholds(
    { canary: counts(100, 0), stable: counts(100, 0) },
    { ...opts, latencyPercentile: 75, maxLatencyMs: 60 },
    [],
    meta,
  );
  assert.equal(slow.verdict, 'fail');
  assert.deepEqual(slow.reasons, ['canary p75 latency 75 ms > 60 ms']);
  const atLimit = evaluateThresholds(
    { canary: counts(100, 0), stable: counts(100, 0) },
    { ...opts, latencyPercentile: 75, maxLatencyMs: 75 },
    [],
    meta,
  );
  assert.equal(atLimit.verdict, 'pass');
});

await test('both criteria failing give two reasons', () => {
  const result = evaluateThresholds(
    { canary: counts(100, 50), stable: counts(100, 0) },
    { ...opts, maxLatencyMs: 10 },
    [],
    meta,
  );
  assert.equal(result.reasons.length, 2);
});

await test('too few canary requests: no-data, even with errors', () => {
  const result = evaluateThresholds(
    { canary: counts(5, 5, []), stable: counts(500, 0) },
    opts,
    [],
    meta,
  );
  assert.equal(result.verdict, 'no-data');
  assert.deepEqual(result.reasons, [
    'canary served 5 requests in this window, fewer than the 20 a check needs',
  ]);
  assert.equal(result.canary.successRate, 0);
  assert.equal(result.canary.latencyMs, undefined);
});

await test('no canary request at all: no success rate, no latency', () => {
  const result = evaluateThresholds(
    { canary: counts(0, 0, []), stable: counts(0, 0, []) },
    opts,
    [],
    meta,
  );
  assert.equal(result.verdict, 'no-data');
  assert.deepEqual(result.canary, { requests: 0, errors: 0 });
});

const failedCustom: CustomCheckResult = {
  name: 'queue',
  value: 12,
  verdict: 'fail',
  reason: 'custom check "queue" = 12 > max 10',
};

await test('a failed custom check fails the check even without enough requests', () => {
  const result = evaluateThresholds(
    { canary: counts(1, 0, []), stable: counts(0, 0, []) },
    opts,
    [failedCustom],
    meta,
  );
  assert.equal(result.verdict, 'fail');
  assert.deepEqual(result.reasons, ['custom check "queue" = 12 > max 10']);
  assert.deepEqual(result.custom, [failedCustom]);
});

await test('a custom check without data makes an otherwise passing check no-data', () => {
  const noData: CustomCheckResult = {
    name: 'q',
    verdict: 'no-data',
    reason: 'custom check "q" returned no sample',
  };
  const result = evaluateThresholds(
    { canary: counts(100, 0), stable: counts(100, 0) },
    opts,
    [noData],
    meta,
  );
  assert.equal(result.verdict, 'no-data');
  assert.deepEqual(result.reasons, ['custom check "q" returned no sample']);
});

await test('max-latency set but no histogram: no-data, not a silent pass', () => {
  const result = evaluateThresholds(
    { canary: counts(100, 0, []), stable: counts(100, 0) },
    { ...opts, maxLatencyMs: 500 },
    [],
    meta,
  );
  assert.equal(result.verdict, 'no-data');
  assert.match(result.reasons[0], /latency is unknown/);
});
