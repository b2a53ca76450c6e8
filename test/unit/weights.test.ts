import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.ts';
import {
  assertDns1123,
  isDns1123Label,
  isDns1123Subdomain,
  objectLabel,
} from '../../src/istio/names.ts';
import { parseWeights, splitWeights } from '../../src/istio/weights.ts';

void describe('parseWeights', () => {
  void it('reads one weight', () => {
    assert.deepEqual(parseWeights('10'), [10]);
    assert.deepEqual(parseWeights('0'), [0]);
    assert.deepEqual(parseWeights('100'), [100]);
  });

  void it('reads a list, with or without spaces', () => {
    assert.deepEqual(parseWeights('10,25,50'), [10, 25, 50]);
    assert.deepEqual(parseWeights(' 10, 25 ,50 '), [10, 25, 50]);
    assert.deepEqual(parseWeights('0,100'), [0, 100]);
  });

  const bad: [string, RegExp][] = [
    ['', /got an empty value/],
    ['   ', /got an empty value/],
    ['abc', /got "abc"$/],
    ['-1', /got "-1"$/],
    ['101', /got "101"$/],
    ['1000', /got "1000"$/],
    ['10.5', /got "10.5"$/],
    ['1e1', /got "1e1"$/],
    ['+10', /got "\+10"$/],
    ['10%', /got "10%"$/],
    ['10,,20', /empty entry in "10,,20"/],
    ['10,', /empty entry in "10,"/],
    [',10', /empty entry in ",10"/],
    ['10,abc', /got "abc" in "10,abc"/],
    ['10 20', /got "10 20"$/],
    ['50,10', /increasing order.*"50,10"/],
    ['10,10', /increasing order.*"10,10"/],
    ['10,50,25', /increasing order/],
  ];
  for (const [text, message] of bad) {
    void it(`rejects ${JSON.stringify(text)} naming input "weight"`, () => {
      assert.throws(
        () => parseWeights(text),
        (error: unknown) =>
          error instanceof UserError &&
          error.message.startsWith('Input "weight" ') &&
          message.test(error.message),
      );
    });
  }

  void it('says what it accepts', () => {
    assert.throws(() => parseWeights('abc'), /whole canary percent from 0 to 100.*10,25,50/);
  });
});

void describe('splitWeights', () => {
  void it('splits 100 between stable and canary', () => {
    assert.deepEqual(splitWeights(10), { stable: 90, canary: 10 });
    assert.deepEqual(splitWeights(0), { stable: 100, canary: 0 });
    assert.deepEqual(splitWeights(100), { stable: 0, canary: 100 });
    for (let w = 0; w <= 100; w++) {
      const { stable, canary } = splitWeights(w);
      assert.equal(stable + canary, 100);
      assert.ok(Number.isInteger(stable) && Number.isInteger(canary));
    }
  });

  void it('refuses a weight parseWeights would not have produced', () => {
    for (const w of [-1, 101, 10.5, Number.NaN]) {
      assert.throws(() => splitWeights(w), RangeError);
    }
  });
});

void describe('DNS-1123 names', () => {
  void it('accepts labels', () => {
    for (const name of ['v1', 'v2', 'canary', 'a', '0', 'stable-2024', 'a'.repeat(63)]) {
      assert.equal(isDns1123Label(name), true, name);
    }
  });

  void it('rejects non-labels', () => {
    for (const name of ['', 'V2', 'v2!', '-v2', 'v2-', 'v_2', 'v.2', 'a'.repeat(64), 'v 2']) {
      assert.equal(isDns1123Label(name), false, name);
    }
  });

  void it('accepts and rejects subdomains', () => {
    for (const name of ['reviews', 'reviews.shop.svc.cluster.local', 'a-b.c']) {
      assert.equal(isDns1123Subdomain(name), true, name);
    }
    for (const name of ['', 'Reviews', 'reviews.', '.reviews', 'a..b', 'a_b', 'a'.repeat(254)]) {
      assert.equal(isDns1123Subdomain(name), false, name);
    }
  });

  void it('returns the value when valid', () => {
    assert.equal(assertDns1123('canary-subset', 'v2', 'label'), 'v2');
    assert.equal(assertDns1123('virtual-service', 'reviews.v1', 'subdomain'), 'reviews.v1');
  });

  void it('names the input, the accepted form and the value', () => {
    assert.throws(
      () => assertDns1123('canary-subset', 'V2!', 'label'),
      (error: unknown) =>
        error instanceof UserError &&
        error.message ===
          'Input "canary-subset" must be a DNS-1123 label (lower case letters, digits and "-", ' +
            'starting and ending with a letter or digit, at most 63 characters), got "V2!"',
    );
    assert.throws(
      () => assertDns1123('virtual-service', 'Reviews', 'subdomain'),
      (error: unknown) =>
        error instanceof UserError &&
        /^Input "virtual-service" must be a DNS-1123 subdomain \(.*253 characters\), got "Reviews"$/.test(
          error.message,
        ),
    );
  });

  void it('escapes a value that would garble the message', () => {
    assert.throws(() => assertDns1123('stable-subset', 'v1\nv2', 'label'), /got "v1\\nv2"$/);
  });

  void it('labels objects with their namespace', () => {
    assert.equal(
      objectLabel('VirtualService', { name: 'reviews', namespace: 'shop' }),
      'VirtualService "shop/reviews"',
    );
    assert.equal(objectLabel('VirtualService', { name: 'reviews' }), 'VirtualService "reviews"');
  });
});
