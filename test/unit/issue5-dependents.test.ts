// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.ts';
import {
  callerRoute,
  callerRouteName,
  ownerKey,
  parseDependents,
  pinCallers,
  unpinCallers,
} from '../../src/istio/dependents.ts';
import type { PinOptions } from '../../src/istio/dependents.ts';
import { applyStage } from '../../src/istio/shaped-stage.ts';
import { CALLER_ROUTES_ANNOTATION } from '../../src/istio/state/format.ts';
import { hasState, readCallerRoutes, readRestorePoint } from '../../src/istio/state/read.ts';
import { clearState, restoreOriginal } from '../../src/istio/state/write.ts';
import type { VirtualService } from '../../src/istio/types.ts';
import { backendVs, deepFreeze, matchedVs, reviewsVs } from '../fixtures/virtualservices.ts';

const CANARY_LABELS = { app: 'frontend', version: 'v2' };
const DEPENDENT = { virtualService: 'backend', stableSubset: 'v1', canarySubset: 'v2' };

function pin(vs: VirtualService, overrides: Partial<PinOptions> = {}): VirtualService {
  return deepFreeze(
    pinCallers(vs, {
      owner: 'shop/frontend',
      dependent: DEPENDENT,
      sourceLabels: CANARY_LABELS,
      ...overrides,
    }),
  );
}

function userError(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('parseDependents', () => {
  it('reads the list with its optional fields', () => {
    const text = `
- virtual-service: backend
  stable-subset: v1
  canary-subset: v2
- {virtual-service: payments, namespace: billing, stable-subset: stable, canary-subset: next, route: api}
`;
    assert.deepEqual(parseDependents(text), [
      DEPENDENT,
      {
        virtualService: 'payments',
        namespace: 'billing',
        stableSubset: 'stable',
        canarySubset: 'next',
        route: 'api',
      },
    ]);
    assert.deepEqual(parseDependents(''), []);
  });

  const bad: [string, RegExp][] = [
    ['virtual-service: backend', /must be a YAML list/],
    ['- backend', /item 1: expected a mapping/],
    ['- {virtual-service: backend, stable-subset: v1}', /item 1: canary-subset is required/],
    [
      '- {virtual-service: Backend, stable-subset: v1, canary-subset: v2}',
      /virtual-service must be a DNS-1123 subdomain, got "Backend"/,
    ],
    [
      '- {virtual-service: b, stable-subset: v1, canary-subset: v_2}',
      /canary-subset must be a DNS-1123 label/,
    ],
    ['- {virtual-service: b, stable-subset: v1, canary-subset: v1}', /both "v1"/],
    [
      '- {virtual-service: b, stable-subset: v1, canary-subset: v2, subset: x}',
      /unknown field subset/,
    ],
    [
      '- {virtual-service: b, stable-subset: 1, canary-subset: v2}',
      /stable-subset must be a non-empty string/,
    ],
    [
      '- {virtual-service: b, stable-subset: v1, canary-subset: v2}\n- {virtual-service: b, stable-subset: v1, canary-subset: v3}',
      /item 2: VirtualService "b" is listed twice/,
    ],
    ['- {', /is not valid YAML/],
  ];
  for (const [text, pattern] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseDependents(text),
        userError(new RegExp(`^Input "dependents"[^]*${pattern.source}`)),
      );
    });
  }
});

describe('callerRoute', () => {
  it('ANDs the source labels into every match entry of the target and sends all to the canary', () => {
    const target = deepFreeze(structuredClone(matchedVs().spec.http![0]));
    const route = callerRoute(target, 0, {
      name: callerRouteName(target, 0),
      host: 'orders',
      stableSubset: 'v1',
      canarySubset: 'v2',
      sourceLabels: CANARY_LABELS,
    });
    assert.deepEqual(route, {
      name: 'api-canary-callers',
      match: [
        { sourceLabels: CANARY_LABELS, uri: { prefix: '/api/' } },
        { sourceLabels: CANARY_LABELS, headers: { 'x-api': { exact: 'v1' } } },
      ],
      route: [{ destination: { host: 'orders', subset: 'v2', port: { number: 8080 } } }],
      retries: { attempts: 2, perTryTimeout: '1s' },
      timeout: '5s',
    });
  });

  it('needs at least one source label', () => {
    assert.throws(
      () =>
        callerRoute({ route: [{ destination: { host: 'b' } }] }, 0, {
          name: 'x',
          host: 'b',
          stableSubset: 'v1',
          canarySubset: 'v2',
          sourceLabels: {},
        }),
      RangeError,
    );
  });
});

