/**
 * Istio `HTTPMatchRequest` entries: validation of the ones a user gives as YAML by the rules of
 * Istio's webhook (so that nothing we write is refused halfway through a rollout), and the AND
 * of two match lists, which tester and caller routes need so that they only catch requests the
 * targeted route would have caught. Istio ANDs the conditions within one entry and ORs the
 * entries of a list, so `A AND B` is the list of every entry of A merged with every entry of B.
 * Regexes are read as RE2 reads them (regex.ts), never as JavaScript's RegExp.
 */
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { UserError } from '../errors.ts';
import { isDns1123Label } from './names.ts';
import { fullMatch, regexProblem } from './regex.ts';
import type { HTTPMatchRequest, StringMatch } from './types.ts';

/** The fields of an Istio HTTPMatchRequest, in the order Istio documents them. */
const STRING_FIELDS = ['uri', 'scheme', 'method', 'authority'] as const;
const MAP_FIELDS = ['headers', 'queryParams', 'withoutHeaders'] as const;
const TEXT_FIELDS = ['name', 'sourceNamespace', 'statPrefix'] as const;
const KNOWN_FIELDS: readonly string[] = [
  'name',
  ...STRING_FIELDS,
  'headers',
  'port',
  'sourceLabels',
  'gateways',
  'queryParams',
  'ignoreUriCase',
  'withoutHeaders',
  'sourceNamespace',
  'statPrefix',
];
const MATCH_KINDS = ['exact', 'prefix', 'regex'] as const;

/** RFC 7230 token characters: what Istio accepts in a header name it matches on. */
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;
/** HTTP/2 pseudo-headers Istio lets a match name. */
const PSEUDO_HEADERS = [':method', ':scheme', ':authority', ':path', ':status'];
/** Istio routes on JWT claims through this header-like name: `@request.auth.claims.groups`. */
const JWT_CLAIM_PREFIX = '@request.auth.claims';

/** How one StringMatch field is checked: Istio's rules differ a little between fields. */
interface StringRules {
  /** `{}` allowed: the header (or parameter) need only be present. */
  presence: boolean;
  /** `prefix: ""` allowed: only for uri, where Envoy accepts it. */
  emptyPrefix: boolean;
  /** `regex: "*"` allowed: withoutHeaders reads it as "present", not as a regex. */
  starRegex: boolean;
}

const RULES: Record<'uri' | 'value' | 'map' | 'without', StringRules> = {
  uri: { presence: false, emptyPrefix: true, starRegex: false },
  value: { presence: false, emptyPrefix: false, starRegex: false },
  map: { presence: true, emptyPrefix: false, starRegex: false },
  without: { presence: true, emptyPrefix: false, starRegex: true },
};

/**
 * Parses the YAML of a list of HTTPMatchRequest entries given in `input` (e.g. `canary-match`).
 * A single mapping counts as a list of one. Empty text is a UserError: a caller that treats the
 * input as optional checks for emptiness first.
 */
export function parseMatchList(text: string, input: string): HTTPMatchRequest[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UserError(`Input "${input}" is not valid YAML (${why}); expected ${FORM}`);
  }
  if (doc === null || doc === undefined || (Array.isArray(doc) && doc.length === 0)) {
    throw new UserError(`Input "${input}" must list at least one match entry; expected ${FORM}`);
  }
  const items: unknown[] = Array.isArray(doc) ? doc : [doc];
  return items.map((item, i) => validateMatchRequest(item, `Input "${input}", entry ${i + 1}`));
}

const FORM =
  'a YAML list of Istio HTTPMatchRequest entries, e.g. `- headers: {canary: {exact: tester}}`';

/**
 * Checks that `value` has the shape of an Istio HTTPMatchRequest and returns a copy. `where`
 * prefixes every error (e.g. `Input "canary-match", entry 2`), so a person finds the line.
 */
