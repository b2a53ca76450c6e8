import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pinCallers, unpinCallers } from '../../src/istio/dependents.ts';
import {
  applyStage,
  promoteStage,
  rollbackStage,
  type StageEdit,
} from '../../src/istio/shaped-stage.ts';
import { ANNOTATIONS, CALLER_ROUTES_ANNOTATION } from '../../src/istio/state/format.ts';
import { StateMismatchError } from '../../src/istio/state/mismatch.ts';
import { readRestorePoint } from '../../src/istio/state/read.ts';
import { checkState } from '../../src/istio/state/verify.ts';
import { restoreOriginal } from '../../src/istio/state/write.ts';
import type { HTTPRoute, VirtualService } from '../../src/istio/types.ts';
import {
  ambiguousVs,
  backendVs,
  deepFreeze,
  hostsVs,
  matchedVs,
  reviewsVs,
  subsetVs,
} from '../fixtures/virtualservices.ts';

const TESTERS = [{ headers: { canary: { exact: 'canary-tester' } } }];
const SUBSETS = { kind: 'subsets', stableSubset: 'v1', canarySubset: 'v2' } as const;
const OUTSIDE = { host: 'collector.attacker.example', port: { number: 443 } };

function stage(vs: VirtualService, overrides: Partial<StageEdit> = {}): VirtualService {
  const edit: StageEdit = { target: SUBSETS, weight: 10, owner: 'run-1', now: 0, ...overrides };
  return deepFreeze(applyStage(vs, edit).vs);
}

/** `vs` with `annotations` merged in, the way anyone with edit rights could write them. */
function planted(vs: VirtualService, annotations: Record<string, string>): VirtualService {
  const copy = structuredClone(vs);
  copy.metadata.annotations = { ...copy.metadata.annotations, ...annotations };
  return deepFreeze(copy);
}

/** `vs` with its route `index` changed by `change`. */
function edited(vs: VirtualService, index: number, change: (r: HTTPRoute) => void): VirtualService {
  const copy = structuredClone(vs);
  change(copy.spec.http![index]);
  return deepFreeze(copy);
}

function refused(...patterns: RegExp[]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(
      error instanceof StateMismatchError,
      `expected a StateMismatchError, got ${String(error)}`,
    );
    assert.match(error.message, /^Nothing was written: the rollout state on VirtualService /);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  };
}

/** The "primary" route of reviewsVs without its own mirror, so that a stage may mirror. */
function reviewsWithoutMirror(): VirtualService {
  return edited(reviewsVs(), 2, (r) => {
    delete r.mirror;
    delete r.mirrorPercentage;
  });
}

/** A state on `reviewsVs` at 10% whose saved original is the user's route plus `extra`. */
function withPlantedOriginal(extra: Record<string, unknown>): VirtualService {
  const at10 = stage(reviewsWithoutMirror());
  const saved = JSON.parse(at10.metadata.annotations![ANNOTATIONS.originalRoute]) as object;
  return planted(at10, { [ANNOTATIONS.originalRoute]: JSON.stringify({ ...saved, ...extra }) });
}

