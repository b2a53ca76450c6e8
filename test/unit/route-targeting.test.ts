// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSettings } from '../../src/config/settings.ts';
import { UserError } from '../../src/errors.ts';
import { parseDependents } from '../../src/istio/dependents.ts';
import { findHostTargetRoute } from '../../src/istio/host-canary.ts';
import { findTargetRoute, routePosition } from '../../src/istio/route.ts';
import { applyStage } from '../../src/istio/shaped-stage.ts';
import type { StageEdit } from '../../src/istio/shaped-stage.ts';
import { readState } from '../../src/istio/state/read.ts';
import { restoreOriginal } from '../../src/istio/state/write.ts';
import type { VirtualService } from '../../src/istio/types.ts';
import { deepFreeze } from '../fixtures/virtualservices.ts';

const T0 = Date.parse('2025-03-04T05:06:07.000Z');

function userError(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

function vsWith(spec: VirtualService['spec']): VirtualService {
  return deepFreeze({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'ratings', namespace: 'shop' },
    spec: { hosts: ['ratings'], ...spec },
  });
}

/** As Istio's bookinfo samples write it: a fault for one user, then the default, both unnamed. */
function faultForOneUser(): VirtualService {
  return vsWith({
    http: [
      {
        match: [{ headers: { 'end-user': { exact: 'jason' } } }],
        fault: { abort: { percentage: { value: 100 }, httpStatus: 500 } },
        route: [{ destination: { host: 'ratings', subset: 'v1' } }],
      },
      { route: [{ destination: { host: 'ratings', subset: 'v1' } }] },
    ],
  });
}

function edit(route: string | undefined, weight = 10): StageEdit {
  return {
    target: { kind: 'subsets', route, stableSubset: 'v1', canarySubset: 'v2' },
    weight,
    owner: 'run-1',
    now: T0,
  };
}

void describe('routes that do not follow Istio’s schema', () => {
  const broken: [string, unknown, RegExp][] = [
    ['a destination without host', { subset: 'v1' }, /route\[0\]\.destination has no host/],
    ['an empty host', { host: '', subset: 'v1' }, /destination\.host must be a non-empty string/],
    ['a numeric subset', { host: 'ratings', subset: 1 }, /destination\.subset must be a string/],
    ['a port that is a number', { host: 'ratings', port: 80 }, /destination\.port must be a map/],
  ];
  for (const [what, destination, pattern] of broken) {
    void it(`refuses ${what}, naming the route, before any state is built`, () => {
      const vs = vsWith({
        http: [{ name: 'main', route: [{ destination } as never] }],
      });
      const named =
        /^Route "main" of VirtualService "shop\/ratings" does not follow Istio's schema: /;
      assert.throws(() => applyStage(vs, edit(undefined)), userError(named));
      assert.throws(() => applyStage(vs, edit(undefined)), userError(pattern));
      assert.throws(
        () => findHostTargetRoute(vs, { stableHost: 'ratings', canaryHost: 'ratings-canary' }),
        userError(named),
      );
    });
  }

  void it('refuses a missing destination, a bad weight, a match that is not a list', () => {
    const cases: [unknown, RegExp][] = [
      [{ route: [{ weight: 100 }] }, /^Route http\[1\] .*route\[0\] has no destination/],
      [
        { route: [{ destination: { host: 'ratings' }, weight: '100' }] },
        /route\[0\]\.weight must be a whole number of 0 or more, got "100"/,
      ],
      [{ route: [null] }, /route\[0\] is null, not a mapping/],
      [{ route: { destination: { host: 'ratings' } } }, /route is not a list of destinations/],
      [{ match: { uri: { prefix: '/' } }, route: [] }, /match is not a list/],
      ['primary', /^Route http\[1\] .* it is a string, not a mapping/],
    ];
    for (const [route, pattern] of cases) {
      const vs = vsWith({
        http: [
          { name: 'ok', route: [{ destination: { host: 'ratings', subset: 'v2' } }] },
          route as never,
        ],
      });
      assert.throws(() => findTargetRoute(vs, { stableSubset: 'v1' }), userError(pattern));
    }
  });
});

