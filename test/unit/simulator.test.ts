// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficSimulator } from '../../src/sandbox/simulator.ts';
import type { Behaviour, ClientSpec, SimulatorOptions } from '../../src/sandbox/simulator.ts';
import type { SandboxObjects } from '../../src/sandbox/types.ts';
import { evaluate, parsePromql, PromqlLiteError, tokenize } from '../../src/sandbox/promql-lite.ts';
import type { LiteSample } from '../../src/sandbox/promql-lite.ts';

type Obj = Record<string, unknown>;

/** The parts of a Prometheus API answer the tests read. */
interface ApiAnswer {
  status: string;
  errorType?: string;
  error?: string;
  data: {
    resultType: string;
    result: { metric: Record<string, string>; value: [number, string] }[];
  };
}

/** The read side of an API server's store, enough for the simulator. */
class MemoryObjects implements SandboxObjects {
  readonly store: Record<string, Obj[]> = {
    virtualservices: [],
    destinationrules: [],
    deployments: [],
    services: [],
  };

  list(resource: string, namespace?: string): Obj[] {
    return (this.store[resource] ?? []).filter(
      (o) => namespace === undefined || (o.metadata as Obj).namespace === namespace,
    );
  }

  add(resource: string, obj: Obj): this {
    this.store[resource].push(obj);
    return this;
  }
}

function deployment(name: string, version: string, ready: number, ns = 'shop'): Obj {
  return {
    metadata: { name, namespace: ns },
    spec: { template: { metadata: { labels: { app: 'backend', version } } } },
    status: { readyReplicas: ready },
  };
}

function virtualService(http: unknown[], hosts = ['backend'], extra: Obj = {}): Obj {
  return { metadata: { name: 'backend', namespace: 'shop' }, spec: { hosts, http, ...extra } };
}

function weighted(v1: number, v2: number): Obj {
  return {
    name: 'primary',
    route: [
      { destination: { host: 'backend', subset: 'v1' }, weight: v1 },
      { destination: { host: 'backend', subset: 'v2' }, weight: v2 },
    ],
  };
}

/** Service backend, Deployments backend-v1 (3 ready) and backend-v2 (1 ready), subsets v1/v2. */
function cluster(): MemoryObjects {
  return new MemoryObjects()
    .add('services', {
      metadata: { name: 'backend', namespace: 'shop' },
      spec: { selector: { app: 'backend' } },
    })
    .add('deployments', deployment('backend-v1', 'v1', 3))
    .add('deployments', deployment('backend-v2', 'v2', 1))
    .add('destinationrules', {
      metadata: { name: 'backend', namespace: 'shop' },
      spec: {
        host: 'backend',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      },
    });
}

function client(overrides: Partial<ClientSpec> = {}): ClientSpec {
  return {
    namespace: 'shop',
    sourceWorkload: 'frontend',
    sourceLabels: { app: 'frontend', version: 'v1' },
    host: 'backend',
    rps: 100,
    ...overrides,
  };
}

function simulator(
  objects: SandboxObjects,
  options: Partial<SimulatorOptions> = {},
): TrafficSimulator {
  return new TrafficSimulator({
    objects,
    seed: 7,
    clients: [client()],
    behaviours: {},
    ...options,
  });
}

/** Advances simulated time by `seconds` in 100 ms ticks. */
function run(sim: TrafficSimulator, seconds: number): void {
  for (let i = 0; i < seconds * 10; i++) sim.tick(100);
}

/** Evaluates a promql-lite query over the simulator's counters, as a map from one label to value. */
function query(sim: TrafficSimulator, promql: string, by: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of evaluate(parsePromql(promql), sim.samples())) out[s.labels[by] ?? ''] = s.value;
  return out;
}

/** Asserts `count` of `total` is within 5 standard deviations of the share `p`. */
function assertShare(count: number, total: number, p: number): void {
  const sd = Math.sqrt((p * (1 - p)) / total);
  const share = count / total;
  assert.ok(Math.abs(share - p) < 5 * sd, `share ${share} is not within 5 sd (${sd}) of ${p}`);
}

