// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.ts';
import {
  assertNoUserMirror,
  clearMirror,
  mirrorFields,
  mirrorKeysOf,
  parseMirrorPercent,
  setMirror,
} from '../../src/istio/mirror.ts';
import {
  ANNOTATIONS,
  CALLER_ROUTES_ANNOTATION,
  type RolloutState,
} from '../../src/istio/state/format.ts';
import { userRouteIndex } from '../../src/istio/state/locate.ts';
import { hasState, readRestorePoint, readState } from '../../src/istio/state/read.ts';
import {
  clearState,
  stageState,
  withShaping,
  writeCallerRoutes,
  writeState,
} from '../../src/istio/state/write.ts';
import type { HTTPRoute, VirtualService } from '../../src/istio/types.ts';
import { deepFreeze, reviewsVs, subsetVs } from '../fixtures/virtualservices.ts';

const MIRROR = mirrorFields({ host: 'reviews', subset: 'v2' }, 10);

function firstState(vs: VirtualService): RolloutState {
  return stageState(vs, undefined, {
    route: vs.spec.http![2],
    routeIndex: 2,
    host: 'reviews',
    stableSubset: 'v1',
    canarySubset: 'v2',
    weight: 10,
    owner: 'run-1',
    now: 0,
  });
}

function withAnnotation(vs: VirtualService, key: string, value: string): VirtualService {
  const copy = structuredClone(vs);
  copy.metadata.annotations = { ...copy.metadata.annotations, [key]: value };
  return deepFreeze(copy);
}

