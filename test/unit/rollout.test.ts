import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { ConflictError } from '../../src/errors.ts';
import type { DestinationRule, VirtualService } from '../../src/istio/types.ts';
import { classifyKubeError } from '../../src/kube/client.ts';
import type { Cluster } from '../../src/kube/cluster.ts';
import { MemoryLogger } from '../../src/logger.ts';
import { backendVirtualService, SHOP, shopObjects } from '../../src/sandbox/fixtures.ts';
import { planOldSubsetRemoval, removeOldSubset } from '../../src/rollout/cleanup.ts';
import { canaryWeightOf } from '../../src/rollout/stage.ts';
import { serviceOfHost } from '../../src/rollout/target.ts';
import { updateDestinationRule, updateVirtualService } from '../../src/rollout/update.ts';

/** A cluster holding one VirtualService, whose writes can lose races on demand. */
function fakeCluster(conflicts: number, onConflict?: (stored: VirtualService) => void) {
  let stored: VirtualService = {
    ...backendVirtualService(),
    metadata: { ...backendVirtualService().metadata, resourceVersion: '1' },
  };
  let left = conflicts;
  const writes: VirtualService[] = [];
  const cluster = {
    getVirtualService: () => Promise.resolve(structuredClone(stored)),
    replaceVirtualService: (vs: VirtualService) => {
      if (left > 0) {
        left--;
        const changed = structuredClone(stored);
        onConflict?.(changed);
        changed.metadata.resourceVersion = String(Number(stored.metadata.resourceVersion) + 1);
        stored = changed;
        return Promise.reject(new ConflictError('the object has been modified'));
      }
      assert.equal(
        vs.metadata.resourceVersion,
        stored.metadata.resourceVersion,
        'writes are conditional on what was read',
      );
      writes.push(structuredClone(vs));
      stored = {
        ...structuredClone(vs),
        metadata: {
          ...vs.metadata,
          resourceVersion: String(Number(stored.metadata.resourceVersion) + 1),
        },
      };
      return Promise.resolve(structuredClone(stored));
    },
  } as unknown as Cluster;
  return { cluster, writes, current: () => stored };
}

describe('updateVirtualService', () => {
  test('re-applies the same edit to a fresh read after a conflict, keeping the other writer’s change', async () => {
    const { cluster, writes, current } = fakeCluster(2, (vs) => {
      vs.spec.http![1].timeout = '9s';
    });
    const logger = new MemoryLogger();
    const result = await updateVirtualService(cluster, 'shop', 'backend', logger, (vs) => {
      vs.spec.http![2].timeout = '7s';
      return vs;
    });
    assert.equal(result.written, true);
    assert.equal(writes.length, 1);
    assert.equal(current().spec.http![1].timeout, '9s');
    assert.equal(current().spec.http![2].timeout, '7s');
    assert.equal(logger.lines.filter((l) => l.includes('conflict')).length, 2);
  });

  test('writes nothing when the edit has nothing to change', async () => {
    const { cluster, writes } = fakeCluster(0);
    const result = await updateVirtualService(
      cluster,
      'shop',
      'backend',
      new MemoryLogger(),
      () => undefined,
    );
    assert.equal(result.written, false);
    assert.equal(writes.length, 0);
  });

  test('gives up after a bounded number of conflicts', async () => {
    const { cluster } = fakeCluster(100);
    await assert.rejects(
      updateVirtualService(cluster, 'shop', 'backend', new MemoryLogger(), (vs) => vs),
      ConflictError,
    );
  });
});

describe('serviceOfHost', () => {
  test('short, namespaced and fully qualified names mean one Service', () => {
    for (const host of [
      'backend',
      'backend.shop',
      'backend.shop.svc',
      'backend.shop.svc.cluster.local',
    ]) {
      assert.deepEqual(serviceOfHost(host, 'shop'), {
        name: 'backend',
        namespace: 'shop',
        fqdn: 'backend.shop.svc.cluster.local',
      });
    }
    assert.equal(serviceOfHost('backend.other', 'shop').namespace, 'other');
  });

  test('an external host is refused with the reason', () => {
    assert.throws(() => serviceOfHost('api.example.com', 'shop'), /not a Kubernetes Service/);
  });
});

describe('canaryWeightOf', () => {
  test('reads the canary share of a route', () => {
    const dest = (subset: string, weight?: number) => ({
      destination: { host: 'backend', subset },
      weight,
    });
    assert.equal(canaryWeightOf({ route: [dest('v1', 90), dest('v2', 10)] }, 'v2'), 10);
    assert.equal(canaryWeightOf({ route: [dest('v2')] }, 'v2'), 100);
    assert.equal(canaryWeightOf({ route: [{ destination: { host: 'backend' } }] }, 'v2'), 0);
    assert.equal(canaryWeightOf({ route: [dest('v1')] }, undefined), 0);
  });
});