describe('TrafficSimulator routing', () => {
  it('honours VirtualService weights over a seeded run', () => {
    const sim = simulator(cluster().add('virtualservices', virtualService([weighted(90, 10)])));
    run(sim, 100);
    const totals = sim.totals();
    assert.equal(totals['backend-v1'].requests + totals['backend-v2'].requests, 10_000);
    assertShare(totals['backend-v2'].requests, 10_000, 0.1);
  });

  it('sends requests whose header matches to the matched route, and others by weight', () => {
    const testers = {
      name: 'testers',
      match: [{ headers: { 'x-canary': { exact: 'always' } } }, { uri: { prefix: '/beta' } }],
      route: [{ destination: { host: 'backend', subset: 'v2' } }],
    };
    const objects = cluster().add('virtualservices', virtualService([testers, weighted(100, 0)]));
    const sim = simulator(objects, {
      clients: [
        client({ sourceWorkload: 'tester', headers: { 'X-Canary': 'always' }, rps: 20 }),
        client({ sourceWorkload: 'beta', path: '/beta/cart', rps: 20 }),
        client({ sourceWorkload: 'user', headers: { 'x-canary': 'never' }, rps: 20 }),
      ],
    });
    run(sim, 10);
    const byVersion = (source: string) =>
      query(
        sim,
        `sum by (destination_version) (istio_requests_total{reporter="destination",source_workload="${source}"})`,
        'destination_version',
      );
    assert.deepEqual(byVersion('tester'), { v2: 200 });
    assert.deepEqual(byVersion('beta'), { v2: 200 });
    assert.deepEqual(byVersion('user'), { v1: 200 });
  });

  it('matches sourceLabels as a subset of the client pod labels', () => {
    const fromCanaryClients = {
      match: [{ sourceLabels: { app: 'frontend', track: 'canary' } }],
      route: [{ destination: { host: 'backend', subset: 'v2' } }],
    };
    const objects = cluster().add(
      'virtualservices',
      virtualService([fromCanaryClients, weighted(100, 0)]),
    );
    const sim = simulator(objects, {
      clients: [
        client({
          sourceWorkload: 'canary-fe',
          sourceLabels: { app: 'frontend', track: 'canary', version: 'v9' },
        }),
        client({ sourceWorkload: 'stable-fe', sourceLabels: { app: 'frontend' } }),
      ],
    });
    run(sim, 1);
    const promql =
      'sum by (source_workload) (istio_requests_total{reporter="destination",destination_version="v2"})';
    assert.deepEqual(query(sim, promql, 'source_workload'), { 'canary-fe': 100 });
  });

  it('spreads a host-only route over all Deployments by ready replicas', () => {
    const hostOnly = { route: [{ destination: { host: 'backend', port: { number: 80 } } }] };
    const sim = simulator(cluster().add('virtualservices', virtualService([hostOnly])));
    run(sim, 40);
    assertShare(sim.totals()['backend-v1'].requests, 4_000, 0.75);
  });

  it('routes straight to the Service when no VirtualService names the host', () => {
    const sim = simulator(cluster());
    run(sim, 40);
    const totals = sim.totals();
    assert.equal(totals['backend-v1'].requests + totals['backend-v2'].requests, 4_000);
    assertShare(totals['backend-v2'].requests, 4_000, 0.25);
  });

  it('answers 503 UH, reported by the source only, when a subset has no ready pods', () => {
    const objects = cluster().add('virtualservices', virtualService([weighted(0, 100)]));
    (objects.store.deployments[1].status as Obj).readyReplicas = 0;
    const sim = simulator(objects);
    run(sim, 1);
    assert.deepEqual(sim.totals(), {});
    const text = sim.metricsText();
    assert.ok(!text.includes('reporter="destination"'));
    assert.match(
      text,
      /istio_requests_total\{reporter="source",[^}]*destination_workload="unknown",[^}]*destination_service="backend\.shop\.svc\.cluster\.local",[^}]*response_code="503",response_flags="UH",[^}]*\} 100\n/,
    );
  });

  it('resolves short, namespaced and fully qualified hosts', () => {
    const vs = virtualService([weighted(0, 100)], ['backend.shop.svc.cluster.local']);
    const sim = simulator(cluster().add('virtualservices', vs), {
      clients: [
        client({ sourceWorkload: 'short', host: 'backend' }),
        client({ sourceWorkload: 'dotted', host: 'backend.shop', namespace: 'web' }),
        client({ sourceWorkload: 'svc', host: 'backend.shop.svc', namespace: 'web' }),
        client({
          sourceWorkload: 'fqdn',
          host: 'Backend.shop.svc.cluster.local.',
          namespace: 'web',
        }),
        client({ sourceWorkload: 'elsewhere', host: 'backend', namespace: 'web' }),
      ],
    });
    run(sim, 1);
    const promql =
      'sum by (source_workload) (istio_requests_total{reporter="source",destination_version="v2"})';
    assert.deepEqual(query(sim, promql, 'source_workload'), {
      short: 100,
      dotted: 100,
      svc: 100,
      fqdn: 100,
    });
    const lost = query(
      sim,
      'sum by (response_flags) (istio_requests_total{source_workload="elsewhere"})',
      'response_flags',
    );
    assert.deepEqual(lost, { NC: 100 }, 'backend.web has no Service, so no cluster');
  });

  it('ignores VirtualServices bound only to a gateway', () => {
    const gatewayOnly = virtualService([weighted(0, 100)], ['backend'], {
      gateways: ['shop-gateway'],
    });
    const sim = simulator(cluster().add('virtualservices', gatewayOnly));
    run(sim, 10);
    assertShare(sim.totals()['backend-v2'].requests, 1_000, 0.25);
  });

  it('answers 404 NR when no http route matches', () => {
    const onlyTesters = {
      match: [{ headers: { 'x-canary': { regex: 'a.*' } } }],
      route: [{ destination: { host: 'backend' } }],
    };
    const sim = simulator(cluster().add('virtualservices', virtualService([onlyTesters])), {
      clients: [client({ headers: { 'x-canary': 'ba' } })],
    });
    run(sim, 1);
    assert.deepEqual(query(sim, 'sum by (response_code) (istio_requests_total)', 'response_code'), {
      '404': 100,
    });
  });
});

