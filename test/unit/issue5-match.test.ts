// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { andMatches, parseMatchList, validateMatchRequest } from '../../src/istio/match.ts';
import { parseCanaryMatch, parseCanaryMatchWeight } from '../../src/istio/testers.ts';
import type { HTTPMatchRequest } from '../../src/istio/types.ts';
import { matchRequest } from '../../src/sandbox/simulator-routing.ts';
import type { RequestInfo } from '../../src/sandbox/simulator-routing.ts';
import { deepFreeze } from '../fixtures/virtualservices.ts';

function userError(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

const COOKIE = '^(.*?;)?(email=[^;]*@example.com)(;.*)?$';

describe('parseCanaryMatch', () => {
  it('reads a list of HTTPMatchRequest entries', () => {
    const text = `
- headers:
    canary:
      exact: canary-tester
- headers:
    cookie:
      regex: "${COOKIE}"
  uri:
    prefix: /shop
`;
    assert.deepEqual(parseCanaryMatch(text), [
      { headers: { canary: { exact: 'canary-tester' } } },
      { headers: { cookie: { regex: COOKIE } }, uri: { prefix: '/shop' } },
    ]);
  });

  it('takes a single mapping as a list of one, and empty text as no testers', () => {
    assert.deepEqual(parseCanaryMatch('headers: {canary: {exact: "yes"}}'), [
      { headers: { canary: { exact: 'yes' } } },
    ]);
    assert.equal(parseCanaryMatch('  \n'), undefined);
  });

  it('accepts every field Istio documents', () => {
    const entry = {
      name: 'testers',
      uri: { exact: '/a' },
      scheme: { exact: 'https' },
      method: { exact: 'GET' },
      authority: { prefix: 'shop' },
      headers: { 'x-present': {} },
      port: 8080,
      sourceLabels: { app: 'qa' },
      gateways: ['mesh'],
      queryParams: { beta: { exact: '1' } },
      ignoreUriCase: true,
      withoutHeaders: { 'x-bot': {} },
      sourceNamespace: 'qa',
      statPrefix: 'testers',
    };
    assert.deepEqual(parseMatchList(JSON.stringify([entry]), 'canary-match'), [entry]);
  });

  const bad: [string, RegExp][] = [
    ['- [not, a, mapping]', /entry 1: expected a mapping of match conditions, got a list/],
    ['- headers: {canary: tester}', /entry 1: headers\.canary must be \{exact: \.\.\.\}/],
    [
      '- uri: {}',
      /entry 1: uri must be \{exact: \.\.\.\}, \{prefix: \.\.\.\} or \{regex: \.\.\.\}, got \{\}/,
    ],
    ['- uri: {exact: /a, prefix: /b}', /uri must be .*got \{"exact":"\/a","prefix":"\/b"\}/],
    ['- uri: {exact: 7}', /uri\.exact must be a string, got 7/],
    ['- uri: {suffix: /a}', /uri must be/],
    ['- header: {a: {exact: b}}', /unknown field header \(accepted: name, uri, /],
    ['- name: only-a-name', /states no condition, so it would match every request/],
    ['- port: 70000', /port must be a port number from 1 to 65535, got 70000/],
    ['- sourceLabels: {app: 3}', /sourceLabels must be a non-empty mapping/],
    ['- gateways: []', /gateways must be a non-empty list/],
    ['- ignoreUriCase: "yes"\n  uri: {prefix: /}', /ignoreUriCase must be true or false/],
    ['- headers: {}', /headers must be a non-empty mapping/],
    ['[]', /must list at least one match entry/],
    [
      '- headers: {a: {exact: b}}\n- 3',
      /entry 2: expected a mapping of match conditions, got a number/,
    ],
    ['- a: [', /is not valid YAML/],
  ];
  for (const [text, pattern] of bad) {
    it(`rejects ${JSON.stringify(text)}, naming the input`, () => {
      assert.throws(
        () => parseCanaryMatch(text),
        userError(new RegExp(`^Input "canary-match"[^]*${pattern.source}`)),
      );
    });
  }

  it("validates one entry with the caller's wording", () => {
    assert.throws(
      () => validateMatchRequest({ uri: 'x' }, 'Dependent "backend"'),
      userError(/^Dependent "backend": uri must be/),
    );
  });
});

describe('parseCanaryMatchWeight', () => {
  it('defaults to 100 and accepts whole percents from 1 to 100', () => {
    assert.equal(parseCanaryMatchWeight(''), 100);
    assert.equal(parseCanaryMatchWeight(' 50 '), 50);
    assert.equal(parseCanaryMatchWeight('1'), 1);
  });
  for (const text of ['0', '101', '12.5', 'half', '-5']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseCanaryMatchWeight(text),
        userError(/^Input "canary-match-weight" must be the whole percent .* from 1 to 100/),
      );
    });
  }
});

