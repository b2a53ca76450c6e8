// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { andMatches, parseMatchList } from '../../src/istio/match.ts';
import { fullMatch, MAX_REGEX_BYTES, regexProblem } from '../../src/istio/regex.ts';
import type { HTTPMatchRequest } from '../../src/istio/types.ts';
import { matchString } from '../../src/sandbox/simulator-routing.ts';

function userError(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

/** `canary-match` with one entry, given as JSON (which is YAML too). */
function parse(entry: Record<string, unknown>): HTTPMatchRequest[] {
  return parseMatchList(JSON.stringify([entry]), 'canary-match');
}

function header(name: string, match: Record<string, string>): Record<string, unknown> {
  return { headers: { [name]: match } };
}

void describe('regexProblem and fullMatch: Istio regexes are RE2', () => {
  void it('reads the RE2 forms JavaScript misreads, matching the whole value', () => {
    const cases: [string, string, boolean][] = [
      ['[[:digit:]]+', '2024', true],
      ['[[:digit:]]+', ':dig]', false],
      ['\\Qa.b\\E', 'a.b', true],
      ['\\Qa.b\\E', 'axb', false],
      ['\\x{41}', 'A', true],
      ['\\pL+', 'Größe', true],
      ['\\pL+', 'v2', false],
      ['user=dev', 'user=dev-123', false],
      ['^(.*?;)?(user=dev-123)(;.*)?', 'a=1;user=dev-123', true],
    ];
    for (const [regex, value, expected] of cases) {
      assert.equal(regexProblem(regex), undefined, regex);
      assert.equal(fullMatch(regex, value), expected, `${regex} on ${JSON.stringify(value)}`);
    }
  });

  void it('refuses what Istio refuses: lookaround, backreferences, empty, too long', () => {
    for (const regex of ['(?=a)b', '(?!a)b', '(?<=a)b', '(a)\\1', 'a++', '[a']) {
      assert.ok(regexProblem(regex), `${regex} must be refused`);
    }
    assert.match(regexProblem('(?=a)b')!, /RE2: no lookahead, lookbehind or backreferences/);
    assert.equal(regexProblem(''), 'the regex is empty');
    assert.equal(regexProblem('a'.repeat(MAX_REGEX_BYTES)), undefined);
    assert.match(regexProblem('a'.repeat(MAX_REGEX_BYTES + 1))!, /1025 bytes long.*at most 1024/);
    // Istio counts bytes, as Go's len does: 513 two-byte letters are too long.
    assert.match(regexProblem('é'.repeat(513))!, /1026 bytes long/);
    assert.throws(() => fullMatch('(?=a)b', 'b'), RangeError);
  });
});

void describe('canary-match validated by the rules of Istio’s webhook', () => {
  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['a lookahead', header('x-user', { regex: '(?=qa).*' }), /headers\.x-user\.regex .*RE2/],
    ['a backreference', header('cookie', { regex: '(a)\\1' }), /cookie\.regex .*\\\\1/],
    ['an over-long regex', { uri: { regex: 'a'.repeat(1025) } }, /uri\.regex .*1025 bytes/],
    ['an empty regex', header('x-user', { regex: '' }), /the regex is empty/],
    [
      'an empty header prefix',
      header('x-user', { prefix: '' }),
      /x-user\.prefix must not be empty/,
    ],
    ['an empty authority prefix', { authority: { prefix: '' } }, /authority\.prefix must not be/],
    [
      'an empty withoutHeaders prefix',
      { withoutHeaders: { 'x-bot': { prefix: '' } } },
      /withoutHeaders\.x-bot\.prefix must not be empty/,
    ],
    ['a header name with a space', header('x user', { exact: 'a' }), /"x user" is not a valid/],
    ['a header name with a colon', header('x:user', { exact: 'a' }), /"x:user" is not a valid/],
    ['a non-ASCII header name', header('über', { exact: 'a' }), /"über" is not a valid header/],
    ['an empty header name', header('', { exact: 'a' }), /headers has an empty header name/],
    ['a bare claim prefix', header('@request.auth.claims', { exact: 'a' }), /not a valid/],
    ['an invalid sourceNamespace', { sourceNamespace: 'QA_team' }, /sourceNamespace must be/],
  ];
  for (const [what, entry, pattern] of refused) {
    void it(`refuses ${what}`, () => {
      assert.throws(() => parse(entry), userError(/^Input "canary-match", entry 1: /));
      assert.throws(() => parse(entry), userError(pattern));
    });
  }

  void it('accepts what Istio accepts', () => {
    const accepted: Record<string, unknown>[] = [
      { uri: { prefix: '' } },
      { uri: { regex: 'a'.repeat(1024) } },
      header('X-Canary', { regex: '[[:alpha:]]+\\Q.v2\\E' }),
      header(':authority', { exact: 'shop.example.com' }),
      header('@request.auth.claims.groups', { exact: 'qa' }),
      header('@request.auth.claims[nested][key]', { exact: 'qa' }),
      { withoutHeaders: { 'x-bot': { regex: '*' } } },
      { queryParams: { 'any name': { regex: '\\pL+' } } },
    ];
    for (const entry of accepted) assert.deepEqual(parse(entry), [entry]);
  });
});

