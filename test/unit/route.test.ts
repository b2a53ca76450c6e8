import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.ts';
import {
  findTargetRoute,
  promoteRoute,
  routeLabel,
  setCanaryWeight,
  withRoute,
} from '../../src/istio/route.ts';
import type { HTTPRoute, VirtualService } from '../../src/istio/types.ts';
import {
  ambiguousVs,
  deepFreeze,
  mixedHostsVs,
  reviewsVs,
  subsetVs,
  twoHostsVs,
} from '../fixtures/virtualservices.ts';

const REVIEWS = { host: 'reviews', stableSubset: 'v1', canarySubset: 'v2' };

function userError(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

function primary(vs: VirtualService = reviewsVs()): HTTPRoute {
  return vs.spec.http![2];
}

/** The route without its destinations: what a stage must leave exactly as it was. */
function withoutDestinations(route: HTTPRoute): Record<string, unknown> {
  return Object.fromEntries(Object.entries(route).filter(([key]) => key !== 'route'));
}

void describe('findTargetRoute', () => {
  void it('finds the host-only route, skipping the tester route and the redirect', () => {
    const vs = reviewsVs();
    const found = findTargetRoute(vs, { stableSubset: 'v1' });
    assert.equal(found.index, 2);
    assert.equal(found.host, 'reviews');
    assert.equal(found.route, vs.spec.http![2]);
  });

  void it('finds the route to the stable subset among unnamed routes', () => {
    const found = findTargetRoute(subsetVs(), { stableSubset: 'v1' });
    assert.equal(found.index, 1);
    assert.equal(found.host, 'ratings.shop.svc.cluster.local');
  });

  void it('does not take a tester route that only sends to the canary subset', () => {
    const vs = subsetVs();
    const onlyTester = deepFreeze({
      ...structuredClone(vs),
      spec: { http: [structuredClone(vs.spec.http![0])] },
    });
    assert.throws(
      () => findTargetRoute(onlyTester, { stableSubset: 'v1' }),
      userError(
        /^No http route of VirtualService "shop\/ratings" sends traffic to subset "v1".*http\[0\] -> ratings\.shop\.svc\.cluster\.local\/v2.*"stable-subset"/,
      ),
    );
  });

  void it('takes the route after a promote when the old canary is the new stable', () => {
    // After a promote the tester route and the default both send to v2: ambiguous on purpose.
    const vs = reviewsVs();
    const promoted = withRoute(vs, 2, promoteRoute(primary(vs), REVIEWS));
    assert.throws(
      () => findTargetRoute(promoted, { stableSubset: 'v2' }),
      userError(
        /2 http routes .* "tester" \(reviews\/v2\), "primary" \(reviews\/v2\)\. Set input "route"/,
      ),
    );
    assert.equal(findTargetRoute(promoted, { route: 'primary', stableSubset: 'v2' }).index, 2);
  });

  void it('names every candidate when several routes target the stable subset', () => {
    assert.throws(
      () => findTargetRoute(ambiguousVs(), { stableSubset: 'v1' }),
      userError(
        /^2 http routes of VirtualService "shop\/catalog" send traffic to subset "v1" or to a host without a subset: "api" \(catalog\/v1\), http\[1\] \(catalog\/v1\)\. Set input "route" to the name of the one to shift, or to its position for an unnamed one \(e\.g\. "http\[1\]"\)$/,
      ),
    );
  });

  void it('takes the named route when the user sets "route"', () => {
    const found = findTargetRoute(ambiguousVs(), { route: 'api', stableSubset: 'v1' });
    assert.equal(found.index, 0);
    assert.equal(found.host, 'catalog');
  });

  void it('lists the route names when the named route does not exist', () => {
    assert.throws(
      () => findTargetRoute(reviewsVs(), { route: 'default', stableSubset: 'v1' }),
      userError(
        /^Input "route": VirtualService "shop\/reviews" has no http route named "default"; its named routes are "tester", "legacy", "primary" \(an unnamed route is picked by its position, e\.g\. "http\[0\]"\)$/,
      ),
    );
    assert.throws(
      () => findTargetRoute(subsetVs(), { route: 'default', stableSubset: 'v1' }),
      userError(/it has no named routes \(an unnamed route is picked by its position/),
    );
  });

  void it('refuses a named route that does not target the stable subset', () => {
    assert.throws(
      () => findTargetRoute(reviewsVs(), { route: 'tester', stableSubset: 'v1' }),
      userError(/route "tester" .* sends no traffic to subset "v1".*destinations: reviews\/v2/),
    );
    assert.throws(
      () => findTargetRoute(reviewsVs(), { route: 'legacy', stableSubset: 'v1' }),
      userError(/route "legacy" .*destinations: no destinations \(redirect\)/),
    );
  });

  void it('refuses duplicate route names', () => {
    const vs = ambiguousVs();
    const twice = deepFreeze({
      ...structuredClone(vs),
      spec: { http: [vs.spec.http![0], { ...vs.spec.http![1], name: 'api' }] },
    });
    assert.throws(
      () => findTargetRoute(twice, { route: 'api', stableSubset: 'v1' }),
      userError(/2 http routes named "api" \(http\[0\], http\[1\]\); route names must be unique/),
    );
  });

  void it('needs "host" or "route" when host-only routes of different hosts compete', () => {
    assert.throws(
      () => findTargetRoute(twoHostsVs(), { stableSubset: 'v1' }),
      userError(/"cart" \(cart\), "checkout" \(checkout\)/),
    );
    const byHost = findTargetRoute(twoHostsVs(), { host: 'checkout', stableSubset: 'v1' });
    assert.deepEqual([byHost.index, byHost.host], [1, 'checkout']);
    const byName = findTargetRoute(twoHostsVs(), { route: 'cart', stableSubset: 'v1' });
    assert.deepEqual([byName.index, byName.host], [0, 'cart']);
  });

  void it('counts only destinations of the given host', () => {
    assert.throws(
      () => findTargetRoute(reviewsVs(), { host: 'ratings', stableSubset: 'v1' }),
      userError(/sends traffic to subset "v1" or to host "ratings" without a subset/),
    );
  });

  void it('refuses a route that also sends traffic to another service', () => {
    assert.throws(
      () => findTargetRoute(mixedHostsVs(), { stableSubset: 'v1' }),
      userError(
        /^Route "split" of VirtualService "shop\/search" sends traffic to more than one host \(search\/v1 90%, search-next 10%\); .* Give each host a route of its own$/,
      ),
    );
    for (const host of ['search', 'search-next']) {
      assert.throws(
        () => findTargetRoute(mixedHostsVs(), { host, stableSubset: 'v1' }),
        userError(/sends traffic to more than one host/),
      );
    }
  });

  void it('refuses a route with a third subset of the host when the canary subset is known', () => {
    const vs = deepFreeze({
      ...structuredClone(ambiguousVs()),
      spec: {
        http: [
          {
            name: 'main',
            route: [
              { destination: { host: 'catalog', subset: 'v1' }, weight: 80 },
              { destination: { host: 'catalog', subset: 'v0' }, weight: 20 },
            ],
          },
        ],
      },
    });
    assert.equal(findTargetRoute(vs, { stableSubset: 'v1' }).index, 0);
    assert.throws(
      () => findTargetRoute(vs, { stableSubset: 'v1', canarySubset: 'v2' }),
      userError(/Route "main" .* exactly one destination .*catalog\/v1 80%, catalog\/v0 20%/),
    );
  });

  void it('has a clear error for a VirtualService without http routes', () => {
    const vs = deepFreeze({
      ...structuredClone(reviewsVs()),
      spec: { hosts: ['reviews'], tcp: [] },
    });
    assert.throws(
      () => findTargetRoute(vs, { stableSubset: 'v1' }),
      userError(/"shop\/reviews" has no http routes/),
    );
  });
});

void describe('setCanaryWeight', () => {
  void it('splits a host-only route into two copies of its destination', () => {
    const original = primary();
    const next = setCanaryWeight(original, original, { ...REVIEWS, weight: 10 });
    assert.deepEqual(next.route, [
      {
        destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } },
        headers: { request: { set: { 'x-routed-by': 'mesh' } } },
        weight: 90,
      },
      {
        destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } },
        headers: { request: { set: { 'x-routed-by': 'mesh' } } },
        weight: 10,
      },
    ]);
    // `subset` goes right after `host`, as people write it.
    assert.deepEqual(Object.keys(next.route[0].destination), ['host', 'subset', 'port']);
  });

  void it('keeps every other field of the route, in its order', () => {
    const original = primary();
    const next = setCanaryWeight(original, original, { ...REVIEWS, weight: 50 });
    assert.deepEqual(withoutDestinations(next), withoutDestinations(original));
    assert.deepEqual(Object.keys(next), Object.keys(original));
    assert.equal(
      JSON.stringify(withoutDestinations(next)),
      JSON.stringify(withoutDestinations(original)),
    );
  });

  void it('returns new objects sharing nothing with its inputs', () => {
    const original = primary();
    const next = setCanaryWeight(original, original, { ...REVIEWS, weight: 50 });
    assert.notEqual(next.retries, original.retries);
    assert.notEqual(next.route![0].headers, original.route![0].headers);
    assert.notEqual(next.route![0].headers, next.route![1].headers);
    assert.notEqual(next.route![0].destination.port, next.route![1].destination.port);
  });

  void it('writes a lone destination without a weight at 0 and 100', () => {
    const original = primary();
    const atZero = setCanaryWeight(original, original, { ...REVIEWS, weight: 0 });
    assert.deepEqual(atZero.route, [
      {
        destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } },
        headers: { request: { set: { 'x-routed-by': 'mesh' } } },
      },
    ]);
    const atHundred = setCanaryWeight(original, original, { ...REVIEWS, weight: 100 });
    assert.equal(atHundred.route!.length, 1);
    assert.equal(atHundred.route![0].destination.subset, 'v2');
    assert.equal('weight' in atHundred.route![0], false);
  });

  void it('weights always sum to 100 and are integers', () => {
    const original = primary();
    for (let w = 0; w <= 100; w++) {
      const next = setCanaryWeight(original, original, { ...REVIEWS, weight: w });
      const weights = next.route!.map((d) => d.weight ?? 100);
      assert.equal(
        weights.reduce((a, b) => a + b, 0),
        100,
        `weight ${w}`,
      );
      assert.ok(
        weights.every((x) => Number.isInteger(x) && x > 0),
        `weight ${w}`,
      );
    }
  });

  void it('replaces an explicit lone weight of 100 in place and keeps the destination order', () => {
    const original = subsetVs().spec.http![1];
    const opts = { host: 'ratings.shop.svc.cluster.local', stableSubset: 'v1', canarySubset: 'v2' };
    const next = setCanaryWeight(original, original, { ...opts, weight: 25 });
    assert.deepEqual(next, {
      route: [
        { destination: { host: 'ratings.shop.svc.cluster.local', subset: 'v1' }, weight: 75 },
        { destination: { host: 'ratings.shop.svc.cluster.local', subset: 'v2' }, weight: 25 },
      ],
      retries: { attempts: 2 },
    });
  });

  void it('moves from stage to stage using the original destination, not the current split', () => {
    const original = primary();
    const at10 = setCanaryWeight(original, original, { ...REVIEWS, weight: 10 });
    const at50 = setCanaryWeight(original, at10, { ...REVIEWS, weight: 50 });
    assert.deepEqual(at50, setCanaryWeight(original, original, { ...REVIEWS, weight: 50 }));
    assert.deepEqual(setCanaryWeight(original, at50, { ...REVIEWS, weight: 50 }), at50);
  });

  void it('keeps edits the user made to the current route during the rollout', () => {
    const original = primary();
    const at10 = setCanaryWeight(original, original, { ...REVIEWS, weight: 10 });
    const edited = deepFreeze({ ...structuredClone(at10), timeout: '30s' });
    const at50 = setCanaryWeight(original, edited, { ...REVIEWS, weight: 50 });
    assert.equal(at50.timeout, '30s');
    assert.deepEqual(
      at50.route!.map((d) => d.weight),
      [50, 50],
    );
  });

  void it('keeps the canary destination of a route split by hand with its own fields', () => {
    // A team that answers `x-version` per version and serves v1 on another port than v2.
    const original = deepFreeze({
      name: 'main',
      route: [
        {
          destination: { host: 'catalog', subset: 'v1', port: { number: 81 } },
          headers: { response: { set: { 'x-version': 'v1' } } },
          weight: 95,
        },
        {
          destination: { host: 'catalog', subset: 'v2' },
          headers: { response: { set: { 'x-version': 'v2' } } },
          weight: 5,
        },
      ],
    });
    const opts = { host: 'catalog', stableSubset: 'v1', canarySubset: 'v2' };
    const next = setCanaryWeight(original, original, { ...opts, weight: 20 });
    assert.deepEqual(next.route, [
      {
        destination: { host: 'catalog', subset: 'v1', port: { number: 81 } },
        headers: { response: { set: { 'x-version': 'v1' } } },
        weight: 80,
      },
      {
        destination: { host: 'catalog', subset: 'v2' },
        headers: { response: { set: { 'x-version': 'v2' } } },
        weight: 20,
      },
    ]);
    // Through 0% (the canary is dropped) and back, it comes back as the user wrote it.
    const atZero = setCanaryWeight(original, original, { ...opts, weight: 0 });
    assert.deepEqual(atZero.route, [
      {
        destination: { host: 'catalog', subset: 'v1', port: { number: 81 } },
        headers: { response: { set: { 'x-version': 'v1' } } },
      },
    ]);
    assert.deepEqual(setCanaryWeight(original, atZero, { ...opts, weight: 20 }), next);
    assert.deepEqual(promoteRoute(original, opts).route, [
      {
        destination: { host: 'catalog', subset: 'v2' },
        headers: { response: { set: { 'x-version': 'v2' } } },
      },
    ]);
  });

  void it('refuses a route with two destinations to the canary subset', () => {
    const original = deepFreeze({
      name: 'main',
      route: [
        { destination: { host: 'catalog', subset: 'v1' }, weight: 90 },
        { destination: { host: 'catalog', subset: 'v2', port: { number: 80 } }, weight: 5 },
        { destination: { host: 'catalog', subset: 'v2', port: { number: 81 } }, weight: 5 },
      ],
    });
    assert.throws(
      () =>
        setCanaryWeight(original, original, {
          host: 'catalog',
          stableSubset: 'v1',
          canarySubset: 'v2',
          weight: 20,
        }),
      userError(/sends to subset "v2" through 2 destinations .*keep one destination per subset/),
    );
  });

  void it('refuses a route that would lose traffic to another host or subset', () => {
    const split = mixedHostsVs().spec.http![0];
    assert.throws(
      () =>
        setCanaryWeight(split, split, {
          host: 'search',
          stableSubset: 'v1',
          canarySubset: 'v2',
          weight: 10,
        }),
      userError(
        /^Route "split" must send its traffic to host "search" through exactly one destination/,
      ),
    );
    const original = primary();
    assert.throws(
      () => setCanaryWeight(original, original, { ...REVIEWS, host: 'ratings', weight: 10 }),
      userError(/host "ratings"/),
    );
  });

  void it('rejects a weight outside 0-100 as a bug, not a user error', () => {
    const original = primary();
    assert.throws(
      () => setCanaryWeight(original, original, { ...REVIEWS, weight: 101 }),
      RangeError,
    );
  });
});

