/**
 * A very small PromQL, enough for the sandbox demo to run on machines without a `prometheus`
 * binary: instant selectors and one aggregation (`sum by (...) (metric{...})`) over the
 * simulator's current counters. Anything else is refused with a message that says so, rather
 * than answered wrongly.
 */
import type { Sample } from '../metrics/types.ts';

/** Why the evaluator refused a query; the HTTP layer answers 400 `bad_data` with the message. */
export class PromqlLiteError extends Error {
  override name = 'PromqlLiteError';
}

/** What to say when a query needs real Prometheus. */
export const UNSUPPORTED_HINT =
  "the sandbox's built-in evaluator supports only sum by (...) over counter selectors " +
  '(metric{label="v"}, =, !=, =~, !~); install Prometheus (sudo apt-get install -y prometheus) for full PromQL';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
}

export interface Selector {
  /** The metric name, or undefined when only matchers select (`{__name__=~"..."}`). */
  metric: string | undefined;
  matchers: Matcher[];
}

export type Aggregator = 'sum' | 'count' | 'min' | 'max' | 'avg';

export interface Grouping {
  mode: 'by' | 'without';
  labels: string[];
}

/** A parsed query: a bare selector, or one aggregation over a selector. */
export type LiteQuery =
  | { kind: 'selector'; selector: Selector }
  | { kind: 'aggregate'; op: Aggregator; grouping: Grouping | undefined; selector: Selector };

/** A counter sample the evaluator selects from. */
export interface LiteSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

type TokenKind = 'ident' | 'string' | 'number' | 'punct' | 'op' | 'eof';

interface Token {
  kind: TokenKind;
  text: string;
  pos: number;
}

const PUNCT = new Set(['{', '}', '(', ')', ',', '[', ']']);
const OPERATORS = [
  '=~',
  '!~',
  '!=',
  '==',
  '>=',
  '<=',
  '=',
  '>',
  '<',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '@',
];
const IDENT_START = /[A-Za-z_:]/;
const IDENT_PART = /[A-Za-z0-9_:]/;
const AGGREGATORS = new Set<string>(['sum', 'count', 'min', 'max', 'avg']);

function syntaxError(pos: number, message: string): PromqlLiteError {
  return new PromqlLiteError(`parse error at char ${pos + 1}: ${message}`);
}

function unsupported(what: string): PromqlLiteError {
  return new PromqlLiteError(`${what} is not supported: ${UNSUPPORTED_HINT}`);
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** Reads a quoted string starting at `start` (the quote); returns its value and the end index. */
function readString(query: string, start: number): { value: string; end: number } {
  const quote = query[start];
  let value = '';
  let i = start + 1;
  while (i < query.length) {
    const c = query[i];
    if (c === quote) return { value, end: i + 1 };
    if (c === '\\' && quote !== '`') {
      const escaped = ESCAPES[query[i + 1] ?? ''];
      if (escaped === undefined) throw syntaxError(i, 'unknown escape sequence in string');
      value += escaped;
      i += 2;
      continue;
    }
    if (c === '\n' && quote !== '`') break;
    value += c;
    i++;
  }
  throw syntaxError(start, 'unterminated string');
}

function readWhile(query: string, start: number, re: RegExp): number {
  let i = start;
  while (i < query.length && re.test(query[i])) i++;
  return i;
}

/** Splits a query into tokens; numbers and operators are kept so the parser can name them. */
export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i];
    if (/\s/.test(c)) i++;
    else if (c === '#') i = readWhile(query, i, /[^\n]/);
    else if (c === '"' || c === "'" || c === '`') {
      const { value, end } = readString(query, i);
      tokens.push({ kind: 'string', text: value, pos: i });
      i = end;
    } else if (IDENT_START.test(c)) {
      const end = readWhile(query, i, IDENT_PART);
      tokens.push({ kind: 'ident', text: query.slice(i, end), pos: i });
      i = end;
    } else if (/[0-9.]/.test(c)) {
      const end = readWhile(query, i, /[0-9A-Za-z.+]/);
      tokens.push({ kind: 'number', text: query.slice(i, end), pos: i });
      i = end;
    } else if (PUNCT.has(c)) {
      tokens.push({ kind: 'punct', text: c, pos: i++ });
    } else {
      const op = OPERATORS.find((o) => query.startsWith(o, i));
      if (op === undefined) throw syntaxError(i, `unexpected character ${JSON.stringify(c)}`);
      tokens.push({ kind: 'op', text: op, pos: i });
      i += op.length;
    }
  }
  tokens.push({ kind: 'eof', text: '', pos: query.length });
  return tokens;
}