describe('TrafficSimulator behaviour and counters', () => {
  const faulty: Behaviour = { errorRate: 0.2, latencyMs: { median: 40, p99: 400 } };

  it('answers 500 at the Deployment error rate, changed mid-run', () => {
    const sim = simulator(cluster().add('virtualservices', virtualService([weighted(50, 50)])));
    run(sim, 20);
    const healthy = sim.totals()['backend-v2'];
    assert.equal(healthy.errors, 0);
    sim.setBehaviour('backend-v2', faulty);
    run(sim, 40);
    const v2 = sim.totals()['backend-v2'];
    assertShare(v2.errors, v2.requests - healthy.requests, 0.2);
    assert.equal(sim.totals()['backend-v1'].errors, 0);
    const codes = query(
      sim,
      'sum by (response_code) (istio_requests_total{reporter="destination",destination_workload="backend-v2"})',
      'response_code',
    );
    assert.deepEqual(codes, { '200': v2.requests - v2.errors, '500': v2.errors });
  });

  it('draws latencies near the fitted median', () => {
    const sim = simulator(cluster(), {
      behaviours: { 'backend-v1': faulty, 'backend-v2': faulty },
    });
    run(sim, 50);
    const below = query(
      sim,
      'sum(istio_request_duration_milliseconds_bucket{reporter="destination",le="50"})',
      '',
    )[''];
    const le25 = query(
      sim,
      'sum(istio_request_duration_milliseconds_bucket{reporter="destination",le="25"})',
      '',
    )[''];
    // Log-normal with median 40: P(<=50) ~ 0.59, P(<=25) ~ 0.34.
    assertShare(below, 5_000, 0.593);
    assertShare(le25, 5_000, 0.339);
  });

  it('keeps counters monotone and histogram buckets cumulative', () => {
    const sim = simulator(cluster().add('virtualservices', virtualService([weighted(70, 30)])), {
      behaviours: { 'backend-v2': faulty },
    });
    let previous = new Map<string, number>();
    for (let round = 0; round < 5; round++) {
      run(sim, 2);
      const current = new Map(
        sim.samples().map((s) => [`${s.name}${JSON.stringify(s.labels)}`, s.value]),
      );
      for (const [key, value] of previous)
        assert.ok((current.get(key) ?? -1) >= value, `${key} went down`);
      previous = current;
    }
    for (const line of sim
      .metricsText()
      .split('\n')
      .filter((l) => l.startsWith('istio_request_duration_milliseconds_count'))) {
      const labels = line.slice(line.indexOf('{'), line.lastIndexOf('}'));
      const buckets = sim
        .metricsText()
        .split('\n')
        .filter((l) => l.startsWith(`istio_request_duration_milliseconds_bucket${labels},le=`))
        .map((l) => Number(l.split(' ').pop()));
      assert.equal(buckets.length, 19);
      buckets.slice(1).forEach((b, i) => assert.ok(b >= buckets[i], 'buckets must not decrease'));
      assert.equal(buckets[18], Number(line.split(' ').pop()), '+Inf equals _count');
    }
  });

  it('starts counters again from nothing after resetCounters', () => {
    const sim = simulator(cluster());
    run(sim, 1);
    sim.resetCounters();
    assert.deepEqual(sim.totals(), {});
    run(sim, 1);
    const totals = sim.totals();
    assert.equal(totals['backend-v1'].requests + totals['backend-v2'].requests, 100);
  });

  it('carries fractional requests between ticks and follows setRate', () => {
    const sim = simulator(cluster(), { clients: [client({ rps: 3 })] });
    for (let i = 0; i < 10; i++) sim.tick(100);
    const count = () => Object.values(sim.totals()).reduce((n, t) => n + t.requests, 0);
    assert.equal(count(), 3);
    sim.setRate(0);
    run(sim, 5);
    assert.equal(count(), 3);
    sim.setRate(10, 'frontend');
    run(sim, 1);
    assert.equal(count(), 13);
  });

  it('is deterministic for a seed', () => {
    const a = simulator(cluster().add('virtualservices', virtualService([weighted(80, 20)])));
    const b = simulator(cluster().add('virtualservices', virtualService([weighted(80, 20)])));
    run(a, 3);
    run(b, 3);
    assert.equal(a.metricsText(), b.metricsText());
  });

  it('handles 200 rps for a simulated hour cheaply', () => {
    const sim = simulator(cluster().add('virtualservices', virtualService([weighted(90, 10)])), {
      clients: [client({ rps: 200 })],
      behaviours: { 'backend-v2': faulty },
    });
    const started = performance.now();
    run(sim, 3600);
    const elapsed = performance.now() - started;
    assert.equal(
      Object.values(sim.totals()).reduce((n, t) => n + t.requests, 0),
      720_000,
    );
    assert.ok(elapsed < 5_000, `simulating 3600 s took ${elapsed} ms`);
  });

  it('runs in real time between start and stop', async () => {
    const sim = simulator(cluster(), { tickMs: 20, clients: [client({ rps: 200 })] });
    sim.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    sim.stop();
    const count = () => Object.values(sim.totals()).reduce((n, t) => n + t.requests, 0);
    const sent = count();
    assert.ok(sent >= 20 && sent <= 140, `sent ${sent} requests in ~300 ms at 200 rps`);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(count(), sent);
  });
});