describe('pinCallers and unpinCallers', () => {
  it('inserts the caller route before the dependent target and records its owner', () => {
    const pinned = pin(backendVs());
    const http = pinned.spec.http!;
    assert.deepEqual(
      http.map((r) => r.name),
      ['health', 'http-1-canary-callers', undefined],
    );
    assert.deepEqual(http[1], {
      name: 'http-1-canary-callers',
      match: [{ sourceLabels: CANARY_LABELS }],
      route: [{ destination: { host: 'backend', subset: 'v2' } }],
      timeout: '3s',
    });
    assert.deepEqual(readCallerRoutes(pinned), { 'shop/frontend': ['http-1-canary-callers'] });
    assert.equal(hasState(pinned), false, "caller routes are not the dependent's own rollout");
  });

  it('updates in place on a re-run, and unpins byte for byte', () => {
    const pinned = pin(backendVs());
    const again = pin(pinned, { sourceLabels: { app: 'frontend', version: 'v3' } });
    assert.equal(again.spec.http!.length, 3);
    assert.deepEqual(again.spec.http![1].match, [
      { sourceLabels: { app: 'frontend', version: 'v3' } },
    ]);
    assert.equal(JSON.stringify(unpinCallers(again, 'shop/frontend')), JSON.stringify(backendVs()));
  });

  it('keeps the caller routes of other owners when one unpins', () => {
    const one = pin(backendVs(), { dependent: { ...DEPENDENT } });
    const vs = structuredClone(one);
    // A second owner pinning another route of the same VirtualService.
    vs.spec.http!.push({
      name: 'admin',
      route: [{ destination: { host: 'backend', subset: 'v1' } }],
    });
    const two = pin(deepFreeze(vs), {
      owner: 'ops/admin',
      dependent: { ...DEPENDENT, route: 'admin' },
    });
    assert.deepEqual(readCallerRoutes(two), {
      'shop/frontend': ['http-1-canary-callers'],
      'ops/admin': ['admin-canary-callers'],
    });
    const left = unpinCallers(two, 'shop/frontend');
    assert.deepEqual(readCallerRoutes(left), { 'ops/admin': ['admin-canary-callers'] });
    assert.deepEqual(
      left.spec.http!.map((r) => r.name),
      ['health', undefined, 'admin-canary-callers', 'admin'],
    );
  });

  it('refuses a name another rollout uses for the same target', () => {
    const pinned = pin(backendVs());
    assert.throws(
      () => pin(pinned, { owner: 'ops/admin' }),
      userError(
        /already has an http route named "http-1-canary-callers".*inserted by the rollout of VirtualService "shop\/frontend"/,
      ),
    );
  });

  it('is a no-op copy for an owner without caller routes', () => {
    assert.deepEqual(unpinCallers(backendVs(), 'shop/frontend'), backendVs());
  });

  it('reports a damaged caller-routes annotation', () => {
    const vs = structuredClone(backendVs());
    vs.metadata.annotations = { [CALLER_ROUTES_ANNOTATION]: '["x"]' };
    assert.throws(
      () => pin(deepFreeze(vs)),
      userError(/malformed annotation "istio-canary\.dev\/caller-routes"/),
    );
  });

  it('names the owner by namespace and name', () => {
    assert.equal(ownerKey(reviewsVs()), 'shop/reviews');
  });
});

describe("a dependent's own rollout next to caller routes", () => {
  const subsets = { kind: 'subsets', stableSubset: 'v1', canarySubset: 'v2' } as const;
  const stage = (vs: VirtualService, weight: number): VirtualService =>
    deepFreeze(
      applyStage(vs, {
        target: subsets,
        weight,
        owner: 'run-9',
        now: 0,
        testers: { match: [{ headers: { qa: { exact: '1' } } }], weight: 50 },
      }).vs,
    );

  it('finds its unnamed target past caller routes and keeps them through stages and rollback', () => {
    const pinned = pin(backendVs());
    const at10 = stage(pinned, 10);
    assert.deepEqual(
      at10.spec.http!.map((r) => r.name),
      ['health', 'http-1-canary-callers', 'http-1-canary-testers', undefined],
    );
    assert.equal(readRestorePoint(at10)!.routeIndex, 1);
    const at50 = stage(at10, 50);
    assert.deepEqual(
      at50.spec.http![3].route!.map((d) => d.weight),
      [50, 50],
    );
    const restored = restoreOriginal(at50, readRestorePoint(at50)!);
    assert.equal(JSON.stringify(restored), JSON.stringify(pinned));
    assert.deepEqual(clearState(at50).metadata.annotations, pinned.metadata.annotations);
  });

  it('pins callers into a VirtualService in the middle of its own rollout', () => {
    const at10 = stage(backendVs(), 10);
    const pinned = pin(at10);
    assert.deepEqual(
      pinned.spec.http!.map((r) => r.name),
      ['health', 'http-1-canary-testers', 'http-1-canary-callers', undefined],
    );
    const restored = restoreOriginal(pinned, readRestorePoint(pinned)!);
    assert.equal(
      JSON.stringify(unpinCallers(restored, 'shop/frontend')),
      JSON.stringify(backendVs()),
    );
  });
});