/** Recursive descent over the token list; one instance per query. */
class Parser {
  private index = 0;
  private readonly tokens: Token[];

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.index++;
    return token;
  }

  private isPunct(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'punct' && t.text === text;
  }

  private expectPunct(text: string): void {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== text)
      throw syntaxError(t.pos, `expected "${text}", found ${describe(t)}`);
  }

  /** In a list: a comma (then more, or the end), or the closing bracket itself. */
  private expectSeparator(close: string): void {
    if (this.isPunct(close)) return;
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== ',')
      throw syntaxError(t.pos, `expected "," or "${close}", found ${describe(t)}`);
  }

  parseQuery(): LiteQuery {
    const query = this.parseExpression();
    const rest = this.peek();
    if (rest.kind === 'op') throw unsupported(`the binary operator "${rest.text}"`);
    if (rest.kind !== 'eof') throw syntaxError(rest.pos, `unexpected ${describe(rest)}`);
    return query;
  }

  private parseExpression(): LiteQuery {
    const t = this.peek();
    if (t.kind === 'number') throw unsupported(`the number literal "${t.text}"`);
    if (t.kind === 'string') throw unsupported('a string literal');
    if (t.kind === 'op') throw unsupported(`the operator "${t.text}"`);
    if (this.isPunct('(')) throw unsupported('a parenthesised expression');
    if (t.kind === 'ident' && this.startsCall()) return this.parseAggregate();
    return { kind: 'selector', selector: this.parseSelector() };
  }

  /** An identifier followed by `(`, `by` or `without` is a call, not a metric name. */
  private startsCall(): boolean {
    const after = this.peek(1);
    return (
      this.isPunct('(', 1) ||
      (AGGREGATORS.has(this.peek().text) &&
        after.kind === 'ident' &&
        (after.text === 'by' || after.text === 'without'))
    );
  }

  private parseAggregate(): LiteQuery {
    const name = this.next();
    if (!AGGREGATORS.has(name.text))
      throw unsupported(`the function or aggregation "${name.text}"`);
    let grouping = this.parseGrouping();
    this.expectPunct('(');
    const inner = this.parseExpression();
    if (inner.kind !== 'selector') throw unsupported('a nested aggregation');
    this.expectPunct(')');
    const trailing = this.parseGrouping();
    if (trailing !== undefined) {
      if (grouping !== undefined) throw syntaxError(this.peek().pos, 'grouping given twice');
      grouping = trailing;
    }
    return { kind: 'aggregate', op: name.text as Aggregator, grouping, selector: inner.selector };
  }

  private parseGrouping(): Grouping | undefined {
    const t = this.peek();
    if (t.kind !== 'ident' || (t.text !== 'by' && t.text !== 'without')) return undefined;
    this.next();
    this.expectPunct('(');
    const labels: string[] = [];
    while (!this.isPunct(')')) {
      const label = this.next();
      if (label.kind !== 'ident')
        throw syntaxError(label.pos, `expected a label name, found ${describe(label)}`);
      labels.push(label.text);
      this.expectSeparator(')');
    }
    this.expectPunct(')');
    return { mode: t.text, labels };
  }

  private parseSelector(): Selector {
    let metric: string | undefined;
    const first = this.peek();
    if (first.kind === 'ident') metric = this.next().text;
    else if (!this.isPunct('{'))
      throw syntaxError(first.pos, `expected a metric name, found ${describe(first)}`);
    const matchers = this.isPunct('{') ? this.parseMatchers() : [];
    if (metric === undefined && matchers.every((m) => accepts(m, '')))
      throw syntaxError(
        first.pos,
        'a selector needs a metric name or a matcher that excludes empty values',
      );
    if (this.isPunct('[')) throw unsupported('a range vector');
    const after = this.peek();
    if (after.kind === 'ident' && after.text === 'offset') throw unsupported('offset');
    if (after.kind === 'op' && after.text === '@') throw unsupported('the @ modifier');
    return { metric, matchers };
  }

  private parseMatchers(): Matcher[] {
    this.expectPunct('{');
    const matchers: Matcher[] = [];
    while (!this.isPunct('}')) {
      matchers.push(this.parseMatcher());
      this.expectSeparator('}');
    }
    this.expectPunct('}');
    return matchers;
  }

  private parseMatcher(): Matcher {
    const label = this.next();
    if (label.kind !== 'ident')
      throw syntaxError(label.pos, `expected a label name, found ${describe(label)}`);
    const op = this.next();
    if (op.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(op.text))
      throw syntaxError(op.pos, `expected one of =, !=, =~, !~, found ${describe(op)}`);
    const value = this.next();
    if (value.kind !== 'string')
      throw syntaxError(value.pos, `expected a quoted string, found ${describe(value)}`);
    const matcher: Matcher = { label: label.text, op: op.text as MatchOp, value: value.text };
    if (matcher.op === '=~' || matcher.op === '!~') anchoredRegex(matcher);
    return matcher;
  }
}

