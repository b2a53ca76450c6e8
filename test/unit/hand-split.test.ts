// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { pinCallers } from '../../src/istio/dependents.ts';
import { setHostWeight, promoteHostRoute } from '../../src/istio/host-canary.ts';
import { applyStage, promoteStage } from '../../src/istio/shaped-stage.ts';
import type { StageEdit } from '../../src/istio/shaped-stage.ts';
import { readRestorePoint } from '../../src/istio/state/read.ts';
import { restoreOriginal } from '../../src/istio/state/write.ts';
import type { HTTPRoute, HTTPRouteDestination, VirtualService } from '../../src/istio/types.ts';
import { backendVs, deepFreeze, handSplitVs } from '../fixtures/virtualservices.ts';

const T0 = Date.parse('2025-03-04T05:06:07.000Z');
const HOST = 'catalog.shop.svc.cluster.local';

function edit(overrides: Partial<StageEdit> = {}): StageEdit {
  return {
    target: { kind: 'subsets', route: 'reviews', stableSubset: 'v1', canarySubset: 'v2' },
    weight: 50,
    owner: 'run-1',
    now: T0,
    ...overrides,
  };
}

function userError(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

function reviews(vs: VirtualService): HTTPRoute {
  return vs.spec.http!.find((r) => r.name === 'reviews')!;
}

/** The destination of `subset` in `route`, without its weight. */
function destinationOf(route: HTTPRoute, subset: string): Omit<HTTPRouteDestination, 'weight'> {
  const found = route.route!.find((d) => d.destination.subset === subset);
  assert.ok(found, `no destination to ${subset} in ${JSON.stringify(route.route)}`);
  return Object.fromEntries(Object.entries(found).filter(([key]) => key !== 'weight'));
}

/** `vs` with a `mirror` on the route named `name`. */
function withMirror(vs: VirtualService, name: string, mirror: Record<string, unknown>) {
  const next = structuredClone(vs);
  Object.assign(
    next.spec.http!.find((r) => r.name === name)!,
    mirror,
  );
  return deepFreeze(next);
}

void describe('a route the user already split by hand', () => {
  const original = reviews(handSplitVs());
  const ownV1 = destinationOf(original, 'v1');
  const ownV2 = destinationOf(original, 'v2');

  void it('keeps each destination its own port and headers at every stage', () => {
    for (const weight of [1, 10, 50, 99]) {
      const staged = reviews(applyStage(handSplitVs(), edit({ weight })).vs);
      assert.deepEqual(destinationOf(staged, 'v1'), ownV1, `v1 at ${weight}%`);
      assert.deepEqual(destinationOf(staged, 'v2'), ownV2, `v2 at ${weight}%`);
    }
    const atZero = reviews(applyStage(handSplitVs(), edit({ weight: 0 })).vs);
    assert.deepEqual(atZero.route, [ownV1]);
  });

  void it('promotes to the canary as the user wrote it: no port 81, its own x-version', () => {
    const staged = deepFreeze(applyStage(handSplitVs(), edit({ weight: 20 })).vs);
    const promoted = promoteStage(staged)!.vs;
    assert.deepEqual(reviews(promoted).route, [ownV2]);
    assert.equal(
      JSON.stringify(promoted.spec.http![0]),
      JSON.stringify(handSplitVs().spec.http![0]),
    );
  });

  void it('rolls back byte for byte after stages at other weights', () => {
    let vs = deepFreeze(applyStage(handSplitVs(), edit({ weight: 10 })).vs);
    vs = deepFreeze(applyStage(vs, edit({ weight: 60 })).vs);
    const restored = restoreOriginal(vs, readRestorePoint(vs)!);
    assert.equal(JSON.stringify(restored.spec), JSON.stringify(handSplitVs().spec));
  });

  void it('mirrors to the canary on its own port and builds tester routes from its own fields', () => {
    const { vs } = applyStage(
      handSplitVs(),
      edit({
        weight: 0,
        mirrorPercent: 10,
        testers: { match: [{ headers: { tester: { exact: 'yes' } } }], weight: 100 },
      }),
    );
    assert.deepEqual(reviews(vs).mirror, { host: HOST, subset: 'v2' });
    const tester = vs.spec.http!.find((r) => r.name === 'reviews-canary-testers')!;
    assert.deepEqual(tester.route, [ownV2]);
  });

  void it('keeps a host canary its own canary destination', () => {
    const route: HTTPRoute = deepFreeze({
      name: 'main',
      route: [
        { destination: { host: 'cart-stable', port: { number: 80 } }, weight: 90 },
        {
          destination: { host: 'cart-canary', port: { number: 8080 } },
          headers: { request: { set: { 'x-tier': 'canary' } } },
          weight: 10,
        },
      ],
    });
    const opts = { stableHost: 'cart-stable', canaryHost: 'cart-canary', namespace: 'shop' };
    const staged = setHostWeight(route, route, { ...opts, weight: 30 });
    assert.deepEqual(staged.route, [
      { destination: { host: 'cart-stable', port: { number: 80 } }, weight: 70 },
      {
        destination: { host: 'cart-canary', port: { number: 8080 } },
        headers: { request: { set: { 'x-tier': 'canary' } } },
        weight: 30,
      },
    ]);
    assert.deepEqual(promoteHostRoute(route, route, opts).route, [
      {
        destination: { host: 'cart-canary', port: { number: 8080 } },
        headers: { request: { set: { 'x-tier': 'canary' } } },
      },
    ]);
  });
});

void describe("a user's own mirror to the canary", () => {
  const toCanary = { mirror: { host: 'catalog', subset: 'v2' }, mirrorPercentage: { value: 100 } };

  void it('is refused before a stage, naming the route and the way out', () => {
    assert.throws(
      () => applyStage(withMirror(handSplitVs(), 'reviews', toCanary), edit()),
      userError(
        /^Route "reviews" of VirtualService "shop\/catalog" mirrors its requests to the canary .*subset "v2".*twice.*"mirror-percent"/,
      ),
    );
  });

  void it('is refused through `mirrors` and through the host without a subset', () => {
    const mirrors = { mirrors: [{ destination: { host: HOST, subset: 'v2' } }] };
    assert.throws(
      () => applyStage(withMirror(handSplitVs(), 'reviews', mirrors), edit()),
      userError(/mirrors its requests to the canary/),
    );
    const wholeHost = { mirror: { host: 'catalog.shop' } };
    assert.throws(
      () => applyStage(withMirror(handSplitVs(), 'reviews', wholeHost), edit()),
      userError(/mirrors its requests to the canary/),
    );
  });

  void it('is refused by a promote of a rollout it was added to', () => {
    // The saved state does not explain a mirror added since the stage: the promote writes nothing.
    const staged = applyStage(handSplitVs(), edit()).vs;
    assert.throws(
      () => promoteStage(withMirror(staged, 'reviews', toCanary)),
      userError(
        /route "reviews", field "mirror": the VirtualService has \{"host":"catalog","subset":"v2"\}/,
      ),
    );
  });

  void it("is refused on a dependent's route, whose canary would get every call twice", () => {
    const vs = structuredClone(backendVs());
    Object.assign(vs.spec.http![1], { mirror: { host: 'backend', subset: 'v2' } });
    assert.throws(
      () =>
        pinCallers(deepFreeze(vs), {
          owner: 'shop/frontend',
          dependent: { virtualService: 'backend', stableSubset: 'v1', canarySubset: 'v2' },
          sourceLabels: { app: 'frontend', version: 'v2' },
        }),
      userError(/^Input "dependents": route http\[1\] of VirtualService "shop\/backend" mirrors/),
    );
  });

  void it('a mirror elsewhere is the user’s and stays through the stages', () => {
    const shadow = { mirror: { host: 'catalog-shadow' }, mirrorPercentage: { value: 5 } };
    const staged = reviews(applyStage(withMirror(handSplitVs(), 'reviews', shadow), edit()).vs);
    assert.deepEqual(staged.mirror, shadow.mirror);
    assert.deepEqual(staged.mirrorPercentage, shadow.mirrorPercentage);
  });
});
