/**
 * Bearer-token authentication and an authorizer answering like RBAC does: two built-in roles,
 * or the rules an RBAC manifest grants a ServiceAccount (see apiserver-rbac.ts).
 */
import { grantsFor, type RbacPolicy } from './apiserver-rbac.ts';
import { forbidden, forbiddenPath, unauthorized } from './apiserver-status.ts';

/**
 * What a token may do: everything, read (get, list, and GET through the services proxy), or
 * what an RBAC policy grants.
 */
export type Role = 'admin' | 'read-only' | RbacPolicy;

/** An authenticated caller. */
export interface User {
  /** The user name error messages show. */
  name: string;
  role: Role;
}

/** The attributes RBAC decides on, as the apiserver's authorizer sees a request. */
export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name: string;
}

const READ_VERBS = new Set(['get', 'list', 'watch']);

/**
 * Finds the user behind the `Authorization: Bearer` header; 401 when it is missing or unknown.
 * A built-in role's user name is the role, so messages read `User "read-only" cannot ...`; an
 * RBAC policy's is its ServiceAccount's.
 */
export function authenticate(header: string | undefined, tokens: ReadonlyMap<string, Role>): User {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const role = match ? tokens.get(match[1]) : undefined;
  if (role === undefined) throw unauthorized();
  return { name: typeof role === 'string' ? role : role.user, role };
}

/** The authorizer's verb for an HTTP method on a collection or a named object. */
export function verbFor(method: string, named: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function denialReason(user: User, attrs: RequestAttributes): string {
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const where = attrs.namespace ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope';
  return `User "${user.name}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.group}" ${where}`;
}

/** Throws 403 (worded like RBAC) when the user may not perform the request. */
export function authorize(user: User, attrs: RequestAttributes): void {
  if (typeof user.role !== 'string') {
    if (grantsFor(user.role, attrs).length > 0) return;
  } else if (user.role === 'admin' || READ_VERBS.has(attrs.verb)) return;
  throw forbidden(
    { group: attrs.group, resource: attrs.resource },
    attrs.name,
    denialReason(user, attrs),
  );
}

/** Throws 403 for a non-resource path the user may not use (every authenticated user may GET discovery). */
export function authorizePath(user: User, verb: string, path: string): void {
  if (verb === 'get') return;
  throw forbiddenPath(user.name, verb, path);
}
