// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.ts';
import {
  findHostTargetRoute,
  promoteHostRoute,
  sameHost,
  setHostWeight,
} from '../../src/istio/host-canary.ts';
import { applyStage, promoteStage } from '../../src/istio/shaped-stage.ts';
import { canaryDestination, canaryPercentOf } from '../../src/istio/split.ts';
import type { CanarySides } from '../../src/istio/split.ts';
import { ANNOTATIONS } from '../../src/istio/state/format.ts';
import { readRestorePoint, readState } from '../../src/istio/state/read.ts';
import { restoreOriginal, stageState } from '../../src/istio/state/write.ts';
import type { VirtualService } from '../../src/istio/types.ts';
import { deepFreeze, hostsVs, reviewsVs } from '../fixtures/virtualservices.ts';

const STABLE = 'cart-stable.shop.svc.cluster.local';
const HOSTS = { stableHost: 'cart-stable', canaryHost: 'cart-canary' };
const SIDES: CanarySides = {
  kind: 'hosts',
  stableHost: STABLE,
  canaryHost: 'cart-canary',
  namespace: 'shop',
};

function userError(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('sameHost', () => {
  it('resolves short names in the given namespace', () => {
    assert.ok(sameHost('cart', 'cart.shop.svc.cluster.local', 'shop'));
    assert.ok(sameHost('cart.shop', 'cart.shop.svc', 'web'));
    assert.ok(!sameHost('cart', 'cart.shop.svc.cluster.local', 'web'));
    assert.ok(!sameHost('cart', 'cart-canary', 'shop'));
  });
});

describe('findHostTargetRoute', () => {
  it('finds the route to the stable host, however the host is written', () => {
    const found = findHostTargetRoute(hostsVs(), HOSTS);
    assert.equal(found.index, 0);
    assert.equal(found.host, STABLE, 'the host as the route writes it');
  });

  it('names the routes when none or several send to the stable host', () => {
    assert.throws(
      () => findHostTargetRoute(hostsVs(), { ...HOSTS, stableHost: 'cart-old' }),
      userError(
        /^No http route of VirtualService "shop\/cart" sends traffic to host "cart-old" \(input "stable-host"\); its routes: "main" -> cart-stable/,
      ),
    );
    const two = structuredClone(hostsVs());
    two.spec.http!.push({ name: 'copy', route: [{ destination: { host: 'cart-stable' } }] });
    assert.throws(
      () => findHostTargetRoute(deepFreeze(two), HOSTS),
      userError(/2 http routes .* Set input "route"/),
    );
    assert.equal(findHostTargetRoute(deepFreeze(two), { ...HOSTS, route: 'copy' }).index, 1);
    assert.throws(
      () => findHostTargetRoute(two, { ...HOSTS, route: 'nope' }),
      userError(/no http route named "nope"/),
    );
  });

  it('refuses a route that also sends to a third host', () => {
    const mixed = structuredClone(hostsVs());
    mixed.spec.http![0].route!.push({ destination: { host: 'cart-legacy' }, weight: 0 });
    assert.throws(
      () => findHostTargetRoute(deepFreeze(mixed), HOSTS),
      userError(/must send its traffic through exactly one destination to host "cart-stable"/),
    );
  });
});

describe('setHostWeight and promoteHostRoute', () => {
  const original = deepFreeze(structuredClone(hostsVs().spec.http![0]));

  it('splits between the stable destination and a copy with the canary host', () => {
    const route = setHostWeight(original, original, { ...SIDES, weight: 10 });
    assert.deepEqual(route, {
      name: 'main',
      route: [
        {
          destination: { host: STABLE, port: { number: 80 } },
          headers: { request: { set: { 'x-tier': 'web' } } },
          weight: 90,
        },
        {
          destination: { host: 'cart-canary', port: { number: 80 } },
          headers: { request: { set: { 'x-tier': 'web' } } },
          weight: 10,
        },
      ],
      retries: { attempts: 1 },
    });
    assert.equal(canaryPercentOf(route, SIDES), 10);
  });

  it('drops the subset of the stable destination from the canary copy', () => {
    const withSubset = { route: [{ destination: { host: 'cart-stable', subset: 'blue' } }] };
    const route = setHostWeight(withSubset, withSubset, { ...HOSTS, weight: 50 });
    assert.deepEqual(route.route, [
      { destination: { host: 'cart-stable', subset: 'blue' }, weight: 50 },
      { destination: { host: 'cart-canary' }, weight: 50 },
    ]);
  });

  it('writes one destination without weight at 0 and at 100', () => {
    assert.deepEqual(
      setHostWeight(original, original, { ...SIDES, weight: 0 }).route,
      original.route,
    );
    const promoted = promoteHostRoute(original, original, SIDES);
    assert.deepEqual(promoted.route, [
      {
        destination: { host: 'cart-canary', port: { number: 80 } },
        headers: { request: { set: { 'x-tier': 'web' } } },
      },
    ]);
    assert.equal(canaryPercentOf(promoted, SIDES), 100);
  });

  it('mirrors to the canary host without a subset', () => {
    assert.deepEqual(canaryDestination(original, SIDES), {
      host: 'cart-canary',
      port: { number: 80 },
    });
  });
});

describe('a host canary through the stage edit', () => {
  const target = { kind: 'hosts', ...HOSTS } as const;
  const stage = (vs: VirtualService, weight: number, extra = {}): VirtualService =>
    deepFreeze(applyStage(vs, { target, weight, owner: 'run-1', now: 0, ...extra }).vs);

  it('records the canary host instead of subsets, and reads it back', () => {
    const at10 = stage(hostsVs(), 10);
    const annotations = at10.metadata.annotations!;
    assert.equal(annotations[ANNOTATIONS.canaryHost], 'cart-canary');
    assert.equal(annotations[ANNOTATIONS.host], STABLE);
    assert.equal(ANNOTATIONS.stableSubset in annotations, false);
    const state = readState(at10)!;
    assert.equal(state.canaryHost, 'cart-canary');
    assert.equal(state.stableSubset, '');
    assert.equal(state.canarySubset, '');
  });

  it('moves weights, adds testers, restores and promotes', () => {
    const at10 = stage(hostsVs(), 10, {
      testers: { match: [{ headers: { qa: {} } }], weight: 100 },
    });
    const at50 = stage(at10, 50, { testers: { match: [{ headers: { qa: {} } }], weight: 100 } });
    assert.deepEqual(
      at50.spec.http![0].route!.map((d) => d.destination.host),
      ['cart-canary'],
    );
    assert.deepEqual(
      at50.spec.http![1].route!.map((d) => [d.destination.host, d.weight]),
      [
        [STABLE, 50],
        ['cart-canary', 50],
      ],
    );
    const restored = restoreOriginal(at50, readRestorePoint(at50)!);
    assert.equal(JSON.stringify(restored), JSON.stringify(hostsVs()));
    const promoted = promoteStage(at50)!.vs;
    assert.equal(promoted.spec.http!.length, 1);
    assert.deepEqual(
      promoted.spec.http![0].route!.map((d) => d.destination.host),
      ['cart-canary'],
    );
    assert.equal('annotations' in promoted.metadata, false);
  });

  it('refuses a subset rollout while a host rollout is in progress', () => {
    const at10 = stage(hostsVs(), 10);
    assert.throws(
      () =>
        stageState(at10, readState(at10), {
          route: {},
          routeIndex: 0,
          host: STABLE,
          stableSubset: 'v1',
          canarySubset: 'v2',
          weight: 20,
          owner: 'r',
          now: 0,
        }),
      userError(
        /already has a rollout in progress: host "cart-canary" over host "cart-stable\.shop\.svc\.cluster\.local".*before rolling out subset "v2" of host/,
      ),
    );
  });

  it('still requires both subsets of a subset rollout', () => {
    const vs = structuredClone(
      applyStage(reviewsVs(), {
        target: { kind: 'subsets', stableSubset: 'v1', canarySubset: 'v2' },
        weight: 10,
        owner: 'r',
        now: 0,
      }).vs,
    );
    delete vs.metadata.annotations![ANNOTATIONS.stableSubset];
    assert.throws(
      () => readState(vs),
      userError(/"istio-canary\.dev\/stable-subset" must be a subset name/),
    );
  });
});