export function validateMatchRequest(value: unknown, where: string): HTTPMatchRequest {
  const fail = (why: string): never => {
    throw new UserError(`${where}: ${why}`);
  };
  if (!isRecord(value)) return fail(`expected a mapping of match conditions, got ${kindOf(value)}`);
  const unknown = Object.keys(value).filter((key) => !KNOWN_FIELDS.includes(key));
  if (unknown.length > 0) {
    fail(`unknown field ${unknown.join(', ')} (accepted: ${KNOWN_FIELDS.join(', ')})`);
  }
  if (Object.keys(value).every((key) => key === 'name' || key === 'statPrefix')) {
    fail('states no condition, so it would match every request; give headers, uri, ...');
  }
  for (const field of STRING_FIELDS) {
    if (field in value) {
      checkStringMatch(value[field], field, field === 'uri' ? RULES.uri : RULES.value, fail);
    }
  }
  for (const field of MAP_FIELDS) {
    if (!(field in value)) continue;
    const map = value[field];
    if (!isRecord(map) || Object.keys(map).length === 0) {
      fail(`${field} must be a non-empty mapping of names to {exact|prefix|regex: string}`);
    }
    for (const [name, match] of Object.entries(map as Record<string, unknown>)) {
      if (field !== 'queryParams') checkHeaderName(name, field, fail);
      const rules = field === 'withoutHeaders' ? RULES.without : RULES.map;
      checkStringMatch(match, `${field}.${name}`, rules, fail);
    }
  }
  checkScalars(value, fail);
  return structuredClone(value);
}

/**
 * A header name as Istio's webhook accepts it in a match: RFC 7230 token characters, an HTTP/2
 * pseudo-header, or a JWT claim (`@request.auth.claims.name` or `@request.auth.claims[name]`).
 */
function checkHeaderName(name: string, field: string, fail: (why: string) => never): void {
  if (name === '') fail(`${field} has an empty header name`);
  if (PSEUDO_HEADERS.includes(name) || isJwtClaim(name)) return;
  if (!HEADER_TOKEN.test(name)) {
    fail(
      `${field}: ${JSON.stringify(name)} is not a valid header name (letters, digits and ` +
        `!#$%&'*+-.^_\`|~ only, a pseudo-header such as :authority, or ${JWT_CLAIM_PREFIX}.<claim>)`,
    );
  }
}

function isJwtClaim(name: string): boolean {
  if (!name.toLowerCase().startsWith(JWT_CLAIM_PREFIX)) return false;
  const rest = name.slice(JWT_CLAIM_PREFIX.length);
  return (
    (rest.startsWith('.') && rest.length > 1) ||
    (rest.startsWith('[') && rest.endsWith(']') && rest.length > 2)
  );
}

function checkScalars(value: Record<string, unknown>, fail: (why: string) => never): void {
  for (const field of TEXT_FIELDS) {
    if (field in value && (typeof value[field] !== 'string' || value[field] === '')) {
      fail(`${field} must be a non-empty string`);
    }
  }
  if ('port' in value) {
    const port = value.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      fail(`port must be a port number from 1 to 65535, got ${JSON.stringify(port)}`);
    }
  }
  if (typeof value.sourceNamespace === 'string' && !isDns1123Label(value.sourceNamespace)) {
    fail(`sourceNamespace must be a namespace name, got ${JSON.stringify(value.sourceNamespace)}`);
  }
  if ('ignoreUriCase' in value && typeof value.ignoreUriCase !== 'boolean') {
    fail('ignoreUriCase must be true or false');
  }
  if ('sourceLabels' in value) {
    const labels = value.sourceLabels;
    const ok =
      isRecord(labels) &&
      Object.keys(labels).length > 0 &&
      Object.values(labels).every((v) => typeof v === 'string');
    if (!ok) fail('sourceLabels must be a non-empty mapping of label names to string values');
  }
  if ('gateways' in value) {
    const gateways = value.gateways;
    const ok =
      Array.isArray(gateways) &&
      gateways.length > 0 &&
      gateways.every((g) => typeof g === 'string' && g !== '');
    if (!ok) fail('gateways must be a non-empty list of gateway names');
  }
}

/**
 * One of exact/prefix/regex with a string, as Istio accepts it: a prefix is not empty (but for
 * uri), a regex is RE2 of at most 1024 bytes; header-like maps may also be `{}` (presence).
 */
function checkStringMatch(
  value: unknown,
  field: string,
  rules: StringRules,
  fail: (why: string) => never,
): void {
  const accepted = `{exact: ...}, {prefix: ...} or {regex: ...}${rules.presence ? ' (or {} for "present")' : ''}`;
  if (!isRecord(value)) {
    fail(`${field} must be ${accepted}, got ${kindOf(value)}`);
    return;
  }
  const keys = Object.keys(value);
  const kinds = keys.filter((key) => (MATCH_KINDS as readonly string[]).includes(key));
  if (keys.length !== kinds.length || kinds.length > 1 || (kinds.length === 0 && !rules.presence)) {
    fail(`${field} must be ${accepted}, got ${JSON.stringify(value)}`);
  }
  if (kinds.length === 0) return;
  const kind = kinds[0];
  const text = value[kind];
  if (typeof text !== 'string') {
    fail(`${field}.${kind} must be a string, got ${JSON.stringify(text)}`);
    return;
  }
  if (kind === 'prefix' && text === '' && !rules.emptyPrefix) {
    fail(
      `${field}.prefix must not be empty (Istio refuses an empty prefix here); use {} for "present"`,
    );
  }
  if (kind === 'regex' && !(rules.starRegex && text === '*')) {
    const problem = regexProblem(text);
    if (problem !== undefined) fail(`${field}.regex ${JSON.stringify(text)}: ${problem}`);
  }
}

