// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { removeSubset, subsetUses } from '../../src/istio/cleanup.ts';
import { promoteStage, applyStage } from '../../src/istio/shaped-stage.ts';
import { verifyTrafficShare, wilsonInterval } from '../../src/istio/traffic-check.ts';
import type { DestinationRule, VirtualService } from '../../src/istio/types.ts';
import { deepFreeze, reviewsVs, subsetVs } from '../fixtures/virtualservices.ts';

function reviewsDr(): DestinationRule {
  return deepFreeze({
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'reviews', namespace: 'shop' },
    spec: {
      host: 'reviews',
      trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } },
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { connectionPool: {} } },
      ],
    },
  });
}

/** reviewsVs promoted to v2: its "tester" route still sends to v2, nothing to v1. */
function promotedReviews(): VirtualService {
  const staged = applyStage(reviewsVs(), {
    target: { kind: 'subsets', stableSubset: 'v1', canarySubset: 'v2' },
    weight: 50,
    owner: 'r',
    now: 0,
  }).vs;
  return deepFreeze(promoteStage(staged)!.vs);
}

describe('removeSubset', () => {
  it('removes the old subset once nothing routes to it, keeping the rest', () => {
    const { destinationRule, removed } = removeSubset(reviewsDr(), 'v1', [promotedReviews()]);
    assert.equal(removed, true);
    const expected = structuredClone(reviewsDr());
    expected.spec.subsets!.shift();
    assert.equal(JSON.stringify(destinationRule), JSON.stringify(expected));
  });

  it('refuses while a route still sends to the subset, naming the route', () => {
    const staged = applyStage(reviewsVs(), {
      target: { kind: 'subsets', stableSubset: 'v1', canarySubset: 'v2' },
      weight: 50,
      owner: 'r',
      now: 0,
    }).vs;
    assert.throws(
      () => removeSubset(reviewsDr(), 'v1', [promotedReviews(), staged]),
      (error: unknown) =>
        error instanceof UserError &&
        /^Cannot remove subset "v1" from DestinationRule "shop\/reviews": http route "primary" of VirtualService "shop\/reviews" still sends traffic to it/.test(
          error.message,
        ),
    );
  });

  it('finds uses through fully qualified hosts, mirrors and tcp routes', () => {
    const vs = deepFreeze<VirtualService>({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'edge', namespace: 'web' },
      spec: {
        hosts: ['shop.example.com'],
        http: [
          {
            route: [{ destination: { host: 'other' } }],
            mirror: { host: 'reviews.shop.svc.cluster.local', subset: 'v1' },
          },
          { name: 'fqdn', route: [{ destination: { host: 'reviews.shop', subset: 'v1' } }] },
          { name: 'short-elsewhere', route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
        ],
        tcp: [
          { route: [{ destination: { host: 'reviews.shop.svc.cluster.local', subset: 'v1' } }] },
        ],
      },
    });
    assert.deepEqual(subsetUses(reviewsDr(), 'v1', [vs]), [
      { virtualService: 'web/edge', where: 'mirror of http route http[0]' },
      { virtualService: 'web/edge', where: 'http route "fqdn"' },
      { virtualService: 'web/edge', where: 'tcp[0]' },
    ]);
  });

  it('is a no-op when the subset is already gone, and drops an emptied list', () => {
    const once = removeSubset(reviewsDr(), 'v1', []).destinationRule;
    const again = removeSubset(deepFreeze(once), 'v1', []);
    assert.equal(again.removed, false);
    assert.deepEqual(again.destinationRule, once);
    const empty = removeSubset(deepFreeze(once), 'v2', [subsetVs()]).destinationRule;
    assert.equal('subsets' in empty.spec, false);
  });
});

describe('wilsonInterval', () => {
  it('matches the textbook values and stays inside [0, 1]', () => {
    const { low, high } = wilsonInterval(10, 100, 1.959963984540054);
    assert.ok(Math.abs(low - 0.05523) < 1e-4, String(low));
    assert.ok(Math.abs(high - 0.17437) < 1e-4, String(high));
    const zero = wilsonInterval(0, 50);
    assert.equal(zero.low, 0);
    assert.ok(zero.high > 0 && zero.high < 0.15);
    assert.equal(wilsonInterval(50, 50).high, 1);
    assert.deepEqual(wilsonInterval(0, 0), { low: 0, high: 1 });
  });
});

