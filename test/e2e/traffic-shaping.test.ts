import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { VirtualService } from '../../src/istio/types.ts';
import {
  backendVirtualService,
  frontendVirtualService,
  gatewayVirtualService,
  hostsVirtualService,
  SHOP,
  shapingObjects,
  shopClients,
  shopObjects,
} from '../../src/sandbox/fixtures.ts';
import { startSandbox, type Sandbox } from '../helpers/ground.ts';
import type { ClientSpec } from '../../src/sandbox/simulator.ts';
import { DEFAULT_BEHAVIOUR } from '../../src/sandbox/simulator.ts';
import { assertPassed, runAction } from '../helpers/action-runner.ts';
import { skipWithoutPrometheus } from '../helpers/sandbox.ts';
import { assertExactly, weights } from '../helpers/shop.ts';

const RPS = 100;
const TESTER_MATCH = '- headers:\n    canary:\n      exact: canary-tester\n';

/** A browser of the QA team: the tester header on every request. */
const QA: ClientSpec = {
  namespace: SHOP,
  sourceWorkload: 'qa-browser',
  sourceLabels: { app: 'qa-browser' },
  host: 'backend',
  rps: 20,
  headers: { canary: 'canary-tester' },
};

/** The calls frontend v2 makes to backend, and the ingress traffic that reaches frontend. */
const FRONTEND_V2: ClientSpec = {
  namespace: SHOP,
  sourceWorkload: 'frontend-v2',
  sourceLabels: { app: 'frontend', version: 'v2' },
  host: 'backend',
  rps: 20,
};
/** A caller of a team with two Services: it calls `backend-stable`. */
const CHECKOUT: ClientSpec = {
  namespace: SHOP,
  sourceWorkload: 'checkout',
  sourceLabels: { app: 'checkout' },
  host: 'backend-stable',
  rps: 80,
};
const INGRESS: ClientSpec = {
  namespace: SHOP,
  sourceWorkload: 'istio-ingressgateway',
  sourceLabels: { app: 'istio-ingressgateway' },
  host: 'frontend',
  rps: 60,
};