describe('classifyKubeError', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  test('429 and 5xx retry, honouring Retry-After; 4xx and 501 do not', () => {
    assert.deepEqual(
      classifyKubeError(new ApiException(429, 'x', {}, { 'Retry-After': '3' }), now),
      { retry: true, retryAfterMs: 3000 },
    );
    assert.equal(classifyKubeError(new ApiException(503, 'x', {}, {}), now).retry, true);
    assert.equal(classifyKubeError(new ApiException(501, 'x', {}, {}), now).retry, false);
    assert.equal(classifyKubeError(new ApiException(409, 'x', {}, {}), now).retry, false);
    assert.equal(classifyKubeError(new ApiException(403, 'x', {}, {}), now).retry, false);
  });

  test('network errors retry, found through the cause chain', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });
    assert.equal(classifyKubeError(refused, now).retry, true);
    assert.equal(classifyKubeError(new Error('something else'), now).retry, false);
  });
});

/** The sandbox's DestinationRule for backend, as the API server would hold it. */
function backendRule(): DestinationRule {
  const rule = shopObjects().find(
    (o) => o.kind === 'DestinationRule',
  ) as unknown as DestinationRule;
  return { ...rule, metadata: { ...rule.metadata, resourceVersion: '1' } };
}

/**
 * A cluster holding the backend DestinationRule and some VirtualServices per namespace; the
 * first `conflicts` writes of the rule lose a race to a writer that labels it.
 */
function ruleCluster(options: {
  conflicts?: number;
  virtualServices?: Record<string, VirtualService[]>;
  listError?: Error;
}) {
  let stored = backendRule();
  let left = options.conflicts ?? 0;
  const writes: DestinationRule[] = [];
  const listed: string[] = [];
  const bump = (rule: DestinationRule): DestinationRule => ({
    ...structuredClone(rule),
    metadata: {
      ...rule.metadata,
      resourceVersion: String(Number(stored.metadata.resourceVersion) + 1),
    },
  });
  const cluster = {
    getDestinationRule: () => Promise.resolve(structuredClone(stored)),
    replaceDestinationRule: (rule: DestinationRule) => {
      if (rule.metadata.resourceVersion !== stored.metadata.resourceVersion) {
        return Promise.reject(new ConflictError('stale resourceVersion'));
      }
      if (left > 0) {
        left--;
        const changed = structuredClone(stored);
        changed.metadata.labels = { synced: 'yes' };
        stored = bump(changed);
        return Promise.reject(new ConflictError('the object has been modified'));
      }
      writes.push(structuredClone(rule));
      stored = bump(rule);
      return Promise.resolve(structuredClone(stored));
    },
    listAllVirtualServices: () => {
      listed.push('*');
      if (options.listError) return Promise.reject(options.listError);
      return Promise.resolve(structuredClone(Object.values(options.virtualServices ?? {}).flat()));
    },
  } as unknown as Cluster;
  return { cluster, writes, listed, current: () => stored };
}

/** A VirtualService of another team that still sends its traffic to backend v1. */
function legacyVirtualService(namespace: string): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'legacy', namespace },
    spec: {
      hosts: ['legacy.example'],
      http: [
        {
          name: 'old-clients',
          route: [{ destination: { host: 'backend.shop.svc.cluster.local', subset: 'v1' } }],
        },
      ],
    },
  };
}

/** The backend VirtualService after a promotion: every route to v2. */
function promotedBackend(): VirtualService {
  const vs = backendVirtualService();
  vs.spec.http[2].route = [
    { destination: { host: 'backend', subset: 'v2', port: { number: 8080 } } },
  ];
  return vs;
}

describe('updateDestinationRule', () => {
  test('re-applies the edit to a fresh read after a conflict, keeping the other writer’s change', async () => {
    const { cluster, writes, current } = ruleCluster({ conflicts: 1 });
    const logger = new MemoryLogger();
    const result = await updateDestinationRule(cluster, SHOP, 'backend', logger, (rule) => {
      rule.spec.subsets = rule.spec.subsets?.filter((s) => s.name !== 'v1');
      return rule;
    });
    assert.equal(result.written, true);
    assert.equal(writes.length, 1);
    assert.deepEqual(current().metadata.labels, { synced: 'yes' });
    assert.deepEqual(
      current().spec.subsets?.map((s) => s.name),
      ['v2'],
    );
    assert.ok(logger.lines.some((l) => l.includes('DestinationRule shop/backend changed')));
  });
});

