import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { DestinationRule, VirtualService } from '../../src/istio/types.ts';
import {
  hostsVirtualService,
  SHOP,
  shapingObjects,
  shopObjects,
} from '../../src/sandbox/fixtures.ts';
import { asAccount, asStored, startSandbox, type Sandbox } from '../helpers/ground.ts';
import { runAction, type ActionRun } from '../helpers/action-runner.ts';
import { backendVs, primaryRoute, resetShop, weights } from '../helpers/shop.ts';

const RPS = 40;

/** Another team's VirtualService whose old clients still call backend v1 by name. */
const LEGACY: VirtualService = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'legacy', namespace: SHOP },
  spec: {
    hosts: ['legacy.shop.example'],
    http: [
      {
        name: 'old-clients',
        route: [{ destination: { host: 'backend', subset: 'v1', port: { number: 8080 } } }],
      },
    ],
  },
};

// Promote reads no metrics and the step here watches for 0 s: the simulator's own endpoint will do.
describe('promote with cleanup end to end (dist/, sandbox)', () => {
  let sandbox: Sandbox;
  let inputs: Record<string, string>;

  /** A kubeconfig whose identity has examples/rbac.yaml without its cluster-wide rule. */
  let namespaceOnly: string;

  before(async () => {
    sandbox = await startSandbox({ prometheus: 'off', rps: RPS });
    const account = 'istio-canary-namespaced';
    namespaceOnly = await sandbox.api.identityKubeconfig(
      asAccount(
        manifest().filter((doc) => !String((doc as { kind?: unknown }).kind).startsWith('Cluster')),
        account,
      ),
      { namespace: SHOP, name: account },
    );
    inputs = {
      kubeconfig: sandbox.kubeconfig,
      'virtual-service': 'backend',
      'stable-subset': 'v1',
      'canary-subset': 'v2',
    };
  });
  after(() => sandbox?.stop());
  beforeEach(() => {
    resetShop(sandbox, RPS);
    sandbox.api.put(originalRule());
    sandbox.api.delete('virtualservices', SHOP, LEGACY.metadata.name);
  });

  const rule = () => sandbox.api.get('destinationrules', SHOP, 'backend') as DestinationRule;
  const writes = () => sandbox.api.requests.filter((r) => r.method !== 'GET').length;
  const ruleWrites = () =>
    sandbox.api.requests.filter((r) => r.method !== 'GET' && r.path.includes('/destinationrules'))
      .length;

  async function stepTo10(): Promise<void> {
    const run = await runAction('main', { inputs: { ...inputs, weight: '10', duration: '0' } });
    assertPassed(run);
    assert.deepEqual(weights(primaryRoute(sandbox)), { v1: 90, v2: 10 });
  }

  test('10% then promote with cleanup: the v1 subset leaves the DestinationRule, the rest stays, the Deployment too', async () => {
    await stepTo10();
    const before = rule();
    const run = await runAction('main', {
      inputs: { ...inputs, command: 'promote', cleanup: 'true' },
    });
    assertPassed(run);
    assert.equal(run.outputs.result, 'promoted');
    assert.deepEqual(weights(primaryRoute(sandbox)), { v2: 100 });

    const expected = structuredClone(originalRule().spec);
    expected.subsets = expected.subsets!.filter((s) => s.name !== 'v1');
    assert.equal(
      JSON.stringify(rule().spec),
      JSON.stringify(asStored(expected)),
      'only the v1 subset is gone: host, trafficPolicy and the v2 subset byte for byte',
    );
    assert.deepEqual(rule().metadata.labels, before.metadata.labels);
    assert.deepEqual(rule().metadata.annotations, before.metadata.annotations);
    assert.notEqual(rule().metadata.resourceVersion, before.metadata.resourceVersion);
    assert.ok(sandbox.api.get('deployments', SHOP, 'backend-v1'), 'backend-v1 is never deleted');
    assert.ok(!sandbox.api.requests.some((r) => r.method === 'DELETE'), 'nothing is deleted');
    assert.match(run.stdout, /Removed subset "v1" from DestinationRule "shop\/backend"/);
    assert.doesNotMatch(run.stdout, /::warning::/);
  });

  test('a VirtualService still routing to v1 keeps the subset; the promotion passes with a warning naming the route', async () => {
    sandbox.api.put(structuredClone(LEGACY));
    await stepTo10();
    const before = rule();
    const run = await runAction('main', {
      inputs: { ...inputs, command: 'promote', cleanup: 'true' },
    });
    assertPassed(run);
    assert.equal(run.outputs.result, 'promoted');
    assert.deepEqual(weights(primaryRoute(sandbox)), { v2: 100 }, 'the traffic moved all the same');
    assert.deepEqual(rule(), before, 'the DestinationRule is not written');
    assert.match(
      run.stdout,
      /::warning::Kept subset "v1" in DestinationRule "shop\/backend": http route "old-clients" of VirtualService "shop\/legacy" still sends traffic to it/,
    );
    assert.match(run.summary, /old-clients/, 'the job summary says why the subset stayed');
  });

  test('a VirtualService of another namespace still routing to v1 keeps the subset', async () => {
    const other = structuredClone(LEGACY);
    other.metadata.namespace = 'legacy';
    other.spec.http![0].route![0].destination.host = 'backend.shop.svc.cluster.local';
    sandbox.api.put(other);
    try {
      await stepTo10();
      const before = rule();
      const run = await runAction('main', {
        inputs: { ...inputs, command: 'promote', cleanup: 'true' },
      });
      assertPassed(run);
      assert.deepEqual(weights(primaryRoute(sandbox)), { v2: 100 });
      assert.deepEqual(rule(), before, 'the DestinationRule is not written');
      assert.match(
        run.stdout,
        /::warning::Kept subset "v1" in DestinationRule "shop\/backend": http route "old-clients" of VirtualService "legacy\/legacy" still sends traffic to it/,
      );
    } finally {
      sandbox.api.delete('virtualservices', 'legacy', 'legacy');
    }
  });

  test('credentials that may not list VirtualServices in all namespaces keep the subset and say why', async () => {
    await stepTo10();
    const before = rule();
    const run = await runAction('main', {
      inputs: { ...inputs, kubeconfig: namespaceOnly, command: 'promote', cleanup: 'true' },
    });
    assertPassed(run);
    assert.equal(run.outputs.result, 'promoted');
    assert.deepEqual(weights(primaryRoute(sandbox)), { v2: 100 }, 'the traffic moved all the same');
    assert.deepEqual(rule(), before, 'nothing removed on a partial view');
    assert.match(
      run.stdout,
      /::warning::Kept subset "v1" in DestinationRule "shop\/backend": the credentials may not list VirtualServices in all namespaces.*Grant "list" on virtualservices \(networking\.istio\.io\) at the cluster scope/,
    );
    const denied = sandbox.api.requests.filter((r) => r.status === 403);
    assert.deepEqual(
      denied.map((r) => `${r.method} ${r.path}`),
      ['GET /apis/networking.istio.io/v1/virtualservices'],
      'the cluster-wide list is the only call refused',
    );
  });

  test('dry-run shows the planned DestinationRule change and writes nothing', async () => {
    await stepTo10();
    const vsBefore = backendVs(sandbox);
    const ruleBefore = rule();
    const before = writes();
    const run = await runAction('main', {
      inputs: { ...inputs, command: 'promote', cleanup: 'true', 'dry-run': 'true' },
    });
    assertPassed(run);
    assert.equal(run.outputs.result, 'dry-run');
    assert.equal(writes(), before, 'a dry run writes nothing');
    assert.deepEqual(rule(), ruleBefore, 'the DestinationRule is untouched');
    assert.deepEqual(backendVs(sandbox), vsBefore, 'the VirtualService is untouched');
    assert.match(
      run.stdout,
      /Clean-up would remove subset "v1" from DestinationRule "shop\/backend"/,
    );
    assert.match(run.summary, /destinationRule:/, 'the plan shows the DestinationRule');
    assert.match(run.summary, /http2MaxRequests: 1000/);
  });

  test('a host canary has no subsets: cleanup is a no-op with an info line', async () => {
    for (const name of ['backend-stable', 'backend-canary']) sandbox.api.put(fixture(name));
    sandbox.api.put(hostsVirtualService());
    const ruleBefore = rule();
    const before = ruleWrites();
    const run = await runAction('main', {
      inputs: {
        kubeconfig: inputs.kubeconfig,
        'virtual-service': 'backend-hosts',
        'stable-host': 'backend-stable',
        'canary-host': 'backend-canary',
        command: 'promote',
        cleanup: 'true',
      },
    });
    assertPassed(run);
    assert.equal(run.outputs.result, 'promoted');
    assert.match(run.stdout, /a host canary has no subsets to remove/);
    assert.doesNotMatch(run.stdout, /::warning::/);
    assert.equal(ruleWrites(), before, 'no DestinationRule is written');
    assert.deepEqual(rule(), ruleBefore);
    sandbox.api.delete('virtualservices', SHOP, 'backend-hosts');
  });
});

/** The documents of examples/rbac.yaml. */
function manifest(): unknown[] {
  const text = readFileSync(resolve(import.meta.dirname, '../../examples/rbac.yaml'), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as unknown);
}

/** The sandbox's backend DestinationRule as shopObjects() creates it. */
function originalRule(): DestinationRule {
  const found = shopObjects().find((o) => o.kind === 'DestinationRule');
  return structuredClone(found) as unknown as DestinationRule;
}

function fixture(name: string): Record<string, unknown> {
  const found = shapingObjects().find((o) => (o.metadata as { name: string }).name === name);
  if (!found) throw new Error(`no fixture ${name}`);
  return structuredClone(found);
}

function assertPassed(run: ActionRun): void {
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
}