function describe(token: Token): string {
  return token.kind === 'eof' ? 'end of query' : `"${token.text}"`;
}

const regexCache = new Map<string, RegExp>();

/** PromQL regex matchers are anchored at both ends. */
function anchoredRegex(matcher: Matcher): RegExp {
  const cached = regexCache.get(matcher.value);
  if (cached !== undefined) return cached;
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${matcher.value})$`);
  } catch (err) {
    throw new PromqlLiteError(
      `invalid regular expression in matcher for "${matcher.label}": ${(err as Error).message}`,
    );
  }
  if (regexCache.size > 1000) regexCache.clear();
  regexCache.set(matcher.value, re);
  return re;
}

/** Parses a query of the supported subset; throws PromqlLiteError for anything else. */
export function parsePromql(query: string): LiteQuery {
  return new Parser(tokenize(query)).parseQuery();
}

function accepts(m: Matcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return anchoredRegex(m).test(value);
    case '!~':
      return !anchoredRegex(m).test(value);
  }
}

function matches(sample: LiteSample, selector: Selector): boolean {
  if (selector.metric !== undefined && sample.name !== selector.metric) return false;
  return selector.matchers.every((m) =>
    accepts(m, m.label === '__name__' ? sample.name : (sample.labels[m.label] ?? '')),
  );
}

/** The labels an aggregation keeps; empty values are dropped, as Prometheus does. */
function groupLabels(
  labels: Record<string, string>,
  grouping: Grouping | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (grouping === undefined) return out;
  for (const [name, value] of Object.entries(labels)) {
    if (value === '') continue;
    const listed = grouping.labels.includes(name);
    if (grouping.mode === 'by' ? listed : !listed) out[name] = value;
  }
  return out;
}

interface Group {
  labels: Record<string, string>;
  sum: number;
  count: number;
  min: number;
  max: number;
}

function aggregateValue(op: Aggregator, group: Group): number {
  switch (op) {
    case 'sum':
      return group.sum;
    case 'count':
      return group.count;
    case 'min':
      return group.min;
    case 'max':
      return group.max;
    case 'avg':
      return group.sum / group.count;
  }
}

function aggregate(
  query: Extract<LiteQuery, { kind: 'aggregate' }>,
  selected: LiteSample[],
): Sample[] {
  const groups = new Map<string, Group>();
  for (const sample of selected) {
    const labels = groupLabels(sample.labels, query.grouping);
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, {
        labels,
        sum: sample.value,
        count: 1,
        min: sample.value,
        max: sample.value,
      });
    } else {
      group.sum += sample.value;
      group.count++;
      group.min = Math.min(group.min, sample.value);
      group.max = Math.max(group.max, sample.value);
    }
  }
  return [...groups.values()].map((g) => ({
    labels: g.labels,
    value: aggregateValue(query.op, g),
  }));
}

/** Evaluates a parsed query over samples, like an instant query at the moment they were taken. */
export function evaluate(query: LiteQuery, samples: Iterable<LiteSample>): Sample[] {
  const selected: LiteSample[] = [];
  for (const sample of samples) if (matches(sample, query.selector)) selected.push(sample);
  if (query.kind === 'aggregate') return aggregate(query, selected);
  return selected.map((s) => ({ labels: { __name__: s.name, ...s.labels }, value: s.value }));
}

/** Formats a sample value the way the Prometheus HTTP API does. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** The body of a successful `/api/v1/query` answer. */
export function vectorResponse(samples: Sample[], timeSeconds: number): unknown {
  return {
    status: 'success',
    data: {
      resultType: 'vector',
      result: samples.map((s) => ({
        metric: s.labels,
        value: [timeSeconds, formatValue(s.value)],
      })),
    },
  };
}
