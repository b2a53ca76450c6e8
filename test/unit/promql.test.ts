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
import {
  parseCustomMetrics,
  promDuration,
  renderQuery,
  runCustomChecks,
} from '../../src/metrics/custom.ts';
import type { PrometheusClient, Sample } from '../../src/metrics/types.ts';
import { RetryExhaustedError } from '../../src/retry.ts';

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

// Custom checks (input `metrics`): user PromQL with validated placeholders.

await test('parseCustomMetrics reads a list of checks', () => {
  const metrics = parseCustomMetrics(`
- name: error-ratio
  query: sum(rate(x{ns="{{ namespace }}"}[{{interval}}]))
  max: 0.05
- name: p95 ok
  query: "scalar(vector(1))"
  min: 0
  max: 2
`);
  assert.deepEqual(metrics, [
    { name: 'error-ratio', query: 'sum(rate(x{ns="{{ namespace }}"}[{{interval}}]))', max: 0.05 },
    { name: 'p95 ok', query: 'scalar(vector(1))', min: 0, max: 2 },
  ]);
  assert.deepEqual(parseCustomMetrics(''), []);
  assert.deepEqual(parseCustomMetrics('  \n# none\n'), []);
});

await test('parseCustomMetrics errors name the input and the item', () => {
  const cases: [string, RegExp][] = [
    ['- name: a\n  query: [', /^Input "metrics" is not valid YAML/],
    ['name: a', /^Input "metrics" must be a YAML list/],
    ['- just-a-string', /^Input "metrics", item 1: expected a mapping/],
    ['- name: a\n  query: up', /^Input "metrics", item 1 \("a"\): give min, max or both/],
    [
      '- name: a\n  query: up\n  max: 1\n- name: a\n  query: up\n  min: 1',
      /the name "a" is used twice/,
    ],
    ['- name: a\n  query: up\n  max: "1"', /item 1 \("a"\): max must be a number/],
    ['- name: a\n  query: up\n  min: 2\n  max: 1', /min 2 is above max 1/],
    ['- name: a\n  query: up\n  threshold: 1', /unknown field threshold/],
    ['- name: a\n  query: ""\n  max: 1', /query must be a non-empty PromQL string/],
    ['- query: up\n  max: 1', /item 1: name must be/],
    ['- name: "a\\"b"\n  query: up\n  max: 1', /name must be/],
    ['- name: a\n  query: x{a="{{ pod }}"}\n  max: 1', /unknown placeholder \{\{ pod \}\}/],
    ['- name: a\n  query: x{a="{{ namespace"}\n  max: 1', /malformed placeholder/],
  ];
  for (const [text, expected] of cases) {
    assert.throws(
      () => parseCustomMetrics(text),
      (error: unknown) => error instanceof UserError && expected.test(error.message),
      text,
    );
  }
});

const vars = {
  namespace: 'shop',
  canaryWorkloads: ['reviews-v2'],
  stableWorkloads: ['reviews-v1', 'reviews.v1b'],
  intervalMs: 30_000,
};

await test('renderQuery substitutes validated values', () => {
  assert.equal(
    renderQuery(
      'sum(rate(m{namespace="{{ namespace }}", w=~"{{canary_workload}}"}[{{ interval }}])) / sum(rate(m{w=~"{{ stable_workload }}"}[{{ interval }}]))',
      vars,
    ),
    'sum(rate(m{namespace="shop", w=~"reviews-v2"}[30s])) / sum(rate(m{w=~"reviews-v1|reviews\\\\.v1b"}[30s]))',
  );
  assert.equal(promDuration(1_500), '1500ms');
  assert.equal(promDuration(90_000), '90s');
  assert.throws(
    () => renderQuery('x{n="{{ namespace }}"}', { ...vars, namespace: 'a"}or vector(1)' }),
    UserError,
  );
  assert.throws(
    () =>
      renderQuery('x{w=~"{{ canary_workload }}"}', {
        ...vars,
        canaryWorkloads: ['a"}or vector(1)'],
      }),
    UserError,
  );
});