void describe('promoteRoute', () => {
  void it('sends everything to the canary subset with the original destination fields', () => {
    const original = primary();
    const promoted = promoteRoute(original, REVIEWS);
    assert.deepEqual(promoted.route, [
      {
        destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } },
        headers: { request: { set: { 'x-routed-by': 'mesh' } } },
      },
    ]);
    assert.deepEqual(withoutDestinations(promoted), withoutDestinations(original));
  });

  void it('keeps the current route fields when given', () => {
    const original = primary();
    const current = deepFreeze({
      ...structuredClone(setCanaryWeight(original, original, { ...REVIEWS, weight: 50 })),
      timeout: '1s',
    });
    const promoted = promoteRoute(original, { ...REVIEWS, current });
    assert.equal(promoted.timeout, '1s');
    assert.equal(promoted.route!.length, 1);
    assert.equal(promoted.route![0].destination.subset, 'v2');
  });
});

void describe('withRoute', () => {
  void it('replaces one route and leaves everything else of the VirtualService equal', () => {
    const vs = reviewsVs();
    const route = setCanaryWeight(primary(vs), primary(vs), { ...REVIEWS, weight: 10 });
    const next = withRoute(vs, 2, route);
    assert.deepEqual(next.spec.http![2], route);
    assert.notEqual(next.spec.http![2], route);
    assert.deepEqual(next.spec.http!.slice(0, 2), vs.spec.http!.slice(0, 2));
    assert.deepEqual({ ...next.spec, http: [] }, { ...vs.spec, http: [] });
    assert.deepEqual(next.metadata, vs.metadata);
    assert.deepEqual(Object.keys(next), Object.keys(vs));
  });

  void it('refuses an index out of range', () => {
    assert.throws(() => withRoute(reviewsVs(), 3, {}), /has no http\[3\] \(it has 3 http routes\)/);
    assert.throws(() => withRoute(reviewsVs(), -1, {}), RangeError);
  });
});

void describe('routeLabel', () => {
  void it('quotes names and indexes unnamed routes', () => {
    assert.equal(routeLabel({ name: 'primary' }, 2), '"primary"');
    assert.equal(routeLabel({}, 2), 'http[2]');
  });
});
