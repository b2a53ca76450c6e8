/**
 * Label and field selectors with the set-based grammar of k8s.io/apimachinery `labels.Parse`:
 * `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, comma-separated (AND).
 */

import { asText } from './apiserver-json.ts';

/** One requirement of a selector. */
export interface Requirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!';
  values: string[];
}

/** A parse failure; the server answers 400 with its message. */
export class SelectorError extends Error {}

/** Splits on commas that are not inside a parenthesised value list. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

const KEY =
  /^([a-z0-9A-Z]([a-z0-9A-Z._-]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([a-z0-9A-Z._-]{0,61}[a-z0-9A-Z])?$/;
const VALUE = /^([a-z0-9A-Z]([a-z0-9A-Z._-]{0,61}[a-z0-9A-Z])?)?$/;

function checkKey(key: string): string {
  if (!KEY.test(key))
    throw new SelectorError(`unable to parse requirement: invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (!VALUE.test(value))
    throw new SelectorError(`unable to parse requirement: invalid label value: "${value}"`);
  return value;
}

function parseSet(key: string, op: 'in' | 'notin', list: string): Requirement {
  const inner = list.trim();
  if (!inner.startsWith('(') || !inner.endsWith(')')) {
    throw new SelectorError(`unable to parse requirement: found '${inner}', expected: '('`);
  }
  const values = inner
    .slice(1, -1)
    .split(',')
    .map((v) => checkValue(v.trim()));
  return { key: checkKey(key), op, values };
}

function parseRequirement(text: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s*(\(.*\))$/.exec(text);
  if (set) return parseSet(set[1], set[2] as 'in' | 'notin', set[3]);
  const equality = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(text);
  if (equality) {
    const [, key, op, value] = equality;
    const values = [checkValue(value.trim())];
    return { key: checkKey(key), op: op === '!=' ? 'notin' : 'in', values };
  }
  if (text.startsWith('!')) return { key: checkKey(text.slice(1).trim()), op: '!', values: [] };
  return { key: checkKey(text), op: 'exists', values: [] };
}

/** Parses a label selector; the empty selector matches everything. */
export function parseLabelSelector(selector: string): Requirement[] {
  if (selector.trim() === '') return [];
  return splitTopLevel(selector).map((part) => {
    if (part === '')
      throw new SelectorError(`unable to parse requirement: empty requirement in "${selector}"`);
    return parseRequirement(part);
  });
}

function matchesOne(req: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  switch (req.op) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'in':
      return has && req.values.includes(labels[req.key]);
    case 'notin':
      return !has || !req.values.includes(labels[req.key]);
  }
}

/** True when the labels satisfy every requirement. */
export function matchesLabels(
  requirements: Requirement[],
  labels: Record<string, string> | undefined,
): boolean {
  return requirements.every((r) => matchesOne(r, labels ?? {}));
}

const FIELD_PATHS: Record<string, (meta: Record<string, unknown>) => unknown> = {
  'metadata.name': (meta) => meta.name,
  'metadata.namespace': (meta) => meta.namespace,
};

/** A parsed field selector: the fields every object must (or must not) have. */
export interface FieldRequirement {
  field: string;
  value: string;
  equal: boolean;
}

/** Parses a field selector; only `metadata.name` and `metadata.namespace` are supported, as for CRDs. */
export function parseFieldSelector(selector: string): FieldRequirement[] {
  if (selector.trim() === '') return [];
  return selector.split(',').map((part) => {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw new SelectorError(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = m[1];
    if (!(field in FIELD_PATHS)) throw new SelectorError(`field label not supported: ${field}`);
    return { field, value: m[3], equal: m[2] !== '!=' };
  });
}

/** True when the object's metadata satisfies every field requirement. */
export function matchesFields(
  requirements: FieldRequirement[],
  meta: Record<string, unknown>,
): boolean {
  return requirements.every((r) => (asText(FIELD_PATHS[r.field](meta)) === r.value) === r.equal);
}