void describe('picking a route by position: http[N]', () => {
  void it('reads http[N] and nothing else as a position', () => {
    assert.equal(routePosition('http[0]'), 0);
    assert.equal(routePosition('http[12]'), 12);
    for (const name of ['http', 'http[]', 'http[-1]', 'http[1', 'primary', 'HTTP[1]']) {
      assert.equal(routePosition(name), undefined, name);
    }
  });

  void it('targets one of several unnamed candidates, which a name cannot', () => {
    const vs = faultForOneUser();
    assert.throws(
      () => findTargetRoute(vs, { stableSubset: 'v1' }),
      userError(
        /^2 http routes .*http\[0\] .*http\[1\] .*position for an unnamed one \(e\.g\. "http\[0\]"\)$/,
      ),
    );
    const found = findTargetRoute(vs, { route: 'http[1]', stableSubset: 'v1', canarySubset: 'v2' });
    assert.equal(found.index, 1);
    assert.equal(found.route, vs.spec.http![1]);
  });

  void it('stages, re-stages and rolls back the route it picked, leaving the other alone', () => {
    const vs = faultForOneUser();
    const first = deepFreeze(applyStage(vs, edit('http[1]', 10)).vs);
    assert.deepEqual(first.spec.http![0], vs.spec.http![0]);
    assert.deepEqual(
      first.spec.http![1].route!.map((d) => [d.destination.subset, d.weight]),
      [
        ['v1', 90],
        ['v2', 10],
      ],
    );
    const state = readState(first)!;
    assert.equal(state.routeIndex, 1);
    assert.equal(state.routeName, undefined);
    const second = deepFreeze(applyStage(first, edit('http[1]', 50)).vs);
    assert.equal(second.spec.http![1].route![1].weight, 50);
    const restored = restoreOriginal(second, readState(second)!);
    assert.equal(JSON.stringify(restored.spec), JSON.stringify(vs.spec));
  });

  void it('refuses a position past the end, or one another route is named after', () => {
    assert.throws(
      () => findTargetRoute(faultForOneUser(), { route: 'http[2]', stableSubset: 'v1' }),
      userError(/^Input "route": http\[2\] is past the end of .* which has 2 http routes/),
    );
    const clash = vsWith({
      http: [
        { name: 'http[1]', route: [{ destination: { host: 'ratings', subset: 'v1' } }] },
        { route: [{ destination: { host: 'ratings', subset: 'v1' } }] },
      ],
    });
    assert.throws(
      () => findTargetRoute(clash, { route: 'http[1]', stableSubset: 'v1' }),
      userError(/http\[1\] is both the position of route http\[1\] and the name of http\[0\]/),
    );
  });

  void it('picks host canaries and dependents by position too', () => {
    const vs = vsWith({
      http: [
        { match: [{ uri: { prefix: '/a' } }], route: [{ destination: { host: 'ratings' } }] },
        { route: [{ destination: { host: 'ratings' } }] },
      ],
    });
    const found = findHostTargetRoute(vs, {
      route: 'http[1]',
      stableHost: 'ratings',
      canaryHost: 'ratings-canary',
    });
    assert.equal(found.index, 1);
    const [dependent] = parseDependents(
      '- {virtual-service: ratings, stable-subset: v1, canary-subset: v2, route: "http[1]"}',
    );
    assert.equal(dependent.route, 'http[1]');
  });

  void it('refuses input that looks like a position but is not one', () => {
    const read = (inputs: Record<string, string>) => (name: string) => inputs[name];
    const base = {
      'virtual-service': 'ratings',
      'stable-subset': 'v1',
      'canary-subset': 'v2',
      weight: '10',
    };
    assert.equal(parseSettings(read({ ...base, route: 'http[3]' })).route, 'http[3]');
    assert.throws(
      () => parseSettings(read({ ...base, route: 'http[x]' })),
      userError(/^Input "route" "http\[x\]" is neither a route name nor a position/),
    );
    assert.throws(
      () =>
        parseDependents(
          '- {virtual-service: b, stable-subset: v1, canary-subset: v2, route: "http[-1]"}',
        ),
      userError(/^Input "dependents", item 1: route "http\[-1\]" is neither/),
    );
  });
});

void describe('a VirtualService with no http routes', () => {
  void it('says that tcp and tls routes are not supported', () => {
    const tcp = vsWith({
      tcp: [{ route: [{ destination: { host: 'ratings', port: { number: 5432 } } }] }],
    });
    assert.throws(
      () => findTargetRoute(tcp, { stableSubset: 'v1' }),
      userError(
        /^VirtualService "shop\/ratings" has no http routes \(it has 1 tcp only\): a rollout shifts the weights of an http route; tcp and tls routes are not supported$/,
      ),
    );
    assert.throws(
      () => findHostTargetRoute(vsWith({ tls: [{}, {}] }), { stableHost: 'a', canaryHost: 'b' }),
      userError(/\(it has 2 tls only\).*tcp and tls routes are not supported/),
    );
    assert.throws(
      () => findTargetRoute(vsWith({}), { stableSubset: 'v1' }),
      userError(/has no http routes: a rollout shifts/),
    );
  });
});
