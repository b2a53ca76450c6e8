import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Secrets } from '../../src/config/secrets.ts';
import { parseSettings } from '../../src/config/settings.ts';
import { createLiveRun } from '../../src/live-deps.ts';
import { MemoryLogger } from '../../src/logger.ts';
import { FencedWriteError } from '../../src/kube/write-fence.ts';
import { runStep } from '../../src/rollout/step.ts';
import { ApiServer } from '../../src/sandbox/apiserver.ts';
import { backendVirtualService, SHOP, shopObjects } from '../../src/sandbox/fixtures.ts';
import type { VirtualService } from '../../src/istio/types.ts';
import { assertRestored } from '../helpers/shop.ts';

describe('the exit guard’s restore of a live run (sandbox API server)', () => {
  let api: ApiServer;
  before(async () => {
    api = await ApiServer.start();
  });
  after(() => api.stop());
  beforeEach(() => {
    for (const object of shopObjects()) api.put(object);
    api.put(backendVirtualService());
  });

  const backend = () => api.get('virtualservices', SHOP, 'backend') as unknown as VirtualService;
  const live = (runId: string) => {
    const inputs: Record<string, string> = {
      command: 'step',
      kubeconfig: api.kubeconfig({ namespace: SHOP }),
      'virtual-service': 'backend',
      'stable-subset': 'v1',
      'canary-subset': 'v2',
      weight: '10',
      duration: '0',
    };
    const settings = parseSettings((name) => inputs[name]);
    const run = createLiveRun({
      settings,
      logger: new MemoryLogger(),
      signal: new AbortController().signal,
      runId,
      secrets: new Secrets(),
    });
    return { settings, ...run };
  };

  test('restores the route byte for byte, then refuses the run’s further writes', async () => {
    const { settings, deps, protection } = live('run-a');
    assert.equal(protection.wrote(), false);
    await runStep(settings, deps);
    assert.equal(protection.wrote(), true);
    assert.notEqual(JSON.stringify(backend().spec), JSON.stringify(backendVirtualService().spec));

    assert.equal(
      await protection.restore!(),
      'Original route of shop/backend restored; rollout state removed.',
    );
    assertRestored(backend());
    await assert.rejects(deps.cluster.replaceVirtualService(backend()), FencedWriteError);
    assertRestored(backend());
  });

  test('a stage write in flight lands first, so the restore is the last word', async () => {
    const { settings, deps, protection } = live('run-b');
    let inFlight!: () => void;
    const writing = new Promise<void>((resolve) => (inFlight = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const remove = api.onBeforeWrite(async () => {
      inFlight();
      await held;
    });
    try {
      const step = runStep(settings, deps);
      await writing;
      const restore = protection.restore!();
      release();
      await step;
      assert.match(await restore, /Original route of shop\/backend restored/);
      assertRestored(backend());
    } finally {
      remove();
    }
  });

  test('leaves alone a rollout another run has written since', async () => {
    const first = live('run-c');
    await runStep(first.settings, first.deps);
    const other = live('run-d');
    await runStep(other.settings, other.deps);
    assert.equal(await first.protection.restore!(), 'This run had no rollout left to restore.');
    assert.equal(backend().metadata.annotations?.['istio-canary.dev/owner'], 'run-d');
  });

  test('a dry run and the other commands have no deadline and nothing to restore', () => {
    const inputs: Record<string, string> = {
      command: 'status',
      kubeconfig: api.kubeconfig({ namespace: SHOP }),
      'virtual-service': 'backend',
    };
    const run = createLiveRun({
      settings: parseSettings((name) => inputs[name]),
      logger: new MemoryLogger(),
      signal: new AbortController().signal,
      runId: 'run-e',
      secrets: new Secrets(),
    });
    assert.equal(run.protection.restore, undefined);
    assert.equal(run.protection.deadline, undefined);
  });
});