function request(overrides: Partial<RequestInfo>): RequestInfo {
  return {
    namespace: 'shop',
    sourceLabels: {},
    host: 'orders',
    headers: {},
    path: '/',
    ...overrides,
  };
}

/** Whether an Istio match list (OR of entries) takes the request, as the simulator evaluates it. */
function takes(list: HTTPMatchRequest[] | undefined, req: RequestInfo): boolean {
  if (list === undefined || list.length === 0) return true;
  return list.some((entry) => matchRequest(entry, req));
}

describe('andMatches', () => {
  const testers = deepFreeze<HTTPMatchRequest[]>([
    { headers: { canary: { exact: 'tester' } } },
    { headers: { cookie: { regex: COOKIE } } },
  ]);
  const target = deepFreeze<HTTPMatchRequest[]>([
    { uri: { prefix: '/api/' } },
    { headers: { 'x-api': { exact: 'v1' } } },
  ]);

  it('returns the other list when one is absent or empty', () => {
    assert.deepEqual(andMatches(testers, undefined, 'x'), testers);
    assert.deepEqual(andMatches([], target, 'x'), target);
    assert.equal(andMatches(undefined, [], 'x'), undefined);
  });

  it('merges every entry of one with every entry of the other', () => {
    assert.deepEqual(andMatches(testers, target, 'x'), [
      { headers: { canary: { exact: 'tester' } }, uri: { prefix: '/api/' } },
      { headers: { canary: { exact: 'tester' }, 'x-api': { exact: 'v1' } } },
      { headers: { cookie: { regex: COOKIE } }, uri: { prefix: '/api/' } },
      { headers: { cookie: { regex: COOKIE }, 'x-api': { exact: 'v1' } } },
    ]);
  });

  it('takes exactly the requests both lists take, over a grid of requests', () => {
    const combined = andMatches(testers, target, 'x');
    const paths = ['/', '/api/orders', '/apix'];
    const headerSets: Record<string, string>[] = [
      {},
      { canary: 'tester' },
      { canary: 'other' },
      { cookie: 'a=1; email=jo@example.com' },
      { 'x-api': 'v1' },
      { canary: 'tester', 'x-api': 'v1' },
      { cookie: 'email=jo@example.com', 'x-api': 'v2' },
    ];
    let both = 0;
    for (const path of paths) {
      for (const headers of headerSets) {
        const req = request({ path, headers });
        const expected = takes(testers, req) && takes(target, req);
        if (expected) both++;
        assert.equal(takes(combined, req), expected, `${path} ${JSON.stringify(headers)}`);
      }
    }
    assert.ok(both >= 4, 'the grid must contain requests both lists take');
  });

  it('keeps the narrower of two conditions on one field', () => {
    assert.deepEqual(
      andMatches([{ uri: { prefix: '/api/v2/' } }], [{ uri: { prefix: '/api/' } }], 'x'),
      [{ uri: { prefix: '/api/v2/' } }],
    );
    assert.deepEqual(andMatches([{ uri: { prefix: '/' } }], [{ uri: { exact: '/api/x' } }], 'x'), [
      { uri: { exact: '/api/x' } },
    ]);
    assert.deepEqual(
      andMatches([{ headers: { a: {} } }], [{ headers: { a: { prefix: 'b' } } }], 'x'),
      [{ headers: { a: { prefix: 'b' } } }],
    );
    assert.deepEqual(
      andMatches(
        [{ headers: { v: { regex: 'v[0-9]+' } } }],
        [{ headers: { v: { exact: 'v12' } } }],
        'x',
      ),
      [{ headers: { v: { exact: 'v12' } } }],
    );
  });

  it('drops pairs that can never hold together, and keeps the rest', () => {
    assert.deepEqual(
      andMatches(
        [{ uri: { prefix: '/api/' } }, { uri: { prefix: '/shop/' } }],
        [{ uri: { prefix: '/api/v1/' } }],
        'x',
      ),
      [{ uri: { prefix: '/api/v1/' } }],
    );
    assert.deepEqual(
      andMatches(
        [{ sourceLabels: { app: 'fe', version: 'v2' } }],
        [{ sourceLabels: { version: 'v1' } }, { sourceNamespace: 'shop' }],
        'x',
      ),
      [{ sourceLabels: { app: 'fe', version: 'v2' }, sourceNamespace: 'shop' }],
    );
    assert.deepEqual(
      andMatches([{ gateways: ['a', 'mesh'] }], [{ gateways: ['mesh', 'b'] }], 'x'),
      [{ gateways: ['mesh'] }],
    );
  });

  it('refuses a combination that matches nothing, naming what was combined', () => {
    assert.throws(
      () =>
        andMatches(
          [{ uri: { exact: '/a' } }],
          [{ uri: { prefix: '/b' } }],
          'input "canary-match" with route "api"',
        ),
      userError(
        /^The combination of input "canary-match" with route "api" can never match a request/,
      ),
    );
    assert.throws(() => andMatches([{ port: 80 }], [{ port: 81 }], 'x'), UserError);
  });

  it('refuses two conditions it cannot write as one', () => {
    assert.throws(
      () => andMatches([{ uri: { regex: '/a.*' } }], [{ uri: { prefix: '/a' } }], 'the two'),
      userError(
        /^Cannot combine the two into one Istio match entry: both match uri .* cannot be decided/,
      ),
    );
    assert.throws(
      () =>
        andMatches(
          [{ withoutHeaders: { a: { exact: '1' } } }],
          [{ withoutHeaders: { b: { exact: '2' } } }],
          'x',
        ),
      userError(/both give withoutHeaders/),
    );
    assert.throws(
      () =>
        andMatches(
          [{ uri: { prefix: '/A' }, ignoreUriCase: true }],
          [{ uri: { prefix: '/a' } }],
          'x',
        ),
      userError(/one ignoring case and one not/),
    );
  });

  it('keeps ignoreUriCase with the uri it qualifies', () => {
    assert.deepEqual(
      andMatches(
        [{ headers: { a: { exact: '1' } }, ignoreUriCase: true }],
        [{ uri: { prefix: '/x' } }],
        'x',
      ),
      [{ headers: { a: { exact: '1' } }, uri: { prefix: '/x' } }],
    );
    assert.deepEqual(
      andMatches(
        [{ uri: { prefix: '/API/' }, ignoreUriCase: true }],
        [{ uri: { prefix: '/api/v1' }, ignoreUriCase: true }],
        'x',
      ),
      [{ uri: { prefix: '/api/v1' }, ignoreUriCase: true }],
    );
  });

  it('does not change its inputs', () => {
    // deepFreeze makes a mutation throw; the result must be a separate copy too.
    const result = andMatches(testers, undefined, 'x')!;
    result[0].headers!.canary.exact = 'changed';
    assert.equal(testers[0].headers!.canary.exact, 'tester');
  });
});
