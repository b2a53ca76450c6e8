// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrafficSimulator } from '../../src/sandbox/simulator.ts';
import type { ClientSpec } from '../../src/sandbox/simulator.ts';
import { mirrorRequest, takeSnapshot } from '../../src/sandbox/simulator-routing.ts';
import type { SandboxObjects } from '../../src/sandbox/types.ts';
import { evaluate, parsePromql } from '../../src/sandbox/promql-lite.ts';

type Obj = Record<string, unknown>;

/** Service backend with Deployments backend-v1 (3 ready) and backend-v2 (1 ready), subsets v1/v2. */
function objects(http: unknown[]): SandboxObjects {
  const deployment = (version: string, ready: number): Obj => ({
    metadata: { name: `backend-${version}`, namespace: 'shop' },
    spec: { template: { metadata: { labels: { app: 'backend', version } } } },
    status: { readyReplicas: ready },
  });
  const store: Record<string, Obj[]> = {
    services: [
      { metadata: { name: 'backend', namespace: 'shop' }, spec: { selector: { app: 'backend' } } },
    ],
    deployments: [deployment('v1', 3), deployment('v2', 1)],
    destinationrules: [
      {
        metadata: { name: 'backend', namespace: 'shop' },
        spec: {
          host: 'backend',
          subsets: [
            { name: 'v1', labels: { version: 'v1' } },
            { name: 'v2', labels: { version: 'v2' } },
            { name: 'v3', labels: { version: 'v3' } },
          ],
        },
      },
    ],
    virtualservices: [
      { metadata: { name: 'backend', namespace: 'shop' }, spec: { hosts: ['backend'], http } },
    ],
  };
  return { list: (resource) => store[resource] ?? [] };
}

function mirrored(percent: number | undefined, subset = 'v2'): Obj {
  const route: Obj = {
    name: 'primary',
    route: [{ destination: { host: 'backend', subset: 'v1' } }],
    mirror: { host: 'backend', subset },
  };
  if (percent !== undefined) route.mirrorPercentage = { value: percent };
  return route;
}

const CLIENT: ClientSpec = {
  namespace: 'shop',
  sourceWorkload: 'frontend',
  sourceLabels: { app: 'frontend', version: 'v1' },
  host: 'backend',
  rps: 100,
};

function run(http: unknown[], seconds: number, clients: ClientSpec[] = [CLIENT]): TrafficSimulator {
  const sim = new TrafficSimulator({ objects: objects(http), seed: 11, clients, behaviours: {} });
  for (let i = 0; i < seconds * 10; i++) sim.tick(100);
  return sim;
}

function byWorkload(sim: TrafficSimulator, reporter: string): Record<string, number> {
  const query = `sum by (destination_workload) (istio_requests_total{reporter="${reporter}"})`;
  const out: Record<string, number> = {};
  for (const s of evaluate(parsePromql(query), sim.samples()))
    out[s.labels.destination_workload] = s.value;
  return out;
}

describe('TrafficSimulator mirroring', () => {
  it('copies the mirror percentage of requests to the mirror, reported by its sidecar only', () => {
    const sim = run([mirrored(20)], 100);
    const destination = byWorkload(sim, 'destination');
    assert.equal(destination['backend-v1'], 10_000, 'the live requests are unchanged');
    const copies = destination['backend-v2'];
    const sd = Math.sqrt(10_000 * 0.2 * 0.8);
    assert.ok(Math.abs(copies - 2_000) < 5 * sd, `${copies} copies for 20% of 10000`);
    assert.deepEqual(
      byWorkload(sim, 'source'),
      { 'backend-v1': 10_000 },
      'the caller never sees a copy',
    );
    assert.equal(sim.totals()['backend-v2'].requests, copies);
  });

  it('mirrors every request when mirrorPercentage is absent, as Istio does', () => {
    const sim = run([mirrored(undefined)], 5);
    assert.deepEqual(byWorkload(sim, 'destination'), { 'backend-v1': 500, 'backend-v2': 500 });
  });

  it("counts the mirror's errors as its own and never the caller's", () => {
    const sim = new TrafficSimulator({
      objects: objects([mirrored(100)]),
      seed: 3,
      clients: [CLIENT],
      behaviours: { 'backend-v2': { errorRate: 1, latencyMs: { median: 10, p99: 50 } } },
    });
    for (let i = 0; i < 20; i++) sim.tick(100);
    assert.deepEqual(sim.totals()['backend-v2'], { requests: 200, errors: 200 });
    const codes = evaluate(
      parsePromql('sum by (response_code) (istio_requests_total{reporter="source"})'),
      sim.samples(),
    ).map((s) => s.labels.response_code);
    assert.deepEqual(codes, ['200']);
  });

  it('mirrors only requests of the route that sets it', () => {
    const testers = {
      match: [{ headers: { 'x-canary': { exact: '1' } } }],
      route: [{ destination: { host: 'backend', subset: 'v1' } }],
    };
    const sim = run([testers, mirrored(100)], 1, [
      { ...CLIENT, sourceWorkload: 'tester', headers: { 'x-canary': '1' } },
      CLIENT,
    ]);
    const query =
      'sum by (source_workload) (istio_requests_total{reporter="destination",destination_workload="backend-v2"})';
    const bySource = evaluate(parsePromql(query), sim.samples()).map((s) => [
      s.labels.source_workload,
      s.value,
    ]);
    assert.deepEqual(bySource, [['frontend', 100]]);
  });

  it('drops copies to a mirror without ready pods, reporting nothing', () => {
    const sim = run([mirrored(100, 'v3')], 2);
    assert.deepEqual(byWorkload(sim, 'destination'), { 'backend-v1': 200 });
    assert.ok(!sim.metricsText().includes('response_flags="UH"'));
  });

  it('finds no mirror on a route without one or at 0%, and caps the percentage at 100', () => {
    const plain = { name: 'primary', route: [{ destination: { host: 'backend' } }] };
    const request = {
      namespace: 'shop',
      sourceLabels: {},
      host: 'backend',
      headers: {},
      path: '/',
    };
    assert.equal(mirrorRequest(takeSnapshot(objects([plain])), request), undefined);
    assert.deepEqual(mirrorRequest(takeSnapshot(objects([mirrored(0)])), request), undefined);
    const target = mirrorRequest(takeSnapshot(objects([mirrored(150)])), request);
    assert.equal(target?.percent, 100);
    assert.deepEqual(
      target?.endpoints.map((e) => [e.endpoint.deployment, e.share]),
      [['backend-v2', 1]],
    );
  });
});