describe('removeOldSubset', () => {
  test('removes the subset when nothing routes to it, leaving the rest of the rule as it was', async () => {
    const { cluster, current, listed } = ruleCluster({
      virtualServices: { [SHOP]: [promotedBackend()] },
    });
    const logger = new MemoryLogger();
    const outcome = await removeOldSubset(cluster, logger, {
      destinationRule: backendRule(),
      subset: 'v1',
      namespace: SHOP,
    });
    assert.equal(outcome.result, 'removed');
    const expected = backendRule().spec;
    expected.subsets = expected.subsets?.filter((s) => s.name !== 'v1');
    assert.deepEqual(current().spec, expected);
    assert.deepEqual(listed, ['*'], 'the VirtualServices of every namespace, in one list');
    assert.match(
      logger.lines.join('\n'),
      /Removed subset "v1" from DestinationRule "shop\/backend": no VirtualService in any namespace routes to it/,
    );
  });

  test('keeps the subset and warns, naming the route, when another VirtualService still sends to it', async () => {
    const { cluster, writes, listed } = ruleCluster({
      virtualServices: { [SHOP]: [promotedBackend()], legacy: [legacyVirtualService('legacy')] },
    });
    const logger = new MemoryLogger();
    const outcome = await removeOldSubset(cluster, logger, {
      destinationRule: backendRule(),
      subset: 'v1',
      namespace: SHOP,
    });
    assert.equal(outcome.result, 'kept');
    assert.equal(writes.length, 0);
    assert.deepEqual(listed, ['*']);
    assert.match(outcome.sentence, /http route "old-clients" of VirtualService "legacy\/legacy"/);
    assert.ok(logger.lines.some((l) => l.startsWith('warning: Kept subset "v1"')));
  });

  test('a subset already gone is a no-op; a failed read is reported, never thrown', async () => {
    const gone = ruleCluster({});
    const rule = backendRule();
    rule.spec.subsets = rule.spec.subsets?.filter((s) => s.name !== 'v1');
    const request = { destinationRule: rule, subset: 'v1', namespace: SHOP };
    await updateDestinationRule(gone.cluster, SHOP, 'backend', new MemoryLogger(), () => rule);
    const absent = await removeOldSubset(gone.cluster, new MemoryLogger(), request);
    assert.equal(absent.result, 'absent');
    assert.equal(gone.writes.length, 1, 'only the test’s own write');

    const failing = ruleCluster({ listError: new Error('forbidden: list virtualservices') });
    const logger = new MemoryLogger();
    const failed = await removeOldSubset(failing.cluster, logger, {
      ...request,
      destinationRule: backendRule(),
    });
    assert.equal(failed.result, 'failed');
    assert.match(failed.sentence, /forbidden: list virtualservices\. The promotion stands/);
    assert.equal(failing.writes.length, 0);
    assert.ok(logger.lines.some((l) => l.startsWith('warning: Clean-up did not finish')));
  });

  test('a dry run judges the VirtualServices as the promotion would leave them, and writes nothing', async () => {
    const { cluster, writes } = ruleCluster({
      virtualServices: { [SHOP]: [backendVirtualService()] },
    });
    const request = { destinationRule: backendRule(), subset: 'v1', namespace: SHOP };
    const unpromoted = await planOldSubsetRemoval(cluster, request, []);
    assert.equal(unpromoted.outcome.result, 'removed', 'the primary route names no subset');

    const split = backendVirtualService();
    split.spec.http[2].route = [
      { destination: { host: 'backend', subset: 'v1' }, weight: 90 },
      { destination: { host: 'backend', subset: 'v2' }, weight: 10 },
    ];
    const planned = await planOldSubsetRemoval(
      ruleCluster({ virtualServices: { [SHOP]: [split] } }).cluster,
      request,
      [promotedBackend()],
    );
    assert.equal(planned.outcome.result, 'removed');
    assert.match(planned.outcome.sentence, /^Clean-up would remove subset "v1"/);
    assert.deepEqual(
      planned.after.spec.subsets?.map((s) => s.name),
      ['v2'],
    );
    assert.deepEqual(planned.before, backendRule(), 'the plan leaves the rule it was given');
    const kept = await planOldSubsetRemoval(
      ruleCluster({ virtualServices: { [SHOP]: [split] } }).cluster,
      request,
      [],
    );
    assert.equal(kept.outcome.result, 'kept');
    assert.match(kept.outcome.sentence, /^Clean-up would keep subset "v1".*http route "primary"/);
    assert.equal(writes.length, 0);
  });
});