describe('checkState on states the stages wrote', () => {
  const cases: [string, () => VirtualService, Partial<StageEdit>][] = [
    ['a named route with its own mirror', reviewsVs, {}],
    [
      'a tester route and a mirror of ours',
      reviewsWithoutMirror,
      { weight: 0, mirrorPercent: 15, testers: { match: TESTERS, weight: 50 } },
    ],
    [
      'an unnamed route after a tester route',
      subsetVs,
      { testers: { match: TESTERS, weight: 100 } },
    ],
    [
      'a route with its own match',
      matchedVs,
      {
        target: { ...SUBSETS, route: 'api' },
        testers: { match: TESTERS, weight: 100 },
        mirrorPercent: 100,
      },
    ],
    [
      'a host canary',
      hostsVs,
      {
        target: { kind: 'hosts', stableHost: 'cart-stable', canaryHost: 'cart-canary' },
        testers: { match: TESTERS, weight: 100 },
      },
    ],
  ];
  for (const [label, fixture, overrides] of cases) {
    it(`explains every stage: ${label}`, () => {
      let vs = fixture();
      for (const weight of [10, 50, 100]) {
        vs = stage(vs, { ...overrides, weight: overrides.weight === 0 ? 0 : weight });
        for (const purpose of ['restore', 'promote'] as const) {
          const checked = checkState(vs, purpose)!;
          assert.equal(checked.route, vs.spec.http![checked.index]);
        }
        assert.equal(
          JSON.stringify(rollbackStage(vs)!.vs),
          JSON.stringify(fixture()),
          'and the checked rollback restores it byte for byte',
        );
      }
    });
  }

  it('is undefined without a state', () => {
    assert.equal(checkState(reviewsVs(), 'restore'), undefined);
    assert.equal(rollbackStage(reviewsVs()), undefined);
  });

  it('explains a route someone already put back to the saved original, and only clears the state', () => {
    const at10 = stage(reviewsVs(), { testers: { match: TESTERS, weight: 100 } });
    const synced = structuredClone(at10);
    synced.spec = structuredClone(reviewsVs().spec);
    const restored = rollbackStage(deepFreeze(synced))!.vs;
    assert.equal(JSON.stringify(restored), JSON.stringify(reviewsVs()));
  });

  it('reads the weight off the route when only the weight annotation is damaged', () => {
    const at30 = planted(stage(reviewsVs(), { weight: 30 }), { [ANNOTATIONS.weight]: 'lots' });
    assert.equal(JSON.stringify(rollbackStage(at30)!.vs), JSON.stringify(reviewsVs()));
  });
});