void describe('andMatches reasons about regexes as RE2 does', () => {
  const what = 'input "canary-match" with the match of route "primary"';

  void it('keeps a tester regex that JavaScript would call contradictory', () => {
    const cases: [string, string][] = [
      ['[[:digit:]]+', '42'],
      ['\\Qv2.beta\\E', 'v2.beta'],
      ['\\x{41}\\x{42}', 'AB'],
      ['\\pL+', 'qä'],
    ];
    for (const [regex, exact] of cases) {
      const merged = andMatches(
        [{ headers: { 'x-user': { regex } } }],
        [{ headers: { 'x-user': { exact } } }],
        what,
      );
      assert.deepEqual(merged, [{ headers: { 'x-user': { exact } } }], regex);
    }
  });

  void it('never drops a tester entry that holds, nor keeps one that cannot', () => {
    // The route takes x-user 7 or anything under /api/. JavaScript reads [[:digit:]] as a set of
    // the characters "[:digt" followed by "]", and \Q...\E as the letters Q and E.
    const route: HTTPMatchRequest[] = [
      { headers: { 'x-user': { exact: '7' } } },
      { uri: { prefix: '/api/' } },
    ];
    assert.deepEqual(
      andMatches([{ headers: { 'x-user': { regex: '[[:digit:]]' } } }], route, what),
      [
        { headers: { 'x-user': { exact: '7' } } },
        { headers: { 'x-user': { regex: '[[:digit:]]' } }, uri: { prefix: '/api/' } },
      ],
    );
    const quoted: HTTPMatchRequest[] = [
      { headers: { 'x-user': { exact: 'QaE' } } },
      { uri: { prefix: '/api/' } },
    ];
    // "QaE" is no match of \Qa\E (only "a" is): that pair can never hold and must go.
    assert.deepEqual(andMatches([{ headers: { 'x-user': { regex: '\\Qa\\E' } } }], quoted, what), [
      { headers: { 'x-user': { regex: '\\Qa\\E' } }, uri: { prefix: '/api/' } },
    ]);
  });

  void it("refuses a route's own regex that Istio would refuse, naming it", () => {
    assert.throws(
      () =>
        andMatches(
          [{ headers: { 'x-user': { exact: 'qa' } } }],
          [{ headers: { 'x-user': { regex: '(?=q)\\w+' } } }],
          what,
        ),
      userError(/^Cannot combine .*"\(\?=q\)\\\\w\+" of headers\.x-user is not valid.*RE2/),
    );
  });

  void it('refuses to decide a case-insensitive uri against a case-sensitive regex', () => {
    assert.throws(
      () =>
        andMatches(
          [{ uri: { exact: '/Beta' }, ignoreUriCase: true }],
          [{ uri: { regex: '/[a-z]+' }, ignoreUriCase: true }],
          what,
        ),
      userError(/uri ignores case, and the regex "\/\[a-z\]\+" does not/),
    );
  });
});

void describe('the sandbox simulator', () => {
  void it('routes by RE2 too, so end-to-end tests see what Envoy would do', () => {
    assert.equal(matchString({ regex: '[[:digit:]]+' }, '42'), true);
    assert.equal(matchString({ regex: '\\Qa.b\\E' }, 'axb'), false);
    assert.equal(
      matchString({ regex: '(?=a)a' }, 'a'),
      false,
      'Istio refuses it: it never matches',
    );
  });
});
