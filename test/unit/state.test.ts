import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { findTargetRoute, setCanaryWeight, withRoute } from '../../src/istio/route.ts';
import {
  ANNOTATIONS,
  STATE_PREFIX,
  foreignKeys,
  type RolloutState,
} from '../../src/istio/state/format.ts';
import { locateRoute } from '../../src/istio/state/locate.ts';
import { hasState, readRestorePoint, readState, savedRoute } from '../../src/istio/state/read.ts';
import {
  clearState,
  restoreOriginal,
  stageState,
  writeState,
} from '../../src/istio/state/write.ts';
import type { HTTPRoute, VirtualService } from '../../src/istio/types.ts';
import { deepFreeze, reviewsVs, subsetVs } from '../fixtures/virtualservices.ts';

const T0 = Date.parse('2025-03-04T05:06:07.000Z');
const SUBSETS = { stableSubset: 'v1', canarySubset: 'v2' };

/** One stage the way the rollout runs it: locate (or find), reweight, record the state. */
function stage(vs: VirtualService, weight: number, owner = 'run-1', now = T0): VirtualService {
  const existing = readState(vs);
  const target = existing
    ? { ...locateRoute(vs, existing), host: existing.host }
    : findTargetRoute(vs, SUBSETS);
  const original = existing ? savedRoute(existing) : target.route;
  const route = setCanaryWeight(original, target.route, {
    host: target.host,
    ...SUBSETS,
    weight,
  });
  const state = stageState(vs, existing, {
    route: target.route,
    routeIndex: target.index,
    host: target.host,
    ...SUBSETS,
    weight,
    owner,
    now,
  });
  return deepFreeze(writeState(withRoute(vs, target.index, route), state));
}

function weightsOf(route: HTTPRoute): [string | undefined, number | undefined][] {
  return (route.route ?? []).map((d) => [d.destination.subset, d.weight]);
}

function withAnnotations(vs: VirtualService, annotations: Record<string, string>): VirtualService {
  const copy = structuredClone(vs);
  copy.metadata.annotations = { ...copy.metadata.annotations, ...annotations };
  return deepFreeze(copy);
}