/**
 * The match list that holds exactly when both `first` and `second` hold: every entry of one
 * merged with every entry of the other. An absent or empty list matches everything, so the other
 * is returned (copied). Pairs that can never hold together (`exact: a` and `exact: b`, disjoint
 * prefixes, different sourceLabels values) are left out; when every pair is, or when two
 * conditions on one field cannot be written as one (two regexes), it is a UserError that names
 * `what` (e.g. `input "canary-match" with route "primary"`).
 */
export function andMatches(
  first: HTTPMatchRequest[] | undefined,
  second: HTTPMatchRequest[] | undefined,
  what: string,
): HTTPMatchRequest[] | undefined {
  if (!first || first.length === 0) return second && second.length > 0 ? clone(second) : undefined;
  if (!second || second.length === 0) return clone(first);
  const merged: HTTPMatchRequest[] = [];
  for (const a of first) {
    for (const b of second) {
      const entry = mergeEntries(a, b, what);
      if (entry !== undefined && !merged.some((m) => isDeepStrictEqual(m, entry)))
        merged.push(entry);
    }
  }
  if (merged.length === 0) {
    throw new UserError(
      `The combination of ${what} can never match a request: every entry of one contradicts ` +
        `every entry of the other (${JSON.stringify(first)} and ${JSON.stringify(second)})`,
    );
  }
  return merged;
}

function clone(list: HTTPMatchRequest[]): HTTPMatchRequest[] {
  return structuredClone(list);
}

/** Why two conditions on one field cannot be one; thrown to the caller of andMatches. */
class Unmergeable extends Error {}

/** Returned by the field mergers for a pair that can never hold together. */
const NEVER = Symbol('never');

/**
 * One entry holding when both `a` and `b` hold, or undefined when they contradict. Fields keep
 * `a`'s order, `b`'s new fields follow. `name` and `statPrefix` only label the entry: `a`'s win.
 */
function mergeEntries(
  a: HTTPMatchRequest,
  b: HTTPMatchRequest,
  what: string,
): HTTPMatchRequest | undefined {
  const out: Record<string, unknown> = {};
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  try {
    for (const key of keys) {
      const value = mergeField(key, a, b);
      if (value === NEVER) return undefined;
      if (value !== undefined) out[key] = value;
    }
  } catch (error) {
    if (!(error instanceof Unmergeable)) throw error;
    throw new UserError(
      `Cannot combine ${what} into one Istio match entry: ${error.message}. Express the ` +
        `condition on another field, or with exact or prefix`,
    );
  }
  return out;
}

function mergeField(key: string, a: HTTPMatchRequest, b: HTTPMatchRequest): unknown {
  // The case rule belongs to the uri condition it qualifies, whichever side states the uri.
  if (key === 'ignoreUriCase') return 'uri' in a ? a.ignoreUriCase : b.ignoreUriCase;
  const inA = key in a;
  const inB = key in b;
  if (!inA || !inB) return structuredClone(inA ? a[key] : b[key]);
  if (key === 'name' || key === 'statPrefix') return a[key];
  if (key === 'uri') return mergeUri(a, b);
  if ((STRING_FIELDS as readonly string[]).includes(key)) {
    return mergeStringMatch(a[key] as StringMatch, b[key] as StringMatch, key, false);
  }
  if (key === 'headers' || key === 'queryParams') {
    return mergeMaps(a[key] as StringMatches, b[key] as StringMatches, key);
  }
  if (key === 'sourceLabels') return mergeLabels(a.sourceLabels ?? {}, b.sourceLabels ?? {});
  if (key === 'gateways') return mergeGateways(a.gateways as string[], b.gateways as string[]);
  if (isDeepStrictEqual(a[key], b[key])) return structuredClone(a[key]);
  // One value of port, sourceNamespace, ...: two different ones never hold at once.
  if (key === 'port' || key === 'sourceNamespace') return NEVER;
  // Two different withoutHeaders maps (or an unknown field) would need one entry per negation.
  throw new Unmergeable(
    `both give ${key} (${JSON.stringify(a[key])} and ${JSON.stringify(b[key])})`,
  );
}

