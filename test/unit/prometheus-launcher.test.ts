// node:test registers tests synchronously; the promises test() returns belong to the runner.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  findPrometheus,
  instantQuery,
  prometheusUnavailableMessage,
  startPrometheus,
  waitForSeries,
} from '../../src/sandbox/prometheus.ts';
import { TrafficSimulator } from '../../src/sandbox/simulator.ts';
import type { SandboxObjects } from '../../src/sandbox/types.ts';

type Obj = Record<string, unknown>;

function deployment(name: string, version: string): Obj {
  return {
    metadata: { name, namespace: 'shop' },
    spec: { template: { metadata: { labels: { app: 'backend', version } } } },
    status: { readyReplicas: 1 },
  };
}

/** Two versions behind one Service, no VirtualService: traffic splits by ready pods. */
const objects: SandboxObjects = {
  list(resource: string): Obj[] {
    if (resource === 'services')
      return [
        {
          metadata: { name: 'backend', namespace: 'shop' },
          spec: { selector: { app: 'backend' } },
        },
      ];
    if (resource === 'deployments')
      return [deployment('backend-v1', 'v1'), deployment('backend-v2', 'v2')];
    return [];
  },
};

function simulator(rps: number): TrafficSimulator {
  return new TrafficSimulator({
    objects,
    tickMs: 50,
    clients: [
      {
        namespace: 'shop',
        sourceWorkload: 'frontend',
        sourceLabels: { app: 'frontend' },
        host: 'backend',
        rps,
      },
    ],
    behaviours: { 'backend-v2': { errorRate: 0.1, latencyMs: { median: 30, p99: 300 } } },
  });
}

function totalRequests(sim: TrafficSimulator): number {
  return Object.values(sim.totals()).reduce((n, t) => n + t.requests, 0);
}

const DESTINATION_TOTAL = 'sum(istio_requests_total{reporter="destination"})';

test('waitForSeries reads the simulator through the Prometheus query API', async () => {
  const sim = simulator(100);
  for (let i = 0; i < 10; i++) sim.tick(100);
  const url = await sim.serve();
  try {
    const samples = await waitForSeries(url, DESTINATION_TOTAL, 2_000);
    assert.deepEqual(samples, [{ labels: {}, value: 100 }]);
    await assert.rejects(
      waitForSeries(url, 'istio_requests_total{reporter="nobody"}', 300),
      /no series for .* within 300 ms \(empty vector\)/,
    );
    await assert.rejects(
      instantQuery(url, 'rate(istio_requests_total[1m])'),
      /HTTP 400: .*install Prometheus/,
    );
  } finally {
    await sim.close();
  }
});

test('startPrometheus explains a process that dies before it is ready', async () => {
  // Node refuses Prometheus's flags and says so on stderr, like a Prometheus that rejects its config.
  await assert.rejects(
    startPrometheus({ targets: ['127.0.0.1:1'], binary: process.execPath, readyTimeoutMs: 5_000 }),
    /prometheus exited before it was ready:\n.*bad option: --config\.file=/,
  );
});

test('a real Prometheus scrapes the simulator and agrees with its totals', async (t) => {
  const binary = findPrometheus();
  if (binary === undefined) {
    if (process.env.REQUIRE_PROMETHEUS === '1')
      assert.fail(`REQUIRE_PROMETHEUS=1 but ${prometheusUnavailableMessage}`);
    t.skip(prometheusUnavailableMessage);
    return;
  }
  const sim = simulator(100);
  const target = new URL(await sim.serve()).host;
  sim.start();
  const prometheus = await startPrometheus({ targets: [target], binary }).catch(
    async (err: unknown) => {
      await sim.close();
      throw err;
    },
  );
  try {
    const [first] = await waitForSeries(prometheus.url, DESTINATION_TOTAL, 10_000);
    const now = totalRequests(sim);
    // A scrape is at most ~1 s old, plus the query's own time: 3 s of traffic is a generous lag.
    assert.ok(
      first.value <= now && first.value >= now - 300,
      `Prometheus ${first.value}, simulator ${now}`,
    );

    sim.stop();
    const final = totalRequests(sim);
    const settled = await waitForSeries(
      prometheus.url,
      `${DESTINATION_TOTAL} == ${final}`,
      5_000,
    ).catch(() => []);
    assert.equal(settled.length, 1, `Prometheus never reached the simulator's ${final} requests`);

    const byWorkload = await instantQuery(
      prometheus.url,
      'sum by (destination_workload, response_code) (istio_requests_total{reporter="destination"})',
    );
    const errors = byWorkload.find(
      (s) => s.labels.destination_workload === 'backend-v2' && s.labels.response_code === '500',
    );
    assert.equal(errors?.value, sim.totals()['backend-v2'].errors);
    const [infBucket] = await instantQuery(
      prometheus.url,
      'sum(istio_request_duration_milliseconds_bucket{reporter="destination",le="+Inf"})',
    );
    assert.equal(infBucket?.value, final);
  } finally {
    await prometheus.stop();
    await sim.close();
  }
  await assert.rejects(fetch(`${prometheus.url}/-/ready`), 'Prometheus is gone after stop()');
});
