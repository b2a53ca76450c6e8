import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Clock } from '../../src/clock.ts';
import { UserError } from '../../src/errors.ts';
import type { Cluster, ProxyResponse } from '../../src/kube/cluster.ts';
import { MemoryLogger } from '../../src/logger.ts';
import { createPrometheusClient, parsePrometheusUrl } from '../../src/metrics/prometheus.ts';
import { RetryExhaustedError } from '../../src/retry.ts';

const TOKEN = 's3cret-token-value';

class FakeClock implements Clock {
  time = 1_700_000_000_000;
  readonly sleeps: number[] = [];
  now(): number {
    return this.time;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
    return Promise.resolve();
  }
}

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A Prometheus stand-in on 127.0.0.1 that answers from a script and records each request. */
const server = {
  seen: [] as Seen[],
  replies: [] as Reply[],
  url: '',
  http: http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      server.seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const reply = server.replies.shift() ?? { status: 500, body: 'script exhausted' };
      const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(body);
    });
  }),
  reset(...replies: Reply[]) {
    this.seen = [];
    this.replies = replies;
  },
};

// Tests below are awaited one by one, so the server can simply open here and close at the end.
await new Promise<void>((resolve) => server.http.listen(0, '127.0.0.1', resolve));
server.url = `http://127.0.0.1:${(server.http.address() as AddressInfo).port}`;

const vector = (result: unknown[]) => ({
  status: 200,
  body: { status: 'success', data: { resultType: 'vector', result } },
});
const sample = (labels: Record<string, string>, value: string) => ({
  metric: labels,
  value: [1700000000.5, value],
});

function client(overrides: { url?: string; token?: string; maxElapsedMs?: number } = {}) {
  const clock = new FakeClock();
  const logger = new MemoryLogger();
  const prom = createPrometheusClient({
    url: overrides.url ?? `${server.url}/prom/`,
    headers: { 'X-Scope-OrgID': 'team-a' },
    token: overrides.token ?? TOKEN,
    clock,
    logger,
    maxElapsedMs: overrides.maxElapsedMs,
  });
  return { prom, clock, logger };
}

await test('parsePrometheusUrl accepts the documented forms', () => {
  assert.deepEqual(parsePrometheusUrl('http://prometheus:9090'), {
    kind: 'http',
    baseUrl: 'http://prometheus:9090',
  });
  assert.deepEqual(parsePrometheusUrl(' https://metrics.example.com/prometheus/ '), {
    kind: 'http',
    baseUrl: 'https://metrics.example.com/prometheus',
  });
  assert.deepEqual(parsePrometheusUrl('k8s://istio-system/prometheus:9090'), {
    kind: 'k8s',
    namespace: 'istio-system',
    service: 'prometheus',
    port: '9090',
  });
  assert.deepEqual(parsePrometheusUrl('k8s://monitoring/prom-server:web'), {
    kind: 'k8s',
    namespace: 'monitoring',
    service: 'prom-server',
    port: 'web',
  });
});

await test('parsePrometheusUrl refuses every bad form, naming the input and the accepted forms', () => {
  const bad = [
    '',
    'prometheus:9090',
    'ftp://prometheus',
    'http://',
    'http://prometheus:9090/api/v1/query',
    'http://prometheus:9090/api/v1',
    'http://prometheus:9090/?x=1',
    'http://prometheus:9090/#top',
    'http://prometheus:99999',
    'k8s://istio-system/prometheus',
    'k8s://istio-system/prometheus:0',
    'k8s://istio-system/prometheus:65536',
    'k8s://Istio-System/prometheus:9090',
    'k8s://istio-system/9prometheus:9090',
    'k8s://istio-system/prometheus:9090/api',
    'k8s://istio-system:9090',
    'k8s:///prometheus:9090',
    'k8s://istio-system/prometheus:http_web',
  ];
  for (const value of bad) {
    assert.throws(
      () => parsePrometheusUrl(value),
      (error: unknown) =>
        error instanceof UserError &&
        error.message.startsWith('Input "prometheus-url" ') &&
        error.message.includes('k8s://<namespace>/<service>:<port>') &&
        error.message.includes('http(s)://host'),
      JSON.stringify(value),
    );
  }
});

await test('credentials in the URL are refused without being echoed', () => {
  assert.throws(
    () => parsePrometheusUrl('https://admin:hunter2@prometheus.example.com'),
    (error: unknown) =>
      error instanceof UserError &&
      !error.message.includes('hunter2') &&
      error.message.includes('https://***@prometheus.example.com') &&
      /prometheus-token/.test(error.message),
  );
});