function userError(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

void describe('a rollout of a host-only route, stage by stage', () => {
  const before = reviewsVs();
  const originalText = JSON.stringify(before.spec.http![2]);
  const at10 = stage(before, 10, 'run-1', T0);
  const at50 = stage(at10, 50, 'run-2', T0 + 60_000);
  const at100 = stage(at50, 100, 'run-3', T0 + 120_000);

  void it('splits into two subset copies, then moves the weights', () => {
    assert.deepEqual(weightsOf(at10.spec.http![2]), [
      ['v1', 90],
      ['v2', 10],
    ]);
    assert.deepEqual(weightsOf(at50.spec.http![2]), [
      ['v1', 50],
      ['v2', 50],
    ]);
    assert.deepEqual(weightsOf(at100.spec.http![2]), [['v2', undefined]]);
  });

  void it('touches nothing but the targeted route and its own annotations', () => {
    for (const vs of [at10, at50, at100]) {
      assert.deepEqual(vs.spec.http!.slice(0, 2), before.spec.http!.slice(0, 2));
      assert.deepEqual({ ...vs.spec, http: null }, { ...before.spec, http: null });
      assert.deepEqual(vs.metadata.labels, before.metadata.labels);
      const { annotations, ...meta } = vs.metadata;
      const { annotations: userAnnotations, ...metaBefore } = before.metadata;
      assert.deepEqual(meta, metaBefore);
      const own = Object.entries(annotations!).filter(([key]) => !key.startsWith(STATE_PREFIX));
      assert.deepEqual(Object.fromEntries(own), userAnnotations);
      assert.deepEqual(
        Object.keys(annotations!).slice(0, own.length),
        Object.keys(userAnnotations!),
      );
    }
  });

  void it('saves the original once and never overwrites it', () => {
    for (const vs of [at10, at50, at100]) {
      assert.equal(vs.metadata.annotations![ANNOTATIONS.originalRoute], originalText);
    }
    const last = readState(at100)!;
    assert.equal(last.originalRoute, originalText);
    assert.equal(last.startedAt, '2025-03-04T05:06:07.000Z');
    assert.equal(last.updatedAt, '2025-03-04T05:08:07.000Z');
    assert.equal(last.owner, 'run-3');
    assert.equal(last.weight, 100);
    assert.equal(last.routeIndex, 2);
    assert.equal(last.routeName, 'primary');
  });

  void it('restores the original route byte for byte and removes every trace', () => {
    for (const vs of [at10, at50, at100]) {
      const restored = restoreOriginal(vs, readState(vs)!);
      assert.equal(JSON.stringify(restored.spec.http![2]), originalText);
      assert.equal(JSON.stringify(restored), JSON.stringify(before));
      assert.equal(hasState(restored), false);
    }
  });
});

void describe('a rollout of an unnamed route', () => {
  const before = subsetVs();
  const at10 = stage(before, 10);

  void it('records the index and no name', () => {
    const state = readState(at10)!;
    assert.equal(state.routeIndex, 1);
    assert.equal(state.routeName, undefined);
    assert.equal(ANNOTATIONS.routeName in at10.metadata.annotations!, false);
    assert.equal(state.host, 'ratings.shop.svc.cluster.local');
  });

  void it('restores to an object equal to the one before, without an annotations map', () => {
    const restored = restoreOriginal(at10, readState(at10)!);
    assert.equal('annotations' in restored.metadata, false);
    assert.equal(JSON.stringify(restored), JSON.stringify(before));
  });

  void it('refuses to restore over a route someone inserted in front of it', () => {
    const inserted = structuredClone(at10);
    inserted.spec.http!.splice(1, 0, {
      match: [{ uri: { prefix: '/admin' } }],
      route: [{ destination: { host: 'ratings.shop.svc.cluster.local', subset: 'v1' } }],
    });
    assert.throws(
      () => restoreOriginal(deepFreeze(inserted), readState(at10)!),
      userError(
        /^Route http\[1\] of VirtualService "shop\/ratings" is no longer the route under rollout.*annotation "istio-canary\.dev\/original-route"/,
      ),
    );
  });

  void it('refuses to restore over a route to another host with the same match', () => {
    const inserted = structuredClone(at10);
    inserted.spec.http!.splice(1, 0, { route: [{ destination: { host: 'admin' } }] });
    assert.throws(
      () => locateRoute(deepFreeze(inserted), readState(at10)!),
      userError(/^Route http\[1\] .* is no longer the route under rollout/),
    );
  });

  void it('says so when the saved index is past the end', () => {
    const shorter = structuredClone(at10);
    shorter.spec.http!.splice(0, 2);
    assert.throws(
      () => locateRoute(deepFreeze(shorter), readState(at10)!),
      userError(/was http\[1\] of VirtualService "shop\/ratings", which now has 0 http routes/),
    );
  });
});

void describe('locateRoute and restoreOriginal after the user edited the VirtualService', () => {
  const at10 = stage(reviewsVs(), 10);
  const state = readState(at10)!;

  void it('finds a named route by name after a route was inserted before it', () => {
    const edited = structuredClone(at10);
    const extra = { name: 'health', route: [{ destination: { host: 'health' } }] };
    edited.spec.http!.unshift(extra);
    const frozen = deepFreeze(edited);
    assert.equal(locateRoute(frozen, state).index, 3);
    const restored = restoreOriginal(frozen, state);
    assert.equal(JSON.stringify(restored.spec.http![3]), state.originalRoute);
    assert.deepEqual(restored.spec.http![0], extra);
  });

  void it('restores the saved original even when the user changed the route meanwhile', () => {
    const edited = structuredClone(at10);
    edited.spec.http![2].timeout = '99s';
    delete edited.spec.http![2].retries;
    const restored = restoreOriginal(deepFreeze(edited), state);
    assert.equal(JSON.stringify(restored), JSON.stringify(reviewsVs()));
  });

  void it('keeps other edits elsewhere in the VirtualService', () => {
    const edited = withAnnotations(at10, { 'late.example.com/note': 'added during rollout' });
    const restored = restoreOriginal(edited, state);
    assert.equal(restored.metadata.annotations!['late.example.com/note'], 'added during rollout');
    assert.equal(hasState(restored), false);
  });

  void it('says where the saved route is when the named route is gone', () => {
    const edited = structuredClone(at10);
    edited.spec.http!.splice(2, 1);
    assert.throws(
      () => locateRoute(deepFreeze(edited), state),
      userError(
        /^The http route "primary" under rollout is no longer in VirtualService "shop\/reviews"\. The saved original is in annotation "istio-canary\.dev\/original-route"/,
      ),
    );
  });
});

void describe('stageState and writeState', () => {
  const vs = reviewsVs();
  const input = {
    route: vs.spec.http![2],
    routeIndex: 2,
    host: 'reviews',
    ...SUBSETS,
    weight: 10,
    owner: 'github:123/1',
    now: T0,
  };

  void it('round-trips through the annotations', () => {
    const state = stageState(vs, undefined, input);
    assert.deepEqual(readState(writeState(vs, state)), state);
    const unnamed = { ...state };
    delete unnamed.routeName;
    assert.deepEqual(readState(writeState(vs, unnamed)), unnamed);
  });

  void it('writes one annotation per field, under the prefix', () => {
    const written = writeState(vs, stageState(vs, undefined, input)).metadata.annotations!;
    assert.deepEqual(
      Object.fromEntries(Object.entries(written).filter(([key]) => key.startsWith(STATE_PREFIX))),
      {
        'istio-canary.dev/original-route': JSON.stringify(vs.spec.http![2]),
        'istio-canary.dev/route-index': '2',
        'istio-canary.dev/route-name': 'primary',
        'istio-canary.dev/host': 'reviews',
        'istio-canary.dev/stable-subset': 'v1',
        'istio-canary.dev/canary-subset': 'v2',
        'istio-canary.dev/weight': '10',
        'istio-canary.dev/owner': 'github:123/1',
        'istio-canary.dev/started-at': '2025-03-04T05:06:07.000Z',
        'istio-canary.dev/updated-at': '2025-03-04T05:06:07.000Z',
        'istio-canary.dev/state-version': '1',
      },
    );
  });

  void it('keeps the saved original, index and start time on later stages', () => {
    const first = stageState(vs, undefined, input);
    const later = stageState(vs, first, {
      ...input,
      route: { name: 'primary', route: [] },
      routeIndex: 7,
      weight: 50,
      owner: 'github:124/1',
      now: T0 + 1000,
    });
    assert.deepEqual(later, {
      ...first,
      weight: 50,
      owner: 'github:124/1',
      updatedAt: '2025-03-04T05:06:08.000Z',
    });
  });

  void it('makes a re-run of the same stage change only the owner and time', () => {
    const at10 = stage(vs, 10, 'run-1', T0);
    const again = stage(at10, 10, 'run-2', T0 + 5000);
    assert.deepEqual(again.spec, at10.spec);
    const changed = Object.keys(again.metadata.annotations!).filter(
      (key) => again.metadata.annotations![key] !== at10.metadata.annotations![key],
    );
    assert.deepEqual(changed, [ANNOTATIONS.owner, ANNOTATIONS.updatedAt]);
  });

  void it('refuses a stage of another rollout while one is in progress', () => {
    const first = stageState(vs, undefined, input);
    assert.throws(
      () => stageState(vs, first, { ...input, canarySubset: 'v3' }),
      userError(
        /^VirtualService "shop\/reviews" already has a rollout in progress: subset "v2" over "v1" of host "reviews", at 10% since 2025-03-04T05:06:07\.000Z \(run github:123\/1\)\. Finish it with "promote" or "rollback"/,
      ),
    );
    assert.throws(() => stageState(vs, first, { ...input, host: 'ratings' }), UserError);
  });

  void it('never replaces a saved original with a different one', () => {
    const state = stageState(vs, undefined, input);
    const written = writeState(vs, state);
    const other: RolloutState = { ...state, originalRoute: '{"name":"primary"}' };
    assert.throws(
      () => writeState(written, other),
      /refusing to overwrite the saved original route/,
    );
    assert.deepEqual(readState(writeState(written, { ...state, weight: 20 }))!.weight, 20);
  });

  void it('drops a stale route-name when the state has none', () => {
    const state = stageState(vs, undefined, input);
    const written = writeState(vs, state);
    const unnamed = { ...state };
    delete unnamed.routeName;
    const rewritten = writeState(written, unnamed);
    assert.equal(ANNOTATIONS.routeName in rewritten.metadata.annotations!, false);
  });
});

void describe('readState', () => {
  const valid = stage(reviewsVs(), 10);

  void it('is undefined without rollout annotations', () => {
    assert.equal(readState(reviewsVs()), undefined);
    assert.equal(readState(subsetVs()), undefined);
    assert.equal(readRestorePoint(reviewsVs()), undefined);
    assert.equal(hasState(reviewsVs()), false);
  });

  const malformed: [string, string | undefined, RegExp][] = [
    [
      ANNOTATIONS.weight,
      'abc',
      /"istio-canary\.dev\/weight" must be an integer from 0 to 100, got "abc"/,
    ],
    [ANNOTATIONS.weight, '101', /got "101"/],
    [ANNOTATIONS.weight, '-1', /got "-1"/],
    [ANNOTATIONS.weight, '10.5', /got "10.5"/],
    [
      ANNOTATIONS.canarySubset,
      undefined,
      /"istio-canary\.dev\/canary-subset" must be a subset name, it is missing/,
    ],
    [ANNOTATIONS.stableSubset, 'V1!', /must be a subset name, got "V1!"/],
    [ANNOTATIONS.owner, '', /"istio-canary\.dev\/owner" must be a non-empty string/],
    [ANNOTATIONS.startedAt, 'yesterday', /must be an ISO 8601 time, got "yesterday"/],
    [
      ANNOTATIONS.updatedAt,
      undefined,
      /"istio-canary\.dev\/updated-at" must be a non-empty string, it is missing/,
    ],
  ];
  for (const [key, value, pattern] of malformed) {
    void it(`rejects ${key} = ${JSON.stringify(value)}, pointing at rollback`, () => {
      const broken = structuredClone(valid);
      if (value === undefined) delete broken.metadata.annotations![key];
      else broken.metadata.annotations![key] = value;
      assert.throws(
        () => readState(deepFreeze(broken)),
        userError(
          new RegExp(
            `^VirtualService "shop/reviews" has a malformed rollout state: .*${pattern.source}.*` +
              `Run the "rollback" command .* remove the annotations prefixed istio-canary\\.dev/`,
          ),
        ),
      );
      // A rollback reads only what it needs, so it still works.
      assert.equal(
        readRestorePoint(deepFreeze(broken))!.originalRoute,
        readState(valid)!.originalRoute,
      );
    });
  }

  const unrestorable: [string, string | undefined, RegExp][] = [
    [
      ANNOTATIONS.originalRoute,
      'not json',
      /"istio-canary\.dev\/original-route" must be the JSON of an http route, got "not json"/,
    ],
    [ANNOTATIONS.originalRoute, '[1,2]', /must be the JSON of an http route/],
    [ANNOTATIONS.originalRoute, undefined, /it is missing/],
    [ANNOTATIONS.routeIndex, 'two', /"istio-canary\.dev\/route-index" must be an integer/],
    [
      ANNOTATIONS.routeName,
      '',
      /"istio-canary\.dev\/route-name" must be a non-empty string when present/,
    ],
    [ANNOTATIONS.host, undefined, /"istio-canary\.dev\/host" must be a non-empty string/],
  ];
  for (const [key, value, pattern] of unrestorable) {
    void it(`rejects ${key} = ${JSON.stringify(value)}, asking for a restore by hand`, () => {
      const broken = structuredClone(valid);
      if (value === undefined) delete broken.metadata.annotations![key];
      else broken.metadata.annotations![key] = value;
      const expected = userError(
        new RegExp(
          `${pattern.source}.*"rollback" needs this annotation, so put the original route back by hand`,
        ),
      );
      assert.throws(() => readState(deepFreeze(broken)), expected);
      assert.throws(() => readRestorePoint(deepFreeze(broken)), expected);
    });
  }

  void it('sees no state in a lone key under the prefix that it does not know', () => {
    const odd = withAnnotations(reviewsVs(), { 'istio-canary.dev/something': 'x' });
    assert.equal(hasState(odd), false);
    assert.equal(readState(odd), undefined);
    assert.equal(readRestorePoint(odd), undefined);
    assert.deepEqual(foreignKeys(odd.metadata.annotations), ['istio-canary.dev/something']);
    assert.deepEqual(foreignKeys(stage(reviewsVs(), 10).metadata.annotations), []);
  });

  void it('refuses a state of a newer version, naming it, and reads one without a version as 1', () => {
    const newer = withAnnotations(stage(reviewsVs(), 10), { [ANNOTATIONS.stateVersion]: '2' });
    const expected = userError(
      /^VirtualService "shop\/reviews" carries a rollout state of version 2 \(annotation "istio-canary\.dev\/state-version"\), written by a newer istio-canary; this one reads version 1 and writes nothing from it/,
    );
    assert.throws(() => readState(newer), expected);
    assert.throws(() => readRestorePoint(newer), expected);
    const unversioned = structuredClone(stage(reviewsVs(), 10));
    delete unversioned.metadata.annotations![ANNOTATIONS.stateVersion];
    assert.equal(readState(deepFreeze(unversioned))!.weight, 10);
    const broken = withAnnotations(stage(reviewsVs(), 10), { [ANNOTATIONS.stateVersion]: 'v1' });
    assert.throws(
      () => readRestorePoint(broken),
      userError(
        /"istio-canary\.dev\/state-version" must be a whole number from 1, got "v1".*by hand/,
      ),
    );
  });
});

void describe('clearState', () => {
  void it('removes every annotation of the state, leaves a key it does not know, keeps the order', () => {
    const vs = withAnnotations(stage(reviewsVs(), 10), { 'istio-canary.dev/future-field': 'x' });
    const cleared = clearState(vs);
    assert.deepEqual(cleared.spec, vs.spec);
    assert.equal(hasState(cleared), false);
    const expected = { ...reviewsVs().metadata.annotations, 'istio-canary.dev/future-field': 'x' };
    assert.deepEqual(cleared.metadata.annotations, expected);
    assert.deepEqual(Object.keys(cleared.metadata.annotations ?? {}), Object.keys(expected));
  });

  void it('removes the annotations map when nothing else is in it', () => {
    const cleared = clearState(stage(subsetVs(), 10));
    assert.equal('annotations' in cleared.metadata, false);
  });

  void it('leaves an object without state equal', () => {
    assert.deepEqual(clearState(reviewsVs()), reviewsVs());
    assert.deepEqual(clearState(subsetVs()), subsetVs());
  });
});
