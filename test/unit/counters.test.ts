import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { takeSnapshot, windowCounts } from '../../src/metrics/counters.ts';
import type { Snapshot } from '../../src/metrics/counters.ts';
import type { PrometheusClient, Sample } from '../../src/metrics/types.ts';

const canary = { namespace: 'shop', workloads: ['reviews-v2'] };
const stable = { namespace: 'shop', workloads: ['reviews-v1'] };

/** A Prometheus that answers request and bucket queries from fixed samples, recording queries. */
function fakePrometheus(
  requests: Sample[],
  buckets: Sample[],
): PrometheusClient & { queries: string[] } {
  const queries: string[] = [];
  return {
    endpoint: 'fake',
    queries,
    query(promql: string) {
      queries.push(promql);
      return Promise.resolve(promql.includes('_bucket') ? buckets : requests);
    },
  };
}

const req = (workload: string, code: string, instance: string, value: number): Sample => ({
  labels: { destination_workload: workload, response_code: code, instance },
  value,
});
const bucket = (workload: string, le: string, instance: string, value: number): Sample => ({
  labels: { le, instance, destination_workload: workload },
  value,
});

async function snapshot(requests: Sample[], buckets: Sample[] = []): Promise<Snapshot> {
  return takeSnapshot(fakePrometheus(requests, buckets), canary, stable);
}

await test('takeSnapshot asks two queries covering both versions', async () => {
  const prom = fakePrometheus([], []);
  await takeSnapshot(prom, canary, stable);
  assert.equal(prom.queries.length, 2);
  for (const q of prom.queries) assert.match(q, /destination_workload=~"reviews-v2\|reviews-v1"/);
});

await test('takeSnapshot refuses a Deployment in both versions', async () => {
  const prom = fakePrometheus([], []);
  await assert.rejects(
    takeSnapshot(prom, canary, { namespace: 'shop', workloads: ['reviews-v2'] }),
    (error: unknown) =>
      error instanceof UserError && /both the canary and the stable/.test(error.message),
  );
});

await test('takeSnapshot ignores series of other workloads', async () => {
  const snap = await snapshot([req('reviews-v2', '200', 'a', 5), req('ratings-v1', '200', 'b', 9)]);
  assert.equal(snap.requests.length, 1);
  assert.equal(snap.requests[0].version, 'canary');
});

await test('windowCounts differences per series into whole requests and 5xx errors', async () => {
  const prev = await snapshot([
    req('reviews-v2', '200', '10.0.0.1:15020', 100),
    req('reviews-v2', '503', '10.0.0.1:15020', 2),
    req('reviews-v1', '200', '10.0.0.9:15020', 5000),
    req('reviews-v1', '404', '10.0.0.9:15020', 10),
  ]);
  const next = await snapshot([
    req('reviews-v2', '200', '10.0.0.1:15020', 190),
    req('reviews-v2', '503', '10.0.0.1:15020', 7),
    req('reviews-v1', '200', '10.0.0.9:15020', 5900),
    req('reviews-v1', '404', '10.0.0.9:15020', 13),
  ]);
  const w = windowCounts(prev, next);
  assert.deepEqual(w.canary, { requests: 95, errors: 5, buckets: [] });
  // 404 is a request, not an error: only 5xx count against success.
  assert.deepEqual(w.stable, { requests: 903, errors: 0, buckets: [] });
});

await test('a counter that dropped was reset: its new value is the increase', async () => {
  const prev = await snapshot([
    req('reviews-v2', '200', 'pod-a', 500),
    req('reviews-v2', '200', 'pod-b', 300),
  ]);
  // pod-a restarted and has served 40 since; pod-b went on from 300 to 350.
  const next = await snapshot([
    req('reviews-v2', '200', 'pod-a', 40),
    req('reviews-v2', '200', 'pod-b', 350),
  ]);
  assert.equal(windowCounts(prev, next).canary.requests, 90);
});

await test('a series new in the window counts in full; a vanished one adds nothing', async () => {
  const prev = await snapshot([
    req('reviews-v2', '200', 'pod-a', 50),
    req('reviews-v2', '200', 'pod-old', 70),
  ]);
  const next = await snapshot([
    req('reviews-v2', '200', 'pod-a', 60),
    // First 5xx of pod-a, and a new pod's first requests.
    req('reviews-v2', '500', 'pod-a', 3),
    req('reviews-v2', '200', 'pod-new', 12),
  ]);
  const { canary: c } = windowCounts(prev, next);
  assert.equal(c.requests, 10 + 3 + 12);
  assert.equal(c.errors, 3);
});

await test('label order does not change a series identity', async () => {
  const prev = await snapshot([
    {
      labels: { instance: 'a', response_code: '200', destination_workload: 'reviews-v1' },
      value: 10,
    },
  ]);
  const next = await snapshot([
    {
      labels: { destination_workload: 'reviews-v1', response_code: '200', instance: 'a' },
      value: 15,
    },
  ]);
  assert.equal(windowCounts(prev, next).stable.requests, 5);
});

await test('buckets are differenced per series and summed per le, ascending, +Inf last', async () => {
  const prev = await snapshot(
    [],
    [
      bucket('reviews-v2', '+Inf', 'a', 100),
      bucket('reviews-v2', '10', 'a', 60),
      bucket('reviews-v2', '100', 'a', 90),
      bucket('reviews-v2', '10', 'b', 5),
      bucket('reviews-v2', '100', 'b', 5),
      bucket('reviews-v2', '+Inf', 'b', 5),
    ],
  );
  const next = await snapshot(
    [],
    [
      bucket('reviews-v2', '10', 'a', 70),
      bucket('reviews-v2', '100', 'a', 110),
      bucket('reviews-v2', '+Inf', 'a', 130),
      // b restarted: everything it holds is new.
      bucket('reviews-v2', '10', 'b', 1),
      bucket('reviews-v2', '100', 'b', 3),
      bucket('reviews-v2', '+Inf', 'b', 4),
      bucket('reviews-v1', '10', 'c', 7),
      bucket('reviews-v1', '+Inf', 'c', 7),
    ],
  );
  const w = windowCounts(prev, next);
  assert.deepEqual(w.canary.buckets, [
    { le: 10, count: 11 },
    { le: 100, count: 23 },
    { le: Infinity, count: 34 },
  ]);
  assert.deepEqual(w.stable.buckets, [
    { le: 10, count: 7 },
    { le: Infinity, count: 7 },
  ]);
});

await test('versions in different namespaces get one query each and never mix', async () => {
  const queries: string[] = [];
  const prom: PrometheusClient = {
    endpoint: 'fake',
    query(promql) {
      queries.push(promql);
      if (promql.includes('_bucket')) return Promise.resolve([]);
      // The same workload name answers in both namespaces.
      return Promise.resolve([req('web', '200', 'x', promql.includes('"blue"') ? 10 : 20)]);
    },
  };
  const blue = { namespace: 'blue', workloads: ['web'] };
  const green = { namespace: 'green', workloads: ['web'] };
  const prev = await takeSnapshot(prom, blue, green);
  assert.equal(queries.length, 4);
  const w = windowCounts({ requests: [], buckets: [] }, prev);
  assert.equal(w.canary.requests, 10);
  assert.equal(w.stable.requests, 20);
});