describe('verifyTrafficShare', () => {
  it('passes a share close to the weight', () => {
    const result = verifyTrafficShare({
      configuredWeight: 10,
      canaryRequests: 98,
      stableRequests: 902,
    });
    assert.equal(result.verdict, 'ok');
    assert.equal(result.observedPercent, 9.8);
    assert.equal(result.requests, 1000);
    assert.match(
      result.sentence,
      /^The canary received 9\.8% of 1000 requests at weight 10%, as configured \(99% interval 7\.6% to 12\.5%\)\.$/,
    );
  });

  it('fails a canary that gets almost nothing, with the likely causes', () => {
    const result = verifyTrafficShare({
      configuredWeight: 10,
      canaryRequests: 4,
      stableRequests: 996,
    });
    assert.equal(result.verdict, 'mismatch');
    assert.match(
      result.sentence,
      /^The canary received 0\.4% of 1000 requests at weight 10% \(99% interval .*\): its pods may not match the subset labels, or lack a sidecar/,
    );
  });

  it('fails a canary that gets far too much, pointing at other routes', () => {
    const result = verifyTrafficShare({
      configuredWeight: 10,
      canaryRequests: 350,
      stableRequests: 650,
    });
    assert.equal(result.verdict, 'mismatch');
    assert.match(result.sentence, /35% of 1000 requests at weight 10%.*another route/);
  });

  it('says low-evidence when there are too few requests to tell', () => {
    assert.equal(
      verifyTrafficShare({ configuredWeight: 10, canaryRequests: 0, stableRequests: 20 }).verdict,
      'low-evidence',
    );
    const none = verifyTrafficShare({ configuredWeight: 10, canaryRequests: 0, stableRequests: 0 });
    assert.equal(none.verdict, 'low-evidence');
    assert.equal(none.observedPercent, undefined);
    assert.match(none.sentence, /No requests reached/);
    assert.match(
      verifyTrafficShare({ configuredWeight: 50, canaryRequests: 12, stableRequests: 8 }).sentence,
      /too few requests to verify the split yet/,
    );
  });

  it('needs both a significant and a large gap to fail', () => {
    // 12% at weight 10 over 100k requests: significant, but within 5 points.
    assert.equal(
      verifyTrafficShare({ configuredWeight: 10, canaryRequests: 12_000, stableRequests: 88_000 })
        .verdict,
      'ok',
    );
    // 20% at weight 10 over 20 requests: a large gap, but not significant.
    assert.equal(
      verifyTrafficShare({ configuredWeight: 10, canaryRequests: 4, stableRequests: 16 }).verdict,
      'low-evidence',
    );
    assert.equal(
      verifyTrafficShare({
        configuredWeight: 10,
        canaryRequests: 16,
        stableRequests: 84,
        tolerancePoints: 1,
      }).verdict,
      'low-evidence',
    );
  });

  it('leaves tester requests out and counts mirrored copies', () => {
    const withTesters = verifyTrafficShare({
      configuredWeight: 10,
      canaryRequests: 600,
      stableRequests: 4500,
      testerRequests: 100,
    });
    assert.equal(withTesters.observedPercent, 10);
    assert.equal(withTesters.verdict, 'ok');
    // Weight 0 with 20% mirrored: the canary counts 20 copies per 100 live requests.
    const mirrored = verifyTrafficShare({
      configuredWeight: 0,
      canaryRequests: 200,
      stableRequests: 1000,
      mirrorPercent: 20,
    });
    assert.ok(Math.abs(mirrored.expectedPercent - 100 / 6) < 1e-9);
    assert.equal(mirrored.verdict, 'ok');
    assert.match(mirrored.sentence, /at weight 0% with 20% mirrored \(16\.7% expected\)/);
    const missing = verifyTrafficShare({
      configuredWeight: 0,
      canaryRequests: 0,
      stableRequests: 1000,
      mirrorPercent: 20,
    });
    assert.equal(missing.verdict, 'mismatch');
  });

  it('accepts weight 0 and 100 when the traffic agrees', () => {
    assert.equal(
      verifyTrafficShare({ configuredWeight: 0, canaryRequests: 0, stableRequests: 500 }).verdict,
      'ok',
    );
    assert.equal(
      verifyTrafficShare({ configuredWeight: 100, canaryRequests: 500, stableRequests: 0 }).verdict,
      'ok',
    );
  });
});