describe('state of traffic shaping', () => {
  const shaped = withShaping(firstState(reviewsVs()), {
    addedRoutes: ['primary-canary-testers'],
    dependents: [{ namespace: 'shop', name: 'backend' }],
    mirror: MIRROR,
  });

  it('round-trips added routes, dependents and the mirror through the annotations', () => {
    const written = writeState(reviewsVs(), shaped);
    const annotations = written.metadata.annotations!;
    assert.equal(annotations[ANNOTATIONS.addedRoutes], '["primary-canary-testers"]');
    assert.equal(annotations[ANNOTATIONS.dependents], '[{"namespace":"shop","name":"backend"}]');
    assert.equal(
      annotations[ANNOTATIONS.mirror],
      '{"mirror":{"host":"reviews","subset":"v2"},"mirrorPercentage":{"value":10}}',
    );
    assert.deepEqual(readState(written), shaped);
    assert.deepEqual(readRestorePoint(written)!.addedRoutes, ['primary-canary-testers']);
  });

  it('removes the annotations of fields a later state no longer has', () => {
    const written = writeState(reviewsVs(), shaped);
    const plain = withShaping(shaped, {});
    const rewritten = writeState(deepFreeze(written), plain);
    for (const key of [ANNOTATIONS.addedRoutes, ANNOTATIONS.dependents, ANNOTATIONS.mirror]) {
      assert.equal(key in rewritten.metadata.annotations!, false, key);
    }
    assert.deepEqual(readState(rewritten), plain);
  });

  const damaged: [string, string, RegExp][] = [
    [
      ANNOTATIONS.addedRoutes,
      '"x"',
      /added-routes" must be a JSON list of route names, got "\\"x\\""/,
    ],
    [ANNOTATIONS.addedRoutes, '[""]', /added-routes" must be a JSON list of route names/],
    [
      ANNOTATIONS.dependents,
      '[{"name":"b"}]',
      /dependents" must be a JSON list of \{namespace, name\}/,
    ],
  ];
  for (const [key, value, pattern] of damaged) {
    it(`asks for a restore by hand when ${key} is ${value}`, () => {
      const vs = withAnnotation(writeState(reviewsVs(), shaped), key, value);
      assert.throws(
        () => readRestorePoint(vs),
        (error: unknown) =>
          error instanceof UserError &&
          pattern.test(error.message) &&
          /"rollback" needs this annotation/.test(error.message),
      );
    });
  }

  it('reports a damaged mirror annotation without blocking a rollback', () => {
    const vs = withAnnotation(writeState(reviewsVs(), shaped), ANNOTATIONS.mirror, '{"mirror":1}');
    assert.throws(() => readState(vs), /mirror" must be the JSON of \{mirror, mirrorPercentage\}/);
    assert.deepEqual(readRestorePoint(vs)!.addedRoutes, ['primary-canary-testers']);
  });
});

describe('caller routes recorded on a dependent', () => {
  it('are not part of its own rollout state', () => {
    const vs = deepFreeze(writeCallerRoutes(subsetVs(), 'shop/frontend', ['x-canary-callers']));
    assert.equal(hasState(vs), false);
    assert.equal(readState(vs), undefined);
    assert.equal(
      vs.metadata.annotations![CALLER_ROUTES_ANNOTATION],
      '{"shop/frontend":["x-canary-callers"]}',
    );
  });

  it('survive clearState, which removes everything else under the prefix', () => {
    const pinned = deepFreeze(writeCallerRoutes(reviewsVs(), 'shop/frontend', ['c']));
    const staged = writeState(pinned, firstState(pinned));
    assert.deepEqual(clearState(staged), pinned);
  });

  it('go away with the last owner, and the annotations map with them', () => {
    const vs = deepFreeze(writeCallerRoutes(subsetVs(), 'shop/frontend', ['c']));
    assert.deepEqual(writeCallerRoutes(vs, 'shop/frontend', []), subsetVs());
  });

  it('do not count in the saved route index', () => {
    const vs = structuredClone(subsetVs());
    // Named as pinCallers names them: a recorded name without the suffix hides nothing.
    const name = 'http-1-canary-callers';
    vs.spec.http!.unshift({ name, route: [{ destination: { host: 'ratings' } }] });
    const pinned = deepFreeze(writeCallerRoutes(vs, 'shop/frontend', [name]));
    assert.equal(userRouteIndex(pinned, 2, []), 1);
    assert.equal(userRouteIndex(pinned, 2, ['http-0-x']), 1);
    assert.equal(userRouteIndex(subsetVs(), 1, []), 1);
  });
});

describe('mirror fields', () => {
  const route: HTTPRoute = deepFreeze({
    name: 'r',
    route: [{ destination: { host: 'reviews', subset: 'v1' } }],
  });

  it('parses mirror-percent, with decimals; empty or 0 is no mirroring', () => {
    assert.equal(parseMirrorPercent('10'), 10);
    assert.equal(parseMirrorPercent(' 0.5 '), 0.5);
    assert.equal(parseMirrorPercent('100'), 100);
    assert.equal(parseMirrorPercent(''), undefined);
    assert.equal(parseMirrorPercent('0'), undefined);
    for (const bad of ['101', '-1', 'ten', '1e1', '5%']) {
      assert.throws(
        () => parseMirrorPercent(bad),
        /^UserError: Input "mirror-percent" must be a percent/,
      );
    }
  });

  it('sets and clears the mirror without touching the weights', () => {
    const set = setMirror(route, route, MIRROR, 'Route "r"');
    assert.deepEqual(set.route, route.route);
    assert.deepEqual(set.mirror, { host: 'reviews', subset: 'v2' });
    assert.deepEqual(clearMirror(deepFreeze(set), MIRROR), route);
    assert.deepEqual(clearMirror(deepFreeze(set), undefined), set);
    assert.throws(() => mirrorFields({ host: 'h' }, 0), RangeError);
  });

  it('keeps a mirror someone pointed elsewhere since: it is theirs', () => {
    const theirs = { ...setMirror(route, route, MIRROR, 'r'), mirror: { host: 'audit' } };
    assert.deepEqual(clearMirror(deepFreeze(theirs), MIRROR), theirs);
  });

  it('sees every form of a user mirror', () => {
    assert.deepEqual(mirrorKeysOf({ mirrors: [{ destination: { host: 'a' } }] }), ['mirrors']);
    assert.deepEqual(mirrorKeysOf({ mirror_percent: 5 }), ['mirror_percent']);
    assert.throws(
      () => assertNoUserMirror({ mirrors: [] }, 'Route "r"'),
      /^UserError: Input "mirror-percent": Route "r" already mirrors its traffic \(mirrors: \[\]\)/,
    );
  });
});
