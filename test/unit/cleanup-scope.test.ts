// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ForbiddenError } from '../../src/errors.ts';
import { subsetUses, visibleTo } from '../../src/istio/cleanup.ts';
import type { DestinationRule, VirtualService } from '../../src/istio/types.ts';
import type { Cluster } from '../../src/kube/cluster.ts';
import { MemoryLogger } from '../../src/logger.ts';
import { planOldSubsetRemoval, removeOldSubset } from '../../src/rollout/cleanup.ts';

/** backend's rule in shop, with subsets v1 and v2; `exportTo` when given. */
function rule(exportTo?: string[], host = 'backend.shop.svc.cluster.local'): DestinationRule {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'backend', namespace: 'shop', resourceVersion: '7' },
    spec: {
      host,
      ...(exportTo ? { exportTo } : {}),
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' } },
      ],
    },
  };
}

/** A VirtualService in `namespace` whose only route sends to `host` subset v1. */
function toV1(namespace: string, host: string, exportTo?: string[]): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'legacy', namespace },
    spec: {
      hosts: ['legacy.example'],
      ...(exportTo ? { exportTo } : {}),
      http: [{ name: 'old-clients', route: [{ destination: { host, subset: 'v1' } }] }],
    },
  };
}

/** A cluster holding `dr` and `virtualServices`; `forbidden` refuses the cluster-wide list. */
function cluster(
  dr: DestinationRule,
  virtualServices: VirtualService[],
  forbidden = false,
): { cluster: Cluster; writes: DestinationRule[] } {
  const writes: DestinationRule[] = [];
  const fake = {
    getDestinationRule: () => Promise.resolve(structuredClone(dr)),
    replaceDestinationRule: (next: DestinationRule) => {
      writes.push(structuredClone(next));
      return Promise.resolve({ ...next, metadata: { ...next.metadata, resourceVersion: '8' } });
    },
    listAllVirtualServices: () =>
      forbidden
        ? Promise.reject(
            new ForbiddenError('LIST virtualservices in all namespaces failed: forbidden'),
          )
        : Promise.resolve(structuredClone(virtualServices)),
  } as unknown as Cluster;
  return { cluster: fake, writes };
}

const REQUEST = { subset: 'v1', namespace: 'shop' };

void describe('the clean-up decides on every namespace', () => {
  void it('keeps v1 while a VirtualService of another namespace still routes to it', async () => {
    const { cluster: c, writes } = cluster(rule(), [toV1('legacy', 'backend.shop')]);
    const logger = new MemoryLogger();
    const outcome = await removeOldSubset(c, logger, { ...REQUEST, destinationRule: rule() });
    assert.equal(outcome.result, 'kept');
    assert.equal(writes.length, 0);
    assert.match(outcome.sentence, /http route "old-clients" of VirtualService "legacy\/legacy"/);
  });

  void it('removes v1 when no namespace routes to it, and says so', async () => {
    const { cluster: c, writes } = cluster(rule(), [toV1('legacy', 'backend')]);
    const outcome = await removeOldSubset(c, new MemoryLogger(), {
      ...REQUEST,
      destinationRule: rule(),
    });
    // `backend` in namespace legacy is legacy's own backend, not shop's.
    assert.equal(outcome.result, 'removed');
    assert.equal(writes.length, 1);
    assert.match(outcome.sentence, /no VirtualService in any namespace routes to it/);
  });

  void it('keeps v1 and names the missing permission when it may not list them all', async () => {
    const { cluster: c, writes } = cluster(rule(), [], true);
    const logger = new MemoryLogger();
    const outcome = await removeOldSubset(c, logger, { ...REQUEST, destinationRule: rule() });
    assert.equal(outcome.result, 'kept');
    assert.equal(writes.length, 0);
    assert.match(
      outcome.sentence,
      /^Kept subset "v1" in DestinationRule "shop\/backend": the credentials may not list VirtualServices in all namespaces.*Grant "list" on virtualservices \(networking\.istio\.io\) at the cluster scope/,
    );
    assert.ok(logger.lines.some((l) => l.startsWith('warning: Kept subset "v1"')));
    const planned = await planOldSubsetRemoval(c, { ...REQUEST, destinationRule: rule() }, []);
    assert.equal(planned.outcome.result, 'kept');
    assert.match(planned.outcome.sentence, /^Clean-up would keep subset "v1".*cluster scope/);
    assert.deepEqual(planned.after, rule());
  });
});

void describe('subsetUses reads hosts and exportTo as Istio does', () => {
  void it('counts only VirtualServices whose proxies also see the rule', () => {
    const cases: [string, string[] | undefined, string[] | undefined, boolean][] = [
      ['both everywhere', undefined, undefined, true],
      ['rule private to shop, route exported everywhere', ['.'], undefined, true],
      ['rule private to shop, route private to legacy', ['.'], ['.'], false],
      ['rule exported to legacy, route private to legacy', ['legacy'], ['.'], true],
      ['route exported to shop, rule private to shop', ['.'], ['shop'], true],
      ['route exported to nobody', undefined, ['~'], false],
      ['rule exported to nobody', ['~'], undefined, false],
      ['route exported to nobody and everybody', undefined, ['~', '*'], true],
    ];
    for (const [what, ruleExport, routeExport, used] of cases) {
      const uses = subsetUses(rule(ruleExport), 'v1', [
        toV1('legacy', 'backend.shop.svc.cluster.local', routeExport),
      ]);
      assert.equal(uses.length > 0, used, what);
    }
  });

  void it('resolves short hosts in the VirtualService’s namespace and covers wildcard rules', () => {
    assert.equal(subsetUses(rule(), 'v1', [toV1('shop', 'backend')]).length, 1);
    assert.equal(subsetUses(rule(), 'v1', [toV1('legacy', 'backend')]).length, 0);
    const wildcard = rule(undefined, '*.shop.svc.cluster.local');
    assert.equal(subsetUses(wildcard, 'v1', [toV1('shop', 'backend')]).length, 1);
    assert.equal(subsetUses(wildcard, 'v1', [toV1('legacy', 'backend')]).length, 0);
    assert.equal(
      subsetUses(wildcard, 'v1', [toV1('legacy', 'Reviews.Shop.svc.cluster.local')]).length,
      1,
    );
  });

  void it('visibleTo: * everywhere, ~ nowhere, . the own namespace, absent the mesh default', () => {
    assert.equal(visibleTo(undefined, 'shop'), 'all');
    assert.equal(visibleTo([], 'shop'), 'all');
    assert.deepEqual(visibleTo(['~'], 'shop'), new Set());
    assert.deepEqual(visibleTo(['.', 'legacy'], 'shop'), new Set(['shop', 'legacy']));
    assert.equal(visibleTo(['.', '*'], 'shop'), 'all');
  });
});
