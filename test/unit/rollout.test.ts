import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { ConflictError } from '../../src/errors.ts';
import type { VirtualService } from '../../src/istio/types.ts';
import { classifyKubeError } from '../../src/kube/client.ts';
import type { Cluster } from '../../src/kube/cluster.ts';
import { MemoryLogger } from '../../src/logger.ts';
import { backendVirtualService } from '../../src/sandbox/fixtures.ts';
import { canaryWeightOf } from '../../src/rollout/stage.ts';
import { serviceOfHost } from '../../src/rollout/target.ts';
import { updateVirtualService } from '../../src/rollout/update.ts';

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