/** A Prometheus answering each query from a function, recording what it was asked. */
function answering(
  answer: (q: string) => Sample[] | Error,
): PrometheusClient & { asked: string[] } {
  const asked: string[] = [];
  return {
    endpoint: 'fake',
    asked,
    query(q) {
      asked.push(q);
      const result = answer(q);
      return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
    },
  };
}

await test('runCustomChecks judges each value against its bounds', async () => {
  const values: Record<string, number> = {
    low: 0.5,
    high: 12.25,
    fine: 3,
    nan: NaN,
    inf: Infinity,
  };
  const prom = answering((q) => (q in values ? [{ labels: {}, value: values[q] }] : []));
  const check = (name: string, min?: number, max?: number) => ({ name, query: name, min, max });
  const results = await runCustomChecks(
    prom,
    [
      check('low', 1),
      check('high', undefined, 10),
      check('fine', 1, 5),
      check('nan', 0),
      check('inf', undefined, 1),
      check('none', 0),
    ],
    vars,
  );
  assert.deepEqual(results, [
    { name: 'low', value: 0.5, verdict: 'fail', reason: 'custom check "low" = 0.5 < min 1' },
    { name: 'high', value: 12.25, verdict: 'fail', reason: 'custom check "high" = 12.25 > max 10' },
    { name: 'fine', value: 3, verdict: 'pass' },
    {
      name: 'nan',
      value: NaN,
      verdict: 'no-data',
      reason: 'custom check "nan" is NaN (nothing to compute it from)',
    },
    {
      name: 'inf',
      value: Infinity,
      verdict: 'fail',
      reason: 'custom check "inf" = Infinity > max 1',
    },
    { name: 'none', verdict: 'no-data', reason: 'custom check "none" returned no sample' },
  ]);
});

await test('runCustomChecks sends the rendered query', async () => {
  const prom = answering(() => [{ labels: {}, value: 1 }]);
  await runCustomChecks(
    prom,
    [{ name: 'a', query: 'x{n="{{ namespace }}"}[{{ interval }}]', max: 2 }],
    vars,
  );
  assert.deepEqual(prom.asked, ['x{n="shop"}[30s]']);
});

await test('runCustomChecks refuses a query returning several series', async () => {
  const prom = answering(() => [
    { labels: { pod: 'a' }, value: 1 },
    { labels: { pod: 'b' }, value: 2 },
    { labels: { pod: 'c' }, value: 3 },
  ]);
  await assert.rejects(
    runCustomChecks(prom, [{ name: 'per-pod', query: 'up', max: 5 }], vars),
    (error: unknown) =>
      error instanceof UserError &&
      /^Input "metrics", check "per-pod": the query returned 3 series \(\{"pod":"a"\}, \{"pod":"b"\}, \.\.\.\); a check needs exactly one value/.test(
        error.message,
      ),
  );
});

await test('a rejected custom query names the check; an unreachable Prometheus passes through', async () => {
  const rejected = answering(
    () => new UserError('Prometheus at fake rejected the query (HTTP 400, bad_data: x)'),
  );
  await assert.rejects(
    runCustomChecks(rejected, [{ name: 'broken', query: 'x{', max: 1 }], vars),
    (error: unknown) =>
      error instanceof UserError &&
      error.message.startsWith(
        'Input "metrics", check "broken": Prometheus at fake rejected the query',
      ),
  );
  const down = new RetryExhaustedError(
    'Prometheus query at fake failed after 9 attempts',
    9,
    60_000,
    undefined,
  );
  await assert.rejects(
    runCustomChecks(
      answering(() => down),
      [{ name: 'any', query: 'up', max: 1 }],
      vars,
    ),
    (error: unknown) => error === down,
  );
});