type StringMatches = Record<string, StringMatch>;

/** `uri` with `ignoreUriCase`: both sides must agree on the case rule to be compared. */
function mergeUri(a: HTTPMatchRequest, b: HTTPMatchRequest): unknown {
  const foldA = a.ignoreUriCase === true;
  const foldB = b.ignoreUriCase === true;
  if (foldA !== foldB) {
    throw new Unmergeable(
      `both match uri, one ignoring case and one not (${JSON.stringify(a.uri)} and ${JSON.stringify(b.uri)})`,
    );
  }
  return mergeStringMatch(a.uri as StringMatch, b.uri as StringMatch, 'uri', foldA);
}

function mergeMaps(a: StringMatches, b: StringMatches, field: string): unknown {
  const out: Record<string, unknown> = {};
  for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])]) {
    if (!(name in a) || !(name in b)) {
      out[name] = structuredClone(name in a ? a[name] : b[name]);
      continue;
    }
    const merged = mergeStringMatch(a[name], b[name], `${field}.${name}`, false);
    if (merged === NEVER) return NEVER;
    out[name] = merged;
  }
  return out;
}

function mergeLabels(a: Record<string, string>, b: Record<string, string>): unknown {
  const out: Record<string, string> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    if (key in out && out[key] !== value) return NEVER;
    out[key] = value;
  }
  return out;
}

/** A request arrives through one gateway, so both lists hold for the gateways they share. */
function mergeGateways(a: string[], b: string[]): unknown {
  const shared = a.filter((g) => b.includes(g));
  return shared.length > 0 ? shared : NEVER;
}

/**
 * One StringMatch holding when both hold: the narrower of the two when one implies the other,
 * NEVER when they exclude each other, Unmergeable when that cannot be decided (regexes).
 */
function mergeStringMatch(
  a: StringMatch,
  b: StringMatch,
  field: string,
  ignoreCase: boolean,
): StringMatch | typeof NEVER {
  if (isDeepStrictEqual(a, b)) return structuredClone(a);
  const [ka, va] = kindAndValue(a);
  const [kb, vb] = kindAndValue(b);
  // `{}` only asks that the header be present, which any other condition on it implies.
  if (ka === undefined) return structuredClone(b);
  if (kb === undefined) return structuredClone(a);
  const fold = (s: string): string => (ignoreCase ? s.toLowerCase() : s);
  if (ka === 'exact' || kb === 'exact') {
    const [exact, other, otherKind] = ka === 'exact' ? [va, vb, kb] : [vb, va, ka];
    return holds(otherKind, other, exact, ignoreCase, field) ? { exact } : NEVER;
  }
  if (ka === 'prefix' && kb === 'prefix') {
    if (fold(va).startsWith(fold(vb))) return { prefix: va };
    if (fold(vb).startsWith(fold(va))) return { prefix: vb };
    return NEVER;
  }
  throw new Unmergeable(
    `both match ${field} (${JSON.stringify(a)} and ${JSON.stringify(b)}), and whether one ` +
      `implies the other cannot be decided`,
  );
}

/** Whether the value `exact` satisfies the condition `kind: value`, regexes read as RE2. */
function holds(
  kind: string,
  value: string,
  exact: string,
  ignoreCase: boolean,
  field: string,
): boolean {
  const fold = (s: string): string => (ignoreCase ? s.toLowerCase() : s);
  if (kind === 'exact') return fold(exact) === fold(value);
  if (kind === 'prefix') return fold(exact).startsWith(fold(value));
  const problem = regexProblem(value);
  if (problem !== undefined) {
    throw new Unmergeable(
      `the regex ${JSON.stringify(value)} of ${field} is not valid: ${problem}`,
    );
  }
  if (ignoreCase) {
    // Envoy ignores the uri case for exact and prefix, never for a regex: which spellings of
    // the exact value the regex accepts cannot be written as one condition.
    throw new Unmergeable(
      `${field} ignores case, and the regex ${JSON.stringify(value)} does not, so the two cannot be one condition`,
    );
  }
  return fullMatch(value, exact);
}

function kindAndValue(match: StringMatch): [string | undefined, string] {
  for (const kind of MATCH_KINDS) {
    const value = match[kind];
    if (typeof value === 'string') return [kind, value];
  }
  return [undefined, ''];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? JSON.stringify(value) : `a ${typeof value}`;
}