describe(
  'traffic shaping end to end (dist/, sandbox, real Prometheus)',
  { skip: skipWithoutPrometheus() },
  () => {
    let sandbox: Sandbox;
    let inputs: Record<string, string>;

    before(async () => {
      sandbox = await startSandbox({ prometheus: 'required', rps: RPS });
      for (const object of shapingObjects()) sandbox.api.put(object);
      inputs = {
        kubeconfig: sandbox.kubeconfig,
        'virtual-service': 'backend',
        'stable-subset': 'v1',
        'canary-subset': 'v2',
        interval: '2s',
        'min-requests': '10',
      };
      const { waitForSeries } = await import('../../src/sandbox/prometheus.ts');
      await waitForSeries(
        sandbox.prometheusUrl,
        'istio_requests_total{destination_workload="backend-v1"}',
        20_000,
      );
    });
    after(() => sandbox?.stop());
    beforeEach(() => {
      for (const vs of originals()) sandbox.api.put(vs);
      sandbox.api.put(objectNamed(shopObjects(), 'backend-v2'));
      sandbox.simulator.setBehaviour('backend-v2', DEFAULT_BEHAVIOUR);
      sandbox.simulator.setClients(shopClients(RPS));
    });

    const vs = (name: string) =>
      sandbox.api.get('virtualservices', SHOP, name) as unknown as VirtualService;
    const routeOf = (name: string, route: string) =>
      vs(name).spec.http!.find((r) => r.name === route)!;

    function assertAllRestored(): void {
      for (const original of originals()) assertExactly(vs(original.metadata.name), original);
    }

    test('tester routes: every tester request reaches v2 at 10%; rollback and promote remove the route', async () => {
      sandbox.simulator.setClients([...shopClients(RPS), QA]);
      const run = await runAction('main', {
        inputs: { ...inputs, weight: '10', duration: '6s', 'canary-match': TESTER_MATCH },
      });
      assertPassed(run);
      const names = vs('backend').spec.http!.map((r) => r.name);
      assert.deepEqual(names, ['testers', 'reviews-api', 'primary-canary-testers', 'primary']);
      const tester = routeOf('backend', 'primary-canary-testers');
      assert.deepEqual(tester.match, [{ headers: { canary: { exact: 'canary-tester' } } }]);
      assert.deepEqual(tester.retries, backendVirtualService().spec.http[2].retries);
      assert.deepEqual(weights(routeOf('backend', 'primary')), { v1: 90, v2: 10 });
      // The testers' requests add to the canary's share; that is no mismatch.
      assert.match(
        run.stdout,
        /Traffic: .*more than the weight, because the tester route of canary-match/,
      );

      const qa = await servedDuring(sandbox, 'qa-browser', 3000);
      assert.equal(qa['backend-v1'] ?? 0, 0, `tester requests reached v1: ${JSON.stringify(qa)}`);
      assert.ok((qa['backend-v2'] ?? 0) >= 30, `tester requests at v2: ${JSON.stringify(qa)}`);
      const others = await servedDuring(sandbox, 'frontend-v1', 3000);
      assert.ok((others['backend-v1'] ?? 0) > (others['backend-v2'] ?? 0) * 3);

      const rollback = await runAction('main', { inputs: { ...inputs, command: 'rollback' } });
      assertPassed(rollback);
      assertAllRestored();

      const again = await runAction('main', {
        inputs: { ...inputs, weight: '20', duration: '0', 'canary-match': TESTER_MATCH },
      });
      assertPassed(again);
      const promote = await runAction('main', { inputs: { ...inputs, command: 'promote' } });
      assertPassed(promote);
      const expected = backendVirtualService();
      expected.spec.http[2].route = [
        { destination: { host: 'backend', subset: 'v2', port: { number: 8080 } } },
      ];
      assertExactly(vs('backend'), expected);
    });

    test('mirroring: at weight 0 the canary is watched on mirrored requests; rollback removes the mirror', async () => {
      const before = sandbox.simulator.totals()['backend-v2']?.requests ?? 0;
      const run = await runAction('main', {
        inputs: { ...inputs, weight: '0', 'mirror-percent': '50', duration: '8s' },
      });
      assertPassed(run);
      const primary = routeOf('backend', 'primary');
      // Weight 0: all served by the stable subset, one destination without a weight.
      assert.deepEqual(primary.route, [
        { destination: { host: 'backend', subset: 'v1', port: { number: 8080 } } },
      ]);
      assert.deepEqual(primary.mirror, { host: 'backend', subset: 'v2', port: { number: 8080 } });
      assert.deepEqual(primary.mirrorPercentage, { value: 50 });
      const mirrored = (sandbox.simulator.totals()['backend-v2']?.requests ?? 0) - before;
      assert.ok(mirrored > 200, `backend-v2 got ${mirrored} requests at weight 0`);

      const report = JSON.parse(readFileSync(run.outputs.report, 'utf8')) as {
        checks: { canary: { requests: number } }[];
        traffic: { verdict: string; expectedPercent: number; sentence: string }[];
      };
      assert.ok(
        report.checks.some((c) => c.canary.requests >= 10),
        'the check windows have canary data',
      );
      // Mirrored copies count on top of the live requests: 50 of 150 is the share to expect.
      assert.notEqual(report.traffic[0].verdict, 'mismatch', report.traffic[0].sentence);
      assert.ok(Math.abs(report.traffic[0].expectedPercent - 100 / 3) < 0.01);
      assert.match(
        run.stdout,
        /Traffic: The canary received [\d.]+% of \d+ requests at weight 0% with 50% mirrored \(33\.3% expected\)/,
      );

      const rollback = await runAction('main', { inputs: { ...inputs, command: 'rollback' } });
      assertPassed(rollback);
      assertAllRestored();
    });

    test('traffic verification: canary pods without a sidecar fail the step with the explanation', async () => {
      // Callers' sidecars still route 20% to v2, but v2 reports nothing as destination: the
      // analysis would see no canary traffic at all. on-no-data=pass must not let that pass.
      const canary = objectNamed(shopObjects(), 'backend-v2');
      const pods = (canary.spec as { template: { metadata: { annotations?: object } } }).template;
      pods.metadata.annotations = { 'sidecar.istio.io/inject': 'false' };
      sandbox.api.put(canary);
      const run = await runAction('main', {
        inputs: { ...inputs, weight: '20', duration: '40s', 'on-no-data': 'pass' },
      });
      assert.equal(run.code, 1, run.stdout);
      assert.equal(run.outputs.result, 'rolled-back');
      assert.match(
        run.stdout,
        // The runner's workflow commands escape % as %25.
        /Traffic verification failed: The canary received 0%(25)? of \d+ requests at weight 20%(25)? .*lack a sidecar/,
      );
      assert.ok(run.elapsedMs < 30_000, `decided after ${run.elapsedMs} ms of a 40 s watch`);
      assertAllRestored();
    });

    test('dependents: frontend v2 calls reach only backend v2; rollback restores both VirtualServices', async () => {
      sandbox.simulator.setClients([...shopClients(RPS), INGRESS, FRONTEND_V2]);
      const run = await runAction('main', {
        inputs: {
          ...inputs,
          'virtual-service': 'frontend',
          weight: '50',
          duration: '6s',
          dependents: '- virtual-service: backend\n  stable-subset: v1\n  canary-subset: v2\n',
        },
      });
      assertPassed(run);
      assert.deepEqual(weights(routeOf('frontend', 'web')), { v1: 50, v2: 50 });
      const callers = routeOf('backend', 'primary-canary-callers');
      assert.deepEqual(callers.match, [{ sourceLabels: { app: 'frontend', version: 'v2' } }]);
      assert.deepEqual(
        vs('backend').spec.http!.map((r) => r.name),
        ['testers', 'reviews-api', 'primary-canary-callers', 'primary'],
      );

      const v2 = await servedDuring(sandbox, 'frontend-v2', 3000);
      assert.equal(
        v2['backend-v1'] ?? 0,
        0,
        `frontend v2 reached backend v1: ${JSON.stringify(v2)}`,
      );
      assert.ok((v2['backend-v2'] ?? 0) >= 30, JSON.stringify(v2));
      const v1 = await servedDuring(sandbox, 'frontend-v1', 3000);
      assert.ok((v1['backend-v1'] ?? 0) > 100, 'frontend v1 still calls backend v1');

      const rollback = await runAction('main', {
        inputs: {
          kubeconfig: inputs.kubeconfig,
          'virtual-service': 'frontend',
          command: 'rollback',
        },
      });
      assertPassed(rollback);
      assertAllRestored();
    });

    test('dependents are unpinned by promote too', async () => {
      const step = await runAction('main', {
        inputs: {
          ...inputs,
          'virtual-service': 'frontend',
          weight: '50',
          duration: '0',
          dependents: '- {virtual-service: backend, stable-subset: v1, canary-subset: v2}',
        },
      });
      assertPassed(step);
      assert.ok(routeOf('backend', 'primary-canary-callers'));
      const promote = await runAction('main', {
        inputs: { ...inputs, 'virtual-service': 'frontend', command: 'promote' },
      });
      assertPassed(promote);
      assertExactly(vs('backend'), backendVirtualService());
      const expected = frontendVirtualService();
      expected.spec.http![0].route = [
        { destination: { host: 'frontend', subset: 'v2', port: { number: 8080 } } },
      ];
      assertExactly(vs('frontend'), expected);
    });

    test('host canaries: weights between two Services, rollback exact, promote to the canary host', async () => {
      sandbox.simulator.setClients([CHECKOUT]);
      const hosts = {
        kubeconfig: inputs.kubeconfig,
        'virtual-service': 'backend-hosts',
        'stable-host': 'backend-stable',
        'canary-host': 'backend-canary',
        interval: '2s',
        'min-requests': '10',
      };
      const run = await runAction('main', { inputs: { ...hosts, weight: '30', duration: '6s' } });
      assertPassed(run);
      const main = routeOf('backend-hosts', 'main');
      assert.deepEqual(main.route, [
        { destination: { host: 'backend-stable', port: { number: 8080 } }, weight: 70 },
        { destination: { host: 'backend-canary', port: { number: 8080 } }, weight: 30 },
      ]);
      assert.deepEqual(main.retries, hostsVirtualService().spec.http![0].retries);
      const served = await servedDuring(sandbox, 'checkout', 3000);
      const share =
        (served['backend-v2'] ?? 0) / ((served['backend-v1'] ?? 0) + (served['backend-v2'] ?? 0));
      assert.ok(share > 0.2 && share < 0.4, `canary share ${share}`);
      assert.match(
        run.stdout,
        /Traffic: The canary received [\d.]+% of \d+ requests at weight 30%/,
      );

      const status = await runAction('main', { inputs: { ...hosts, command: 'status' } });
      assertPassed(status);
      assert.match(status.stdout, /backend-stable -> backend-canary at 30%/);
      assert.equal(status.outputs.weight, '30');

      const rollback = await runAction('main', { inputs: { ...hosts, command: 'rollback' } });
      assertPassed(rollback);
      assertAllRestored();

      const promote = await runAction('main', { inputs: { ...hosts, command: 'promote' } });
      assertPassed(promote);
      const expected = hostsVirtualService();
      expected.spec.http![0].route = [
        { destination: { host: 'backend-canary', port: { number: 8080 } } },
      ];
      assertExactly(vs('backend-hosts'), expected);
    });

    test('several VirtualServices move together and roll back together', async () => {
      const both = { ...inputs, 'virtual-service': 'backend, backend-gateway' };
      const run = await runAction('main', { inputs: { ...both, weight: '10', duration: '0' } });
      assertPassed(run);
      assert.deepEqual(weights(routeOf('backend', 'primary')), { v1: 90, v2: 10 });
      assert.deepEqual(routeOf('backend-gateway', 'api').route, [
        {
          destination: {
            host: 'backend.shop.svc.cluster.local',
            subset: 'v1',
            port: { number: 8080 },
          },
          weight: 90,
        },
        {
          destination: {
            host: 'backend.shop.svc.cluster.local',
            subset: 'v2',
            port: { number: 8080 },
          },
          weight: 10,
        },
      ]);
      const rollback = await runAction('main', { inputs: { ...both, command: 'rollback' } });
      assertPassed(rollback);
      assertAllRestored();
    });

    test('when writing the second VirtualService fails, the first is restored', async () => {
      sandbox.api.injectFault({
        method: 'PUT',
        pathPattern: /virtualservices\/backend-gateway/,
        status: 403,
        count: 1,
      });
      const run = await runAction('main', {
        inputs: {
          ...inputs,
          'virtual-service': 'backend,backend-gateway',
          weight: '10',
          duration: '0',
        },
      });
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /restoring shop\/backend, shop\/backend-gateway/);
      assertAllRestored();
    });
  },
);

