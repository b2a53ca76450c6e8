/** JSON Patch (RFC 6902) and JSON Merge Patch (RFC 7386) over plain JSON values. */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The patch document is malformed (the server answers 400). */
export class PatchFormatError extends Error {}

/** The patch is well formed but does not apply, e.g. a failed `test` (the server answers 422). */
export class PatchApplyError extends Error {}

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
  hasValue: boolean;
}

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural equality of JSON values (key order ignored), as RFC 6902 `test` requires. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => k in b && jsonEqual(a[k], b[k]))
    );
  }
  return false;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchApplyError(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, allowEnd: boolean): number {
  if (allowEnd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchApplyError(`invalid array index "${token}"`);
  const index = Number(token);
  if (index > length || (!allowEnd && index === length)) {
    throw new PatchApplyError(`array index ${index} out of bounds`);
  }
  return index;
}

function child(container: Json, token: string): Json {
  if (Array.isArray(container)) return container[arrayIndex(token, container.length, false)]!;
  if (isObject(container) && Object.prototype.hasOwnProperty.call(container, token))
    return container[token]!;
  throw new PatchApplyError(`missing path element "${token}"`);
}

function resolve(doc: Json, tokens: string[]): Json {
  return tokens.reduce(child, doc);
}

/** Returns the container of the pointer's last token, plus that token. */
function parentOf(doc: Json, pointer: string): { parent: Json; key: string } {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0)
    throw new PatchApplyError('operation on the document root is not supported');
  return { parent: resolve(doc, tokens.slice(0, -1)), key: tokens[tokens.length - 1] };
}

function addAt(doc: Json, pointer: string, value: Json): Json {
  if (pointer === '') return value;
  const { parent, key } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(key, parent.length, true), 0, value);
  else if (isObject(parent)) parent[key] = value;
  else throw new PatchApplyError(`cannot add "${key}" to a scalar`);
  return doc;
}

function removeAt(doc: Json, pointer: string): { doc: Json; removed: Json } {
  const { parent, key } = parentOf(doc, pointer);
  const removed = child(parent, key);
  if (Array.isArray(parent)) parent.splice(arrayIndex(key, parent.length, false), 1);
  else delete (parent as Record<string, Json>)[key];
  return { doc, removed };
}

function replaceAt(doc: Json, pointer: string, value: Json): Json {
  if (pointer === '') return value;
  const { parent, key } = parentOf(doc, pointer);
  child(parent, key);
  if (Array.isArray(parent)) parent[arrayIndex(key, parent.length, false)] = value;
  else (parent as Record<string, Json>)[key] = value;
  return doc;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function applyOne(doc: Json, op: Operation): Json {
  const needValue = (): Json => {
    if (!op.hasValue) throw new PatchApplyError(`"${op.op}" operation has no value`);
    return clone(op.value!);
  };
  const needFrom = (): string => {
    if (op.from === undefined) throw new PatchApplyError(`"${op.op}" operation has no from`);
    return op.from;
  };
  switch (op.op) {
    case 'add':
      return addAt(doc, op.path, needValue());
    case 'remove':
      return removeAt(doc, op.path).doc;
    case 'replace':
      return replaceAt(doc, op.path, needValue());
    case 'move': {
      const { doc: rest, removed } = removeAt(doc, needFrom());
      return addAt(rest, op.path, removed);
    }
    case 'copy':
      return addAt(doc, op.path, clone(resolve(doc, parsePointer(needFrom()))));
    case 'test':
      if (!jsonEqual(resolve(doc, parsePointer(op.path)), needValue())) {
        throw new PatchApplyError(`testing value ${op.path} failed`);
      }
      return doc;
    default:
      throw new PatchApplyError(`unexpected kind: ${op.op}`);
  }
}

function decodeOperations(patch: unknown): Operation[] {
  if (!Array.isArray(patch)) {
    throw new PatchFormatError(
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
  }
  return patch.map((raw): Operation => {
    if (!isObject(raw))
      throw new PatchFormatError('json: cannot unmarshal a non-object into jsonpatch.Operation');
    const op: Operation = {
      op: typeof raw.op === 'string' ? raw.op : '',
      path: typeof raw.path === 'string' ? raw.path : '',
      hasValue: 'value' in raw,
    };
    if (typeof raw.from === 'string') op.from = raw.from;
    if ('value' in raw) op.value = raw.value!;
    return op;
  });
}

/** Applies an RFC 6902 patch to a copy of `doc`; all operations or none. */
export function applyJsonPatch(doc: Json, patch: unknown): Json {
  return decodeOperations(patch).reduce(applyOne, clone(doc));
}

/** Applies an RFC 7386 merge patch to a copy of `doc`: objects merge, `null` deletes, the rest replaces. */
export function applyMergePatch(doc: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const target: Record<string, Json> = isObject(doc) ? clone(doc) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete target[key];
    else target[key] = applyMergePatch(target[key] ?? null, value);
  }
  return target;
}
