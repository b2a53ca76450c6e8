// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { deriveRoute, placeBefore } from '../../src/istio/added-routes.ts';
import { applyStage, promoteStage } from '../../src/istio/shaped-stage.ts';
import type { StageEdit } from '../../src/istio/shaped-stage.ts';
import { ANNOTATIONS } from '../../src/istio/state/format.ts';
import { locateRoute } from '../../src/istio/state/locate.ts';
import { hasState, readRestorePoint, readState } from '../../src/istio/state/read.ts';
import { restoreOriginal } from '../../src/istio/state/write.ts';
import { testerRoute, testerRouteName } from '../../src/istio/testers.ts';
import type { HTTPRoute, VirtualService } from '../../src/istio/types.ts';
import { deepFreeze, matchedVs, reviewsVs, subsetVs } from '../fixtures/virtualservices.ts';

const T0 = Date.parse('2025-03-04T05:06:07.000Z');
const TESTERS = [{ headers: { canary: { exact: 'canary-tester' } } }];

function edit(overrides: Partial<StageEdit> = {}): StageEdit {
  return {
    target: { kind: 'subsets', stableSubset: 'v1', canarySubset: 'v2' },
    weight: 10,
    owner: 'run-1',
    now: T0,
    ...overrides,
  };
}

/** One stage as the step writes it, frozen like an object read back from the server. */
function stage(vs: VirtualService, overrides: Partial<StageEdit> = {}): VirtualService {
  return deepFreeze(applyStage(vs, edit(overrides)).vs);
}

function names(vs: VirtualService): (string | undefined)[] {
  return (vs.spec.http ?? []).map((r) => r.name);
}

function userError(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

/** The "primary" route of reviewsVs without its own mirror, so a mirroring stage may run. */
function reviewsWithoutMirror(): VirtualService {
  const vs = structuredClone(reviewsVs());
  const primary = vs.spec.http![2];
  delete primary.mirror;
  delete primary.mirrorPercentage;
  return deepFreeze(vs);
}

describe('testerRoute', () => {
  const original = deepFreeze(structuredClone(matchedVs().spec.http![0]));
  const sides = {
    kind: 'subsets',
    host: 'orders',
    stableSubset: 'v1',
    canarySubset: 'v2',
  } as const;

  it('copies the target, replacing name and match, and splits at the tester weight', () => {
    const route = testerRoute(original, original, {
      name: 'api-canary-testers',
      match: TESTERS,
      weight: 100,
      sides,
      targetIndex: 0,
    });
    assert.deepEqual(route, {
      name: 'api-canary-testers',
      match: [
        { headers: { canary: { exact: 'canary-tester' } }, uri: { prefix: '/api/' } },
        { headers: { canary: { exact: 'canary-tester' }, 'x-api': { exact: 'v1' } } },
      ],
      route: [{ destination: { host: 'orders', subset: 'v2', port: { number: 8080 } } }],
      retries: { attempts: 2, perTryTimeout: '1s' },
      timeout: '5s',
    });
    assert.deepEqual(Object.keys(route), Object.keys(original));
  });

  it('sends the tester weight to the canary and the rest to stable', () => {
    const half = testerRoute(original, original, {
      name: 't',
      match: TESTERS,
      weight: 50,
      sides,
      targetIndex: 0,
    });
    assert.deepEqual(
      half.route?.map((d) => [d.destination.subset, d.weight]),
      [
        ['v1', 50],
        ['v2', 50],
      ],
    );
  });

  it('names routes after the target, or its position when unnamed', () => {
    assert.equal(testerRouteName({ name: 'api' }, 4), 'api-canary-testers');
    assert.equal(testerRouteName({}, 2), 'http-2-canary-testers');
  });

  it('puts name and match first on a route that has neither', () => {
    const route = deriveRoute({ route: [], timeout: '1s' }, 'n', [{ port: 80 }]);
    assert.deepEqual(Object.keys(route), ['name', 'match', 'route', 'timeout']);
  });
});

describe('applyStage with a tester route', () => {
  it('inserts the tester route right before a named target and records it', () => {
    const at10 = stage(reviewsVs(), { testers: { match: TESTERS, weight: 100 } });
    assert.deepEqual(names(at10), ['tester', 'legacy', 'primary-canary-testers', 'primary']);
    const tester = at10.spec.http![2];
    assert.deepEqual(tester.match, TESTERS);
    assert.deepEqual(tester.route, [
      {
        destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } },
        headers: { request: { set: { 'x-routed-by': 'mesh' } } },
      },
    ]);
    // The user's own fields come along, their own mirror included.
    assert.equal(tester.timeout, '10s');
    assert.deepEqual(tester.mirror, reviewsVs().spec.http![2].mirror);
    assert.equal(at10.metadata.annotations![ANNOTATIONS.addedRoutes], '["primary-canary-testers"]');
    assert.equal(readState(at10)!.routeIndex, 2, 'the saved index counts user routes only');
  });

  it('updates the tester route in place on later stages and re-runs', () => {
    const first = stage(reviewsVs(), { testers: { match: TESTERS, weight: 50 } });
    const later = stage(first, {
      weight: 25,
      testers: { match: TESTERS, weight: 100 },
      now: T0 + 1,
    });
    assert.deepEqual(names(later), names(first));
    assert.deepEqual(
      later.spec.http![2].route!.map((d) => d.destination.subset),
      ['v2'],
    );
    assert.deepEqual(
      later.spec.http![3].route!.map((d) => d.weight),
      [75, 25],
    );
    const again = stage(later, {
      weight: 25,
      testers: { match: TESTERS, weight: 100 },
      now: T0 + 1,
    });
    assert.deepEqual(again, later);
  });

  it('removes the tester route when a later stage has none', () => {
    const first = stage(reviewsVs(), { testers: { match: TESTERS, weight: 100 } });
    const later = stage(first, { weight: 50 });
    assert.deepEqual(names(later), ['tester', 'legacy', 'primary']);
    assert.equal(ANNOTATIONS.addedRoutes in later.metadata.annotations!, false);
  });

  it('finds an unnamed target past its tester route, by the saved index', () => {
    const first = stage(subsetVs(), { testers: { match: TESTERS, weight: 100 } });
    assert.deepEqual(names(first), [undefined, 'http-1-canary-testers', undefined]);
    const point = readRestorePoint(first)!;
    assert.equal(point.routeIndex, 1);
    assert.equal(locateRoute(first, point).index, 2);
    const later = stage(first, { weight: 40, testers: { match: TESTERS, weight: 100 } });
    assert.deepEqual(names(later), names(first));
    assert.deepEqual(
      later.spec.http![2].route!.map((d) => d.weight),
      [60, 40],
    );
  });

  it('ANDs the tester match with the match of a target that has one', () => {
    const vs = stage(matchedVs(), {
      target: { kind: 'subsets', route: 'api', stableSubset: 'v1', canarySubset: 'v2' },
      testers: { match: [{ uri: { prefix: '/api/v2/' } }], weight: 100 },
    });
    assert.deepEqual(vs.spec.http![0].match, [
      { uri: { prefix: '/api/v2/' } },
      { uri: { prefix: '/api/v2/' }, headers: { 'x-api': { exact: 'v1' } } },
    ]);
  });

  it('refuses a route name someone else already uses', () => {
    const vs = structuredClone(reviewsVs());
    vs.spec.http![0].name = 'primary-canary-testers';
    assert.throws(
      () => stage(deepFreeze(vs), { testers: { match: TESTERS, weight: 100 } }),
      userError(/already has an http route named "primary-canary-testers"/),
    );
  });
});