describe('checkState refuses what the state does not explain', () => {
  it('a saved original that mirrors all traffic to an outside host', () => {
    const vs = withPlantedOriginal({ mirror: OUTSIDE, mirrorPercentage: { value: 100 } });
    const expected = refused(
      /route "primary", field "mirror": the VirtualService has nothing; the saved original at 10% \(v1 -> v2\) gives \{"host":"collector\.attacker\.example"/,
      /field "mirrorPercentage": the VirtualService has nothing; .* gives \{"value":100\}/,
    );
    assert.throws(() => rollbackStage(vs), expected);
    assert.throws(() => checkState(vs, 'promote'), expected);
    assert.throws(() => stage(vs, { weight: 50 }), expected);
  });

  it('a saved original that sends its traffic elsewhere than the stable side', () => {
    const vs = withPlantedOriginal({
      route: [{ destination: { host: 'collector.attacker.example' } }],
    });
    assert.throws(
      () => rollbackStage(vs),
      refused(
        /the saved original \(annotation "istio-canary\.dev\/original-route"\): is not a route a rollout from v1 -> v2 starts from: its destinations are "collector\.attacker\.example"/,
      ),
    );
  });

  it("a saved original with a field the route does not have, for a restore; a promote keeps the route's own", () => {
    const vs = withPlantedOriginal({
      fault: { abort: { percentage: { value: 100 }, httpStatus: 503 } },
    });
    assert.throws(
      () => rollbackStage(vs),
      refused(/route "primary", field "fault": the VirtualService has \{"delay"/),
    );
    const promoted = promoteStage(vs)!.vs;
    assert.deepEqual(promoted.spec.http![2].fault, reviewsVs().spec.http![2].fault);
  });

  it('a user edit of the route since the stage, for a restore (the edit would be lost); not for a promote', () => {
    const at10 = stage(reviewsVs());
    const vs = edited(at10, 2, (r) => (r.timeout = '99s'));
    assert.throws(
      () => rollbackStage(vs),
      refused(
        /route "primary", field "timeout": the VirtualService has "99s"; the saved original at 10% \(v1 -> v2\) gives "10s"/,
      ),
    );
    assert.equal(promoteStage(vs)!.vs.spec.http![2].timeout, '99s');
  });

  it('destinations the stage did not write', () => {
    const vs = edited(stage(reviewsVs()), 2, (r) => (r.route![1].destination.host = 'elsewhere'));
    assert.throws(() => checkState(vs, 'promote'), refused(/field "route": .*"elsewhere"/));
  });

  it('a planted state on a VirtualService with no rollout that claims two of its routes', () => {
    const at0 = stage(reviewsVs(), { weight: 0 });
    const vs = planted(reviewsVs(), {
      ...Object.fromEntries(
        Object.entries(at0.metadata.annotations!).filter(([k]) => k.startsWith('istio-canary')),
      ),
      [ANNOTATIONS.originalRoute]: JSON.stringify(reviewsVs().spec.http![2]),
      [ANNOTATIONS.addedRoutes]: '["tester","legacy"]',
    });
    assert.throws(
      () => rollbackStage(vs),
      refused(
        /annotation "istio-canary\.dev\/added-routes": names "tester", "legacy"; the state records no tester route \(annotation "istio-canary\.dev\/testers"\), so the rollout inserted none/,
      ),
    );
  });

  it('a tester route that is not the one the rollout inserts', () => {
    const at10 = stage(reviewsVs(), { testers: { match: TESTERS, weight: 100 } });
    // Someone widened it to catch every request.
    const vs = edited(at10, 2, (r) => delete r.match);
    assert.throws(
      () => rollbackStage(vs),
      refused(
        /route "primary-canary-testers" \(annotation "istio-canary\.dev\/added-routes"\): the VirtualService has \{"name":"primary-canary-testers","route".*; the tester route rebuilt from the saved original and annotation "istio-canary\.dev\/testers" gives \{"name":"primary-canary-testers","match"/,
      ),
    );
  });

  it('an added route named after another route than the target', () => {
    const at10 = stage(reviewsVs(), { testers: { match: TESTERS, weight: 100 } });
    const vs = planted(at10, { [ANNOTATIONS.addedRoutes]: '["primary-canary-testers","legacy"]' });
    assert.throws(
      () => stage(vs, { weight: 20, testers: { match: TESTERS, weight: 100 } }),
      refused(
        /names "primary-canary-testers", "legacy"; the tester route of this rollout is "primary-canary-testers"/,
      ),
    );
  });

  it("a recorded mirror that is not the canary: a stage would remove the user's own mirror", () => {
    const vs = planted(stage(reviewsWithoutMirror()), {
      [ANNOTATIONS.mirror]: JSON.stringify({ mirror: OUTSIDE, mirrorPercentage: { value: 5 } }),
    });
    assert.throws(
      () => rollbackStage(vs),
      refused(
        /annotation "istio-canary\.dev\/mirror": mirrors to \{"host":"collector\.attacker\.example".*; a rollout mirrors only to the canary, \{"host":"reviews","subset":"v2"/,
      ),
    );
  });

  it('a route name the saved original does not have', () => {
    const vs = planted(stage(reviewsVs()), { [ANNOTATIONS.routeName]: 'legacy' });
    assert.throws(
      () => rollbackStage(vs),
      refused(/is named "primary", but annotation "istio-canary\.dev\/route-name" says "legacy"/),
    );
  });

  it('subsets it cannot read', () => {
    const vs = planted(stage(reviewsVs()), { [ANNOTATIONS.canarySubset]: 'V2!' });
    assert.throws(
      () => rollbackStage(vs),
      refused(/annotation "istio-canary\.dev\/canary-subset": cannot be read/),
    );
  });

  it('a route that is gone, with the reason', () => {
    const vs = edited(stage(subsetVs()), 1, (r) => (r.match = [{ uri: { prefix: '/x' } }]));
    assert.throws(
      () => rollbackStage(vs),
      refused(
        /the route under rollout: Route http\[1\] of VirtualService "shop\/ratings" is no longer the route under rollout/,
      ),
    );
  });

  it('a state written before tester routes were recorded, unless the inputs give the tester match', () => {
    const at10 = structuredClone(stage(reviewsVs(), { testers: { match: TESTERS, weight: 100 } }));
    delete at10.metadata.annotations![ANNOTATIONS.testers];
    const legacy = deepFreeze(at10);
    assert.throws(() => rollbackStage(legacy), refused(/records no tester route/));
    const restored = rollbackStage(legacy, { testers: { match: TESTERS, weight: 100 } })!.vs;
    assert.equal(JSON.stringify(restored), JSON.stringify(reviewsVs()));
  });
});

describe('checkState and the inputs', () => {
  const at10 = stage(reviewsVs());
  const disagreeing: [string, object, RegExp][] = [
    [
      'route',
      { route: 'legacy' },
      /input "route": is "legacy"; annotation "istio-canary\.dev\/route-name" says "primary"/,
    ],
    [
      'host',
      { host: 'ratings' },
      /input "host": is "ratings"; annotation "istio-canary\.dev\/host" says "reviews"/,
    ],
    [
      'stable-subset',
      { stableSubset: 'v0' },
      /input "stable-subset": is "v0"; annotation "istio-canary\.dev\/stable-subset" says "v1"/,
    ],
    ['canary-subset', { canarySubset: 'v3' }, /input "canary-subset": is "v3"/],
    [
      'canary-host',
      { canaryHost: 'reviews-next' },
      /input "canary-host": is "reviews-next"; the rollout in progress is between two subsets/,
    ],
    [
      'dependents',
      { dependents: [{ namespace: 'shop', name: 'ratings' }] },
      /input "dependents": names "shop\/ratings"; annotation "istio-canary\.dev\/dependents" says "shop\/backend"/,
    ],
  ];
  const withDependents = stage(reviewsVs(), {
    dependents: [{ namespace: 'shop', name: 'backend' }],
  });
  for (const [input, inputs, pattern] of disagreeing) {
    it(`refuses input "${input}" that names another rollout`, () => {
      const vs = input === 'dependents' ? withDependents : at10;
      assert.throws(
        () => rollbackStage(vs, inputs),
        refused(
          /disagrees with the inputs/,
          pattern,
          /If an input is wrong, run again with the inputs of that rollout/,
        ),
      );
    });
  }

  it('accepts inputs that agree, however the host is written', () => {
    const inputs = {
      route: 'primary',
      host: 'reviews.shop.svc.cluster.local',
      stableSubset: 'v1',
      canarySubset: 'v2',
    };
    assert.ok(checkState(at10, 'restore', inputs));
    const hosts = stage(hostsVs(), {
      target: { kind: 'hosts', stableHost: 'cart-stable', canaryHost: 'cart-canary' },
    });
    assert.ok(
      checkState(hosts, 'promote', { stableHost: 'cart-stable.shop', canaryHost: 'cart-canary' }),
    );
    assert.throws(
      () => checkState(hosts, 'promote', { canaryHost: 'cart-next' }),
      refused(/input "canary-host": is "cart-next"/),
    );
  });
});

describe('what a refusal shows', () => {
  it('escapes what a terminal or log would act on, cuts long values, and names exactly our annotations', () => {
    const vs = planted(
      withPlantedOriginal({
        mirror: { host: `evil\u001b[2J\u202e${'x'.repeat(400)}` },
        mirrorPercentage: { value: 100 },
      }),
      { 'istio-canary.dev/reviewed-by': 'platform-team' },
    );
    let message = '';
    try {
      rollbackStage(vs);
    } catch (error) {
      message = (error as Error).message;
    }
    assert.match(message, /evil\\u001b\[2J\\u202ex{100}/);
    assert.ok(!message.includes('\u001b') && !message.includes('\u202e'), 'no raw escape');
    assert.match(message, /\.\.\. \(\d+ more characters\)/);
    for (const line of message.split('\n')) assert.ok(line.length < 1100, line.slice(0, 80));
    const command = message.split('\n').find((l) => l.includes('kubectl -n shop annotate'))!;
    const keys = command.trim().split(' ').slice(6);
    const ours = Object.keys(vs.metadata.annotations!).filter((k) =>
      Object.values(ANNOTATIONS).includes(k as never),
    );
    assert.deepEqual(
      keys,
      ours.map((k) => `${k}-`),
    );
    assert.ok(!command.includes('reviewed-by'), 'a key it does not know is left alone');
    assert.match(message, /kubectl -n shop edit virtualservice reviews/);
  });

  it('names the dependents whose caller routes are left to remove by hand', () => {
    const vs = planted(
      stage(reviewsVs(), { dependents: [{ namespace: 'shop', name: 'backend' }] }),
      {
        [ANNOTATIONS.routeName]: 'legacy',
      },
    );
    assert.throws(
      () => rollbackStage(vs),
      refused(
        /dependents \("shop\/backend"\): on each, remove the caller routes recorded under "shop\/reviews" in annotation "istio-canary\.dev\/caller-routes"/,
      ),
    );
  });

  it('is skipped for a state the job wrote itself, so its own stage always comes back', () => {
    const vs = edited(stage(reviewsVs()), 2, (r) => (r.timeout = '99s'));
    assert.throws(() => rollbackStage(vs), StateMismatchError);
    assert.equal(JSON.stringify(rollbackStage(vs, {}, true)!.vs), JSON.stringify(reviewsVs()));
  });
});

function callerRefusal(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(
      error instanceof StateMismatchError,
      `expected a StateMismatchError, got ${String(error)}`,
    );
    assert.match(
      error.message,
      /^Nothing was written: annotation "istio-canary\.dev\/caller-routes" on VirtualService "shop\/backend" names routes as caller routes of the rollout of VirtualService "shop\/frontend" that are not what that rollout inserts/,
    );
    assert.match(error.message, pattern);
    assert.match(
      error.message,
      /drop "shop\/frontend" from annotation "istio-canary\.dev\/caller-routes"/,
    );
    return true;
  };
}

describe('caller routes on a dependent', () => {
  const pin = (vs: VirtualService, labels = { app: 'frontend', version: 'v2' }) =>
    deepFreeze(
      pinCallers(vs, {
        owner: 'shop/frontend',
        dependent: { virtualService: 'backend', stableSubset: 'v1', canarySubset: 'v2' },
        sourceLabels: labels,
      }),
    );

  it('are removed and replaced when they are what pinCallers wrote', () => {
    const pinned = pin(backendVs());
    assert.equal(
      JSON.stringify(unpinCallers(pinned, 'shop/frontend')),
      JSON.stringify(backendVs()),
    );
    const again = pin(pinned, { app: 'frontend', version: 'v3' });
    assert.equal(again.spec.http!.length, 3);
  });

  it("a planted record naming the user's routes removes none of them", () => {
    const vs = planted(backendVs(), { [CALLER_ROUTES_ANNOTATION]: '{"shop/frontend":["health"]}' });
    const expected = callerRefusal(
      /route "health": is not named after a route of the VirtualService as a caller route is/,
    );
    assert.throws(() => unpinCallers(vs, 'shop/frontend'), expected);
    assert.throws(() => pin(vs), expected);
  });

  it('a caller route someone changed is not removed', () => {
    const pinned = pin(backendVs());
    const vs = edited(
      pinned,
      1,
      (r) => (r.route![0].destination.host = 'collector.attacker.example'),
    );
    assert.throws(
      () => unpinCallers(vs, 'shop/frontend'),
      callerRefusal(
        /route "http-1-canary-callers": the VirtualService has .*collector\.attacker\.example.*; a caller route rebuilt from route http\[2\] it precedes gives \{"name":"http-1-canary-callers"/,
      ),
    );
    const widened = edited(pinned, 1, (r) => delete r.match);
    assert.throws(() => unpinCallers(widened, 'shop/frontend'), StateMismatchError);
  });

  it('a planted record does not hide a route of the user from the search for the target', () => {
    const vs = planted(ambiguousVs(), { [CALLER_ROUTES_ANNOTATION]: '{"shop/frontend":["api"]}' });
    assert.throws(
      () => stage(vs),
      (error: unknown) =>
        error instanceof Error &&
        /2 http routes of VirtualService "shop\/catalog"/.test(error.message),
    );
  });

  it('are recognised while the dependent has a rollout of its own', () => {
    const at10 = deepFreeze(
      applyStage(backendVs(), {
        target: SUBSETS,
        weight: 10,
        owner: 'r',
        now: 0,
        testers: { match: TESTERS, weight: 50 },
      }).vs,
    );
    const pinned = pin(at10);
    const restored = restoreOriginal(pinned, readRestorePoint(pinned)!);
    assert.equal(
      JSON.stringify(unpinCallers(restored, 'shop/frontend')),
      JSON.stringify(backendVs()),
    );
    assert.ok(unpinCallers(pinned, 'shop/frontend'));
  });
});