describe('TrafficSimulator exposition', () => {
  const labels =
    'source_workload="frontend",source_workload_namespace="shop",source_app="frontend",source_version="v1",' +
    'destination_workload="backend-v1",destination_workload_namespace="shop",destination_app="backend",destination_version="v1",' +
    'destination_service="backend.shop.svc.cluster.local",destination_service_name="backend",destination_service_namespace="shop",' +
    'request_protocol="http",response_code="200",response_flags="-"';

  function fixedLatencySim(): TrafficSimulator {
    const sim = simulator(cluster().add('virtualservices', virtualService([weighted(100, 0)])), {
      clients: [client({ rps: 5 })],
      behaviours: { 'backend-v1': { errorRate: 0, latencyMs: { median: 30, p99: 30 } } },
    });
    run(sim, 1);
    return sim;
  }

  it('prints Istio metric lines exactly', () => {
    const lines = fixedLatencySim().metricsText().split('\n');
    const dst = `reporter="destination",${labels},connection_security_policy="mutual_tls"`;
    const src = `reporter="source",${labels},connection_security_policy="unknown"`;
    for (const expected of [
      '# TYPE istio_requests_total counter',
      '# TYPE istio_request_duration_milliseconds histogram',
      `istio_requests_total{${dst}} 5`,
      `istio_requests_total{${src}} 5`,
      `istio_request_duration_milliseconds_bucket{${dst},le="25"} 0`,
      `istio_request_duration_milliseconds_bucket{${dst},le="50"} 5`,
      `istio_request_duration_milliseconds_bucket{${dst},le="3.6e+06"} 5`,
      `istio_request_duration_milliseconds_bucket{${dst},le="+Inf"} 5`,
      `istio_request_duration_milliseconds_sum{${dst}} 150`,
      `istio_request_duration_milliseconds_count{${dst}} 5`,
    ]) {
      assert.ok(lines.includes(expected), `missing line: ${expected}`);
    }
  });

  it('prints only lines the text format allows', () => {
    const sim = simulator(cluster().add('virtualservices', virtualService([weighted(50, 50)])));
    run(sim, 2);
    const text = sim.metricsText();
    assert.ok(text.endsWith('\n'));
    const sample =
      /^[a-zA-Z_:][a-zA-Z0-9_:]*\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\} -?[0-9.e+]+$/;
    for (const line of text.trimEnd().split('\n')) {
      assert.ok(
        line.startsWith('# HELP ') || line.startsWith('# TYPE ') || sample.test(line),
        `bad line: ${line}`,
      );
    }
  });

  it('serves /metrics and the query API over HTTP', async () => {
    const sim = fixedLatencySim();
    const url = await sim.serve();
    try {
      const metrics = await fetch(`${url}/metrics`);
      assert.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal(await metrics.text(), sim.metricsText());

      const q = encodeURIComponent(
        'sum by (destination_version) (istio_requests_total{reporter="destination"})',
      );
      const body = (await (await fetch(`${url}/api/v1/query?query=${q}`)).json()) as ApiAnswer;
      assert.equal(body.status, 'success');
      assert.equal(body.data.resultType, 'vector');
      assert.deepEqual(body.data.result[0].metric, { destination_version: 'v1' });
      assert.equal(body.data.result[0].value[1], '5');
      assert.ok(Math.abs(body.data.result[0].value[0] - Date.now() / 1000) < 5);

      const posted = await fetch(`${url}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: 'sum(istio_requests_total)' }).toString(),
      });
      assert.equal(((await posted.json()) as ApiAnswer).data.result[0].value[1], '10');

      const rate = encodeURIComponent('sum(rate(istio_requests_total[1m]))');
      const refused = await fetch(`${url}/api/v1/query?query=${rate}`);
      assert.equal(refused.status, 400);
      const error = (await refused.json()) as ApiAnswer;
      assert.equal(error.status, 'error');
      assert.equal(error.errorType, 'bad_data');
      assert.match(error.error ?? '', /sum by .*apt-get install -y prometheus/);

      assert.equal(
        ((await (await fetch(`${url}/api/v1/status/buildinfo`)).json()) as ApiAnswer).status,
        'success',
      );
      assert.equal((await fetch(`${url}/-/ready`)).status, 200);
      assert.equal((await fetch(`${url}/nothing`)).status, 404);
    } finally {
      await sim.close();
    }
  });
});

describe('promql-lite', () => {
  const samples: LiteSample[] = [
    { name: 'reqs', labels: { job: 'a', code: '200', version: 'v1' }, value: 10 },
    { name: 'reqs', labels: { job: 'a', code: '500', version: 'v1' }, value: 2 },
    { name: 'reqs', labels: { job: 'b', code: '200', version: 'v10' }, value: 5 },
    { name: 'reqs', labels: { job: 'b', code: '200' }, value: 1 },
    { name: 'other', labels: { job: 'a' }, value: 100 },
  ];
  const run = (q: string) =>
    evaluate(parsePromql(q), samples)
      .map((s) => `${JSON.stringify(s.labels)}=${s.value}`)
      .sort();

  it('tokenizes strings with escapes and keeps operators', () => {
    const tokens = tokenize(`x{a=~"q\\"\\n", b!='s'} # comment`);
    assert.deepEqual(
      tokens.map((t) => `${t.kind}:${t.text}`),
      [
        'ident:x',
        'punct:{',
        'ident:a',
        'op:=~',
        'string:q"\n',
        'punct:,',
        'ident:b',
        'op:!=',
        'string:s',
        'punct:}',
        'eof:',
      ],
    );
  });

  it('parses sum by in both positions', () => {
    const expected = {
      kind: 'aggregate',
      op: 'sum',
      grouping: { mode: 'by', labels: ['code', 'job'] },
      selector: { metric: 'reqs', matchers: [{ label: 'job', op: '=', value: 'a' }] },
    };
    assert.deepEqual(parsePromql('sum by (code, job) (reqs{job="a"})'), expected);
    assert.deepEqual(parsePromql('sum(reqs{job="a",}) by (code,job)'), expected);
  });

  it('sums by labels, drops empty labels, and sums everything without grouping', () => {
    assert.deepEqual(run('sum by (version) (reqs)'), [
      '{"version":"v1"}=12',
      '{"version":"v10"}=5',
      '{}=1',
    ]);
    assert.deepEqual(run('sum(reqs)'), ['{}=18']);
    assert.deepEqual(run('sum without (code, version) (reqs)'), [
      '{"job":"a"}=12',
      '{"job":"b"}=6',
    ]);
    assert.deepEqual(run('count by (job) (reqs)'), ['{"job":"a"}=2', '{"job":"b"}=2']);
  });

  it('selects with =, !=, anchored =~ and !~, and "" for an absent label', () => {
    assert.deepEqual(run('reqs{version=~"v1"}'), [
      '{"__name__":"reqs","job":"a","code":"200","version":"v1"}=10',
      '{"__name__":"reqs","job":"a","code":"500","version":"v1"}=2',
    ]);
    assert.deepEqual(run('sum(reqs{version!~"v1.*"})'), ['{}=1']);
    assert.deepEqual(run('sum(reqs{version=""})'), ['{}=1']);
    assert.deepEqual(run('sum(reqs{code!="200",job="a"})'), ['{}=2']);
    assert.deepEqual(run('sum({__name__=~"oth.*"})'), ['{}=100']);
    assert.deepEqual(run('sum(reqs{job="c"})'), []);
  });

  it('refuses what it cannot evaluate, naming Prometheus as the fix', () => {
    for (const q of [
      'sum(rate(reqs[5m]))',
      'rate(reqs[1m])',
      'reqs[5m]',
      'histogram_quantile(0.99, sum by (le) (reqs))',
      'sum(reqs) / sum(other)',
      'reqs offset 5m',
      'topk(3, reqs)',
      '1',
      'sum(sum(reqs))',
    ]) {
      assert.throws(
        () => parsePromql(q),
        (err: unknown) => {
          assert.ok(err instanceof PromqlLiteError, q);
          assert.match(err.message, /install Prometheus/, q);
          return true;
        },
      );
    }
  });

  it('reports syntax errors with a position', () => {
    for (const [q, message] of [
      ['reqs{job="a"', /char 13: expected "," or "}", found end of query/],
      ['reqs{job=a}', /expected a quoted string, found "a"/],
      ['reqs{job=="a"}', /expected one of =, !=, =~, !~/],
      ['reqs{job="a', /unterminated string/],
      ['{job=""}', /needs a metric name/],
      ['reqs{job=~"("}', /invalid regular expression/],
      ['sum by (job (reqs)', /expected/],
      ['reqs $', /unexpected character/],
    ] as const) {
      assert.throws(() => parsePromql(q), message, q);
    }
  });
});