describe('applyStage with mirroring', () => {
  it('sets mirror and mirrorPercentage to the canary and leaves the weights alone', () => {
    const at0 = stage(reviewsWithoutMirror(), { weight: 0, mirrorPercent: 20 });
    const primary = at0.spec.http![2];
    assert.deepEqual(
      primary.route!.map((d) => [d.destination.subset, d.weight]),
      [['v1', undefined]],
    );
    assert.deepEqual(primary.mirror, { host: 'reviews', subset: 'v2', port: { number: 9080 } });
    assert.deepEqual(primary.mirrorPercentage, { value: 20 });
    assert.deepEqual(readState(at0)!.mirror, {
      mirror: { host: 'reviews', subset: 'v2', port: { number: 9080 } },
      mirrorPercentage: { value: 20 },
    });
  });

  it('moves the mirror with later stages and drops it when they stop mirroring', () => {
    const at0 = stage(reviewsWithoutMirror(), { weight: 0, mirrorPercent: 20 });
    const at5 = stage(at0, { weight: 5, mirrorPercent: 50 });
    assert.deepEqual(at5.spec.http![2].mirrorPercentage, { value: 50 });
    const at10 = stage(at5, { weight: 10 });
    assert.equal('mirror' in at10.spec.http![2], false);
    assert.equal('mirrorPercentage' in at10.spec.http![2], false);
    assert.equal(readState(at10)!.mirror, undefined);
  });

  it("refuses a route that mirrors already: that mirror is the user's", () => {
    assert.throws(
      () => stage(reviewsVs(), { weight: 0, mirrorPercent: 20 }),
      userError(
        /^Input "mirror-percent": Route "primary" of VirtualService "shop\/reviews" already mirrors its traffic \(mirror: \{"host":"reviews-shadow".*mirrorPercentage: \{"value":5\}\); mirroring to the canary would overwrite it/,
      ),
    );
  });

  it('does not copy its own mirror into the tester route', () => {
    const vs = stage(reviewsWithoutMirror(), {
      weight: 0,
      mirrorPercent: 10,
      testers: { match: TESTERS, weight: 100 },
    });
    assert.equal('mirror' in vs.spec.http![2], false);
    assert.deepEqual(vs.spec.http![3].mirrorPercentage, { value: 10 });
  });
});

describe('rollback and promote after traffic shaping', () => {
  const shaped: [string, () => VirtualService, Partial<StageEdit>][] = [
    [
      'named target, tester route and mirror',
      reviewsWithoutMirror,
      { weight: 0, mirrorPercent: 15, testers: { match: TESTERS, weight: 50 } },
    ],
    ['unnamed target with a tester route', subsetVs, { testers: { match: TESTERS, weight: 100 } }],
    [
      'target with its own match',
      matchedVs,
      {
        target: { kind: 'subsets', route: 'api', stableSubset: 'v1', canarySubset: 'v2' },
        testers: { match: TESTERS, weight: 100 },
        mirrorPercent: 100,
      },
    ],
  ];
  for (const [label, fixture, overrides] of shaped) {
    it(`restores the VirtualService byte for byte: ${label}`, () => {
      const before = fixture();
      let vs = stage(before, overrides);
      vs = stage(vs, { ...overrides, weight: 50, now: T0 + 1000 });
      assert.notEqual(JSON.stringify(vs), JSON.stringify(before));
      const restored = restoreOriginal(vs, readRestorePoint(vs)!);
      assert.equal(JSON.stringify(restored), JSON.stringify(before));
      assert.equal(hasState(restored), false);
    });
  }

  it('keeps routes the user added during the rollout, in front of a named target or behind an unnamed one', () => {
    const extra: HTTPRoute = { name: 'maintenance', directResponse: { status: 503 } };
    const named = structuredClone(stage(reviewsVs(), { testers: { match: TESTERS, weight: 100 } }));
    named.spec.http!.unshift(extra);
    const unnamed = structuredClone(
      stage(subsetVs(), { testers: { match: TESTERS, weight: 100 } }),
    );
    unnamed.spec.http!.push(extra);
    for (const [vs, fixture, at] of [
      [named, reviewsVs(), 0],
      [unnamed, subsetVs(), 2],
    ] as const) {
      const restored = restoreOriginal(deepFreeze(vs), readRestorePoint(vs)!);
      const expected = structuredClone(fixture);
      expected.spec.http!.splice(at, 0, extra);
      assert.equal(JSON.stringify(restored), JSON.stringify(expected));
    }
  });

  it('promotes: one destination to the canary, inserted routes and our mirror gone', () => {
    const vs = stage(reviewsWithoutMirror(), {
      weight: 30,
      mirrorPercent: 10,
      testers: { match: TESTERS, weight: 100 },
      dependents: [{ namespace: 'shop', name: 'backend' }],
    });
    const result = promoteStage(vs)!;
    assert.deepEqual(result.dependents, [{ namespace: 'shop', name: 'backend' }]);
    const expected = structuredClone(reviewsWithoutMirror());
    expected.spec.http![2].route = [
      {
        destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } },
        headers: { request: { set: { 'x-routed-by': 'mesh' } } },
      },
    ];
    assert.equal(JSON.stringify(result.vs), JSON.stringify(expected));
  });

  it('promotes an unnamed target behind its tester route', () => {
    const vs = stage(subsetVs(), { testers: { match: TESTERS, weight: 100 } });
    const promoted = promoteStage(vs)!.vs;
    assert.deepEqual(names(promoted), [undefined, undefined]);
    assert.deepEqual(promoted.spec.http![1].route, [
      { destination: { host: 'ratings.shop.svc.cluster.local', subset: 'v2' } },
    ]);
    assert.equal(promoted.spec.http![1].retries !== undefined, true);
    assert.equal('annotations' in promoted.metadata, false);
  });

  it('promote is undefined without a rollout', () => {
    assert.equal(promoteStage(reviewsVs()), undefined);
  });

  it('keeps the recorded dependents across stages that do not restate them', () => {
    const first = stage(reviewsVs(), { dependents: [{ namespace: 'shop', name: 'backend' }] });
    const later = stage(first, { weight: 20 });
    assert.deepEqual(readRestorePoint(later)!.dependents, [{ namespace: 'shop', name: 'backend' }]);
    assert.equal(
      later.metadata.annotations![ANNOTATIONS.dependents],
      '[{"namespace":"shop","name":"backend"}]',
    );
  });
});

describe('placeBefore', () => {
  it('replaces the previous route wherever it was and inserts before the target', () => {
    const vs = deepFreeze({
      ...structuredClone(reviewsVs()),
    });
    const withOld = placeBefore(vs, 2, { name: 'old', route: [] }, []).vs;
    assert.deepEqual(names(withOld), ['tester', 'legacy', 'old', 'primary']);
    const placed = placeBefore(withOld, 3, { name: 'new', route: [] }, ['old']);
    assert.deepEqual(names(placed.vs), ['tester', 'legacy', 'new', 'primary']);
    assert.equal(placed.targetIndex, 3);
    assert.throws(() => placeBefore(vs, 9, { name: 'x' }, []), RangeError);
  });
});
