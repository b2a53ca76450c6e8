import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseNameList, parseSettings } from '../../src/config/settings.ts';
import { UserError } from '../../src/errors.ts';
import type { VirtualService } from '../../src/istio/types.ts';
import type { CheckResult } from '../../src/metrics/types.ts';
import {
  clearMismatch,
  judgeShare,
  userRoutesToCanary,
  verifyWatchShare,
} from '../../src/rollout/traffic.ts';

const STEP = {
  'virtual-service': 'backend',
  'stable-subset': 'v1',
  'canary-subset': 'v2',
  weight: '10',
};

function parse(inputs: Record<string, string>) {
  return parseSettings((name) => inputs[name]);
}

function rejects(inputs: Record<string, string>, pattern: RegExp): void {
  assert.throws(
    () => parse(inputs),
    (error: unknown) => error instanceof UserError && pattern.test(error.message),
  );
}

describe('traffic-shaping settings', () => {
  test('defaults: no tester route, all testers to the canary, no mirror, no dependents', () => {
    const settings = parse(STEP);
    assert.equal(settings.canaryMatch, undefined);
    assert.equal(settings.canaryMatchWeight, 100);
    assert.equal(settings.mirrorPercent, undefined);
    assert.deepEqual(settings.dependents, []);
    assert.deepEqual(settings.virtualServices, ['backend']);
    assert.equal(settings.stableHost, undefined);
  });

  test('reads tester match, its weight, mirror percent and dependents', () => {
    const settings = parse({
      ...STEP,
      'canary-match': '  - headers:\n      canary:\n        exact: tester\n',
      'canary-match-weight': '50',
      'mirror-percent': '12.5',
      dependents:
        '- {virtual-service: reviews, stable-subset: v1, canary-subset: v2, namespace: web}',
    });
    assert.deepEqual(settings.canaryMatch, [{ headers: { canary: { exact: 'tester' } } }]);
    assert.equal(settings.canaryMatchWeight, 50);
    assert.equal(settings.mirrorPercent, 12.5);
    assert.deepEqual(settings.dependents, [
      { virtualService: 'reviews', stableSubset: 'v1', canarySubset: 'v2', namespace: 'web' },
    ]);
  });

  test('bad shaping inputs are errors naming the input', () => {
    rejects({ ...STEP, 'canary-match-weight': '0' }, /"canary-match-weight"/);
    rejects({ ...STEP, 'mirror-percent': '101' }, /"mirror-percent"/);
    rejects({ ...STEP, 'canary-match': '- headers: {x: {fuzzy: a}}' }, /canary-match/);
    rejects({ ...STEP, dependents: '- {virtual-service: Backend}' }, /"dependents"/);
  });

  test('virtual-service takes a comma or newline list, each a name, none twice', () => {
    assert.deepEqual(
      parse({ ...STEP, 'virtual-service': 'backend, backend-gateway\n' }).virtualServices,
      ['backend', 'backend-gateway'],
    );
    assert.equal(parse({ ...STEP, 'virtual-service': 'a\nb' }).virtualService, 'a');
    assert.throws(() => parseNameList('virtual-service', 'a,B'), /"virtual-service"/);
    assert.throws(() => parseNameList('virtual-service', 'a,a'), /lists "a" twice/);
    rejects({ ...STEP, 'virtual-service': ' , ' }, /"virtual-service" is required/);
  });

  test('host canaries: both hosts, instead of subsets, and step needs no subsets then', () => {
    const hosts = { 'virtual-service': 'app', weight: '10' };
    const settings = parse({ ...hosts, 'stable-host': 'app-stable', 'canary-host': 'app-canary' });
    assert.equal(settings.stableHost, 'app-stable');
    assert.equal(settings.canaryHost, 'app-canary');
    rejects({ ...hosts, 'stable-host': 'app-stable' }, /"canary-host" is required/);
    rejects({ ...hosts, 'stable-host': 'a', 'canary-host': 'a' }, /must differ/);
    rejects({ ...STEP, 'stable-host': 'a', 'canary-host': 'b' }, /exclude each other/);
    rejects(hosts, /"stable-subset" is required/);
  });
});

function check(canary: number, stable: number): CheckResult {
  return {
    elapsedMs: 0,
    weight: 10,
    verdict: 'pass',
    canary: { requests: canary, errors: 0 },
    stable: { requests: stable, errors: 0 },
    custom: [],
    reasons: [],
  };
}