function originals(): VirtualService[] {
  return [
    backendVirtualService(),
    frontendVirtualService(),
    hostsVirtualService(),
    gatewayVirtualService(),
  ];
}

function objectNamed(objects: Record<string, unknown>[], name: string): Record<string, unknown> {
  const found = objects.find((o) => (o.metadata as { name: string }).name === name);
  if (!found) throw new Error(`no fixture ${name}`);
  return structuredClone(found);
}

/** Requests `source` sent in the next `ms`, by the Deployment that served them (its own count). */
async function servedDuring(
  sandbox: Sandbox,
  source: string,
  ms: number,
): Promise<Record<string, number>> {
  const before = sentBy(sandbox, source);
  await new Promise((r) => setTimeout(r, ms));
  const after = sentBy(sandbox, source);
  return Object.fromEntries(
    Object.entries(after).map(([deployment, n]) => [deployment, n - (before[deployment] ?? 0)]),
  );
}

/** The caller's sidecar's view: its requests by destination workload. */
function sentBy(sandbox: Sandbox, source: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of sandbox.simulator.samples()) {
    const l = s.labels;
    if (
      s.name !== 'istio_requests_total' ||
      l.reporter !== 'source' ||
      l.source_workload !== source
    )
      continue;
    out[l.destination_workload] = (out[l.destination_workload] ?? 0) + s.value;
  }
  return out;
}