await test('a query is POSTed form-encoded with the headers and the bearer token', async () => {
  server.reset(
    vector([
      sample({ destination_workload: 'reviews-v2', response_code: '200' }, '1234'),
      sample({ destination_workload: 'reviews-v2', response_code: '503' }, 'NaN'),
      sample({ destination_workload: 'reviews-v1', response_code: '200' }, '+Inf'),
      sample({}, '-Inf'),
    ]),
  );
  const { prom } = client();
  const query = 'sum by (response_code) (istio_requests_total{destination_workload=~"a|b"})';
  const result = await prom.query(query);
  assert.equal(prom.endpoint, `${server.url}/prom`);
  assert.deepEqual(result, [
    { labels: { destination_workload: 'reviews-v2', response_code: '200' }, value: 1234 },
    { labels: { destination_workload: 'reviews-v2', response_code: '503' }, value: NaN },
    { labels: { destination_workload: 'reviews-v1', response_code: '200' }, value: Infinity },
    { labels: {}, value: -Infinity },
  ]);
  const [seen] = server.seen;
  assert.equal(seen.method, 'POST');
  assert.equal(seen.url, '/prom/api/v1/query');
  assert.equal(seen.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(seen.headers['x-scope-orgid'], 'team-a');
  assert.equal(seen.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(new URLSearchParams(seen.body).get('query'), query);
});

await test('a scalar result is one sample without labels', async () => {
  server.reset({
    status: 200,
    body: { status: 'success', data: { resultType: 'scalar', result: [1, '0.25'] } },
  });
  const { prom } = client();
  assert.deepEqual(await prom.query('scalar(vector(0.25))'), [{ labels: {}, value: 0.25 }]);
});

await test('a 503 is retried, then the answer is used', async () => {
  server.reset({ status: 503, body: 'upstream connect error' }, vector([sample({}, '7')]));
  const { prom, clock, logger } = client();
  assert.deepEqual(await prom.query('up'), [{ labels: {}, value: 7 }]);
  assert.equal(server.seen.length, 2);
  assert.equal(clock.sleeps.length, 1);
  // The first line warns that the token goes over plain http; the retry is the second.
  assert.match(
    logger.lines[1],
    /^warning: Prometheus query at http:\/\/127\.0\.0\.1:\d+\/prom failed \(.*HTTP 503/,
  );
});

await test('Retry-After on a 429 sets the wait', async () => {
  server.reset({ status: 429, body: 'slow down', headers: { 'retry-after': '3' } }, vector([]));
  const { prom, clock } = client();
  assert.deepEqual(await prom.query('up'), []);
  assert.deepEqual(clock.sleeps, [3_000]);
});

await test('400 bad_data is the query’s fault: not retried, and the message says why', async () => {
  server.reset({
    status: 400,
    body: {
      status: 'error',
      errorType: 'bad_data',
      error: 'parse error at char 4: unexpected "}"',
    },
  });
  const { prom, clock } = client();
  await assert.rejects(prom.query('foo}'), (error: unknown) => {
    assert.ok(error instanceof UserError);
    assert.ok(!(error instanceof RetryExhaustedError));
    assert.match(
      error.message,
      /^Prometheus at http:\/\/127\.0\.0\.1:\d+\/prom rejected the query/,
    );
    assert.match(error.message, /bad_data: parse error at char 4/);
    assert.match(error.message, /query: foo}$/);
    assert.ok(!error.message.includes(TOKEN));
    return true;
  });
  assert.equal(server.seen.length, 1);
  assert.deepEqual(clock.sleeps, []);
});

await test('a persistent 5xx gives up in bounded time naming the endpoint, never the token', async () => {
  const replies = Array.from({ length: 50 }, () => ({
    status: 502,
    body: `bad gateway for Bearer ${TOKEN}`,
  }));
  server.reset(...replies);
  const { prom, clock } = client({ maxElapsedMs: 20_000 });
  await assert.rejects(prom.query('up'), (error: unknown) => {
    assert.ok(error instanceof RetryExhaustedError);
    assert.match(
      error.message,
      new RegExp(`Prometheus query at ${server.url}/prom failed after \\d+ attempts over 20\\.0s`),
    );
    assert.match(error.message, /HTTP 502/);
    assert.ok(!error.message.includes(TOKEN), error.message);
    return true;
  });
  assert.ok(server.seen.length > 2 && server.seen.length < 50);
  assert.equal(
    clock.sleeps.reduce((a, b) => a + b, 0),
    20_000,
  );
});

await test('401 says to check the credentials and is not retried', async () => {
  server.reset({ status: 401, body: 'Unauthorized' });
  const { prom } = client();
  await assert.rejects(
    prom.query('up'),
    /HTTP 401 \(not authorized: check prometheus-token and prometheus-headers\)/,
  );
  assert.equal(server.seen.length, 1);
});

await test('a page that is not the Prometheus API is reported, not retried', async () => {
  server.reset({ status: 200, body: '<html><body>Please sign in</body></html>' });
  const { prom } = client();
  await assert.rejects(
    prom.query('up'),
    /not the Prometheus query API's JSON: <html><body>Please sign in/,
  );
  assert.equal(server.seen.length, 1);
});

await test('a server refusing POST (405) is asked with GET from then on', async () => {
  server.reset(
    { status: 405, body: 'method not allowed' },
    vector([sample({}, '1')]),
    vector([sample({}, '2')]),
  );
  const { prom } = client();
  assert.deepEqual(await prom.query('a'), [{ labels: {}, value: 1 }]);
  assert.deepEqual(await prom.query('b'), [{ labels: {}, value: 2 }]);
  assert.deepEqual(
    server.seen.map((s) => s.method),
    ['POST', 'GET', 'GET'],
  );
  assert.equal(server.seen[2].url, '/prom/api/v1/query?query=b');
  assert.equal(server.seen[2].headers.authorization, `Bearer ${TOKEN}`);
});

await test('a refused connection is retried, then reported with the endpoint', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const { prom } = client({ url: `http://127.0.0.1:${port}`, maxElapsedMs: 5_000 });
  await assert.rejects(prom.query('up'), (error: unknown) => {
    assert.ok(error instanceof RetryExhaustedError);
    assert.ok(error.attempts > 1);
    assert.match(
      error.message,
      new RegExp(`^Prometheus query at http://127\\.0\\.0\\.1:${port} failed after`),
    );
    assert.match(error.message, /ECONNREFUSED/);
    return true;
  });
});

/** A Cluster that only serves the Prometheus service proxy, from a script. */
function fakeCluster(replies: (ProxyResponse | Error)[]) {
  const calls: {
    namespace: string;
    service: string;
    port: string;
    path: string;
    query: Record<string, string>;
  }[] = [];
  const unused = () => Promise.reject(new Error('not used by the Prometheus client'));
  const cluster: Cluster = {
    defaultNamespace: 'default',
    istioVersion: unused,
    getVirtualService: unused,
    replaceVirtualService: unused,
    listAllVirtualServices: unused,
    getDestinationRule: unused,
    replaceDestinationRule: unused,
    listDestinationRules: unused,
    listDeployments: unused,
    getService: unused,
    proxyGet(namespace, service, port, path, query) {
      calls.push({ namespace, service, port, path, query });
      const next = replies.shift() ?? new Error('script exhausted');
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  };
  return { cluster, calls };
}

const proxyJson = (status: number, body: unknown): ProxyResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

await test('k8s:// goes through the service proxy with the query', async () => {
  const { cluster, calls } = fakeCluster([
    proxyJson(503, { status: 'error', errorType: 'timeout', error: 'query timed out' }),
    proxyJson(200, vector([sample({ le: '+Inf' }, '42')]).body),
  ]);
  const logger = new MemoryLogger();
  const prom = createPrometheusClient({
    url: 'k8s://istio-system/prometheus:9090',
    headers: {},
    cluster,
    clock: new FakeClock(),
    logger,
  });
  assert.equal(prom.endpoint, 'k8s://istio-system/prometheus:9090');
  assert.deepEqual(await prom.query('istio_requests_total'), [
    { labels: { le: '+Inf' }, value: 42 },
  ]);
  assert.deepEqual(calls[1], {
    namespace: 'istio-system',
    service: 'prometheus',
    port: '9090',
    path: '/api/v1/query',
    query: { query: 'istio_requests_total' },
  });
  assert.equal(calls.length, 2);
});

await test('k8s:// does not retry what the cluster client already judged final', async () => {
  const { cluster, calls } = fakeCluster([
    new UserError('GET services/prometheus:9090/proxy failed: forbidden'),
  ]);
  const prom = createPrometheusClient({
    url: 'k8s://istio-system/prometheus:9090',
    headers: {},
    token: TOKEN,
    cluster,
    clock: new FakeClock(),
    logger: new MemoryLogger(),
  });
  await assert.rejects(prom.query('up'), /forbidden/);
  assert.equal(calls.length, 1);
});

await test('k8s:// warns that token and headers cannot pass through the proxy', () => {
  const logger = new MemoryLogger();
  createPrometheusClient({
    url: 'k8s://istio-system/prometheus:9090',
    headers: {},
    token: TOKEN,
    cluster: fakeCluster([]).cluster,
    clock: new FakeClock(),
    logger,
  });
  assert.equal(logger.lines.length, 1);
  assert.match(logger.lines[0], /^warning: prometheus-token and prometheus-headers are not used/);
  assert.ok(!logger.lines[0].includes(TOKEN));
});

server.http.close();
