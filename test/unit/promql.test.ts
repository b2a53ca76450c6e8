import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import {
  assertLabelValue,
  assertNamespace,
  assertWorkloadName,
  istioMetricsExistQuery,
  latencyBucketsQuery,
  metricsExistQuery,
  requestCountsQuery,
  workloadRegex,
} from '../../src/metrics/promql.ts';

const sel = { namespace: 'shop', workloads: ['reviews-v2', 'reviews-v2-blue'] };

await test('request counts query, exact', () => {
  assert.equal(
    requestCountsQuery(sel),
    'sum by (destination_workload, response_code, instance) (istio_requests_total{reporter="destination", destination_workload_namespace="shop", destination_workload=~"reviews-v2|reviews-v2-blue"})',
  );
});

await test('latency buckets query, exact', () => {
  assert.equal(
    latencyBucketsQuery({ namespace: 'shop', workloads: ['reviews-v1'] }),
    'sum by (destination_workload, le, instance) (istio_request_duration_milliseconds_bucket{reporter="destination", destination_workload_namespace="shop", destination_workload=~"reviews-v1"})',
  );
});

await test('preflight queries, exact', () => {
  assert.equal(
    metricsExistQuery('shop'),
    'count(istio_requests_total{reporter="destination", destination_workload_namespace="shop"})',
  );
  assert.equal(istioMetricsExistQuery(), 'count(istio_requests_total{reporter="destination"})');
});

await test('dots in workload names are regex-escaped inside the PromQL string', () => {
  // PromQL string "a\\.b" is the regex a\.b: a literal dot.
  assert.equal(workloadRegex(['api.v2', 'web']), 'api\\\\.v2|web');
  assert.match(requestCountsQuery({ namespace: 'ns', workloads: ['api.v2'] }), /=~"api\\\\\.v2"/);
});

await test('injection through a workload or namespace is refused', () => {
  const injections = [
    'a"}or vector(1)',
    'a"} or vector(1) #',
    'a\\',
    'a\nb',
    'A',
    '',
    '-a',
    'a|b',
    'a.*',
  ];
  for (const bad of injections) {
    assert.throws(
      () => requestCountsQuery({ namespace: 'shop', workloads: [bad] }),
      UserError,
      JSON.stringify(bad),
    );
    assert.throws(
      () => latencyBucketsQuery({ namespace: bad, workloads: ['ok'] }),
      UserError,
      JSON.stringify(bad),
    );
    assert.throws(() => metricsExistQuery(bad), UserError, JSON.stringify(bad));
  }
});

await test('an empty workload list is refused, not turned into a match-everything regex', () => {
  assert.throws(
    () => requestCountsQuery({ namespace: 'shop', workloads: [] }),
    /at least one workload/,
  );
});

await test('assertLabelValue accepts plain values and names the input when it refuses', () => {
  assert.equal(assertLabelValue('route', 'reviews-route_1.a:b/c'), 'reviews-route_1.a:b/c');
  for (const bad of [
    'a"}or vector(1)',
    "a'b",
    'a\\b',
    'a{b',
    'a}b',
    'a\nb',
    'a\rb',
    'a\u0000',
    '',
  ]) {
    assert.throws(
      () => assertLabelValue('route', bad),
      (error: unknown) => error instanceof UserError && error.message.startsWith('route '),
      JSON.stringify(bad),
    );
  }
});

await test('namespace and workload names follow RFC 1123', () => {
  assert.equal(assertNamespace('namespace', 'a-1'), 'a-1');
  assert.throws(
    () => assertNamespace('namespace', 'a.b'),
    /namespace "a\.b" is not a valid namespace name/,
  );
  assert.throws(() => assertNamespace('namespace', 'x'.repeat(64)), UserError);
  assert.equal(assertWorkloadName('workload', 'a.b-c'), 'a.b-c');
  assert.throws(() => assertWorkloadName('workload', 'a..b'), UserError);
  assert.throws(() => assertWorkloadName('workload', 'x'.repeat(254)), UserError);
});