describe('traffic verification over a watch', () => {
  const none = { otherRoutes: [] };

  test('leaves out the first window, which can hold traffic from before the change', () => {
    const share = verifyWatchShare([check(0, 1000), check(100, 900), check(100, 900)], 10, none);
    assert.equal(share.requests, 2000);
    assert.equal(share.verdict, 'ok');
  });

  test('a canary that gets nothing at 20% is a mismatch naming the likely causes', () => {
    const share = verifyWatchShare([check(0, 500), check(0, 500), check(0, 500)], 20, none);
    assert.equal(share.verdict, 'mismatch');
    assert.match(share.sentence, /lack a sidecar/);
  });

  test('with a tester route, more than the weight is expected; less is still a mismatch', () => {
    const testers = { otherRoutes: ['the tester route of canary-match'] };
    const more = judgeShare(10, 300, 700, testers);
    assert.equal(more.verdict, 'ok');
    assert.match(
      more.sentence,
      /more than the weight, because the tester route of canary-match sends its requests/,
    );
    assert.equal(judgeShare(10, 300, 700, none).verdict, 'mismatch');
    assert.equal(judgeShare(30, 10, 990, testers).verdict, 'mismatch');
  });

  test("the user's own routes to the canary are named, and only too little traffic fails", () => {
    const own = { otherRoutes: ['route "testers" of backend', 'route http[2] of backend'] };
    const more = judgeShare(10, 160, 840, own);
    assert.equal(more.verdict, 'ok');
    assert.match(
      more.sentence,
      /because route "testers" of backend, route http\[2\] of backend send their requests/,
    );
    assert.equal(judgeShare(10, 160, 840, none).verdict, 'mismatch');
    assert.equal(judgeShare(30, 10, 990, own).verdict, 'mismatch');
  });

  test('finds the routes besides the shifted one that reach the canary', () => {
    const sides = {
      kind: 'subsets',
      host: 'backend',
      stableSubset: 'v1',
      canarySubset: 'v2',
      namespace: 'shop',
    } as const;
    const vs: VirtualService = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'backend', namespace: 'shop' },
      spec: {
        hosts: ['backend'],
        http: [
          {
            name: 'testers',
            match: [{ headers: { x: { exact: 'y' } } }],
            route: [{ destination: { host: 'backend', subset: 'v2' } }],
          },
          {
            name: 'primary-canary-testers',
            route: [{ destination: { host: 'backend', subset: 'v2' } }],
          },
          {
            name: 'shadow',
            route: [{ destination: { host: 'other' } }],
            mirror: { host: 'backend.shop.svc.cluster.local', subset: 'v2' },
          },
          { route: [{ destination: { host: 'backend' } }] },
          { name: 'stable-only', route: [{ destination: { host: 'backend', subset: 'v1' } }] },
          { name: 'primary', route: [{ destination: { host: 'backend', subset: 'v1' } }] },
        ],
      },
    };
    assert.deepEqual(userRoutesToCanary(vs, 5, ['primary-canary-testers'], sides), [
      'route "testers" of backend',
      'route "shadow" of backend',
      'route http[3] of backend',
    ]);
    assert.deepEqual(
      userRoutesToCanary(vs, 0, ['primary-canary-testers'], { ...sides, canarySubset: 'v3' }),
      ['route http[3] of backend'],
    );
  });

  test('mirrored copies count on top of live requests', () => {
    const share = judgeShare(0, 500, 1000, { otherRoutes: [], mirrorPercent: 50 });
    assert.equal(Math.round(share.expectedPercent * 10) / 10, 33.3);
    assert.equal(share.verdict, 'ok');
  });

  test('ends a watch early only when every window after the warm-up, and their sum, mismatch', () => {
    const off = [check(0, 500), check(0, 500), check(0, 500)];
    assert.equal(clearMismatch(off, 20, none), undefined, 'two windows after warm-up: too soon');
    assert.equal(clearMismatch([...off, check(0, 500)], 20, none)?.verdict, 'mismatch');
    const mixed = [check(0, 500), check(0, 500), check(100, 400), check(0, 500)];
    assert.equal(clearMismatch(mixed, 20, none), undefined, 'one window as configured');
  });
});
