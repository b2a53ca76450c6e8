/** Turns a request path into what it addresses: discovery, a resource (collection or object), or the services proxy. */

/** A request for objects of a resource. */
export interface ResourcePath {
  kind: 'resource';
  group: string;
  version: string;
  plural: string;
  /** Undefined for cluster-scoped resources and all-namespaces lists. */
  namespace?: string;
  /** Undefined for collection requests. */
  name?: string;
  /** e.g. `status`; the server serves none, so these are 404s. */
  subresource?: string;
}

/** A request through the services proxy: `/api/v1/namespaces/<ns>/services/<spec>/proxy/<path>`. */
export interface ProxyPath {
  kind: 'proxy';
  namespace: string;
  /** `name`, `name:port` or `scheme:name:port`. */
  serviceSpec: string;
  /** The path to forward, starting with `/`. */
  path: string;
}

/** A discovery document. */
export interface DiscoveryPath {
  kind: 'discovery';
  /** '' for the core group (`/api...`). */
  group?: string;
  version?: string;
  /** True for `/api`, `/apis` (the lists of groups). */
  root: 'api' | 'apis';
}

/** Any path the server understands, or `unknown`. */
export type ParsedPath =
  ResourcePath | ProxyPath | DiscoveryPath | { kind: 'version' } | { kind: 'unknown' };

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Parses the part after `/api/v1` or `/apis/<group>/<version>`. */
function parseResourceRest(group: string, version: string, rest: string[]): ParsedPath {
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const [, namespace, plural, name, subresource, ...tail] = rest;
    if (tail.length > 0) return { kind: 'unknown' };
    return { kind: 'resource', group, version, plural: plural, namespace, name, subresource };
  }
  const [plural, name, subresource, ...tail] = rest;
  if (plural === undefined || tail.length > 0) return { kind: 'unknown' };
  return { kind: 'resource', group, version, plural, name, subresource };
}

const PROXY_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(\/.*)?$/;

/** Parses a request path (without query). */
export function parsePath(pathname: string): ParsedPath {
  if (pathname === '/version' || pathname === '/version/') return { kind: 'version' };
  const proxy = PROXY_PATH.exec(pathname);
  if (proxy) {
    // Like the real server, route on the decoded path and send it re-escaped, so a client that
    // encodes `/` in the proxied path (client-node does) reaches the same upstream path.
    return {
      kind: 'proxy',
      namespace: decode(proxy[1]),
      serviceSpec: decode(proxy[2]),
      path: encodeURI(decode(proxy[3] ?? '/')),
    };
  }
  const segments = pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decode);
  const [root, ...rest] = segments;
  if (root === 'api') {
    if (rest.length === 0) return { kind: 'discovery', root: 'api' };
    if (rest.length === 1) return { kind: 'discovery', root: 'api', group: '', version: rest[0] };
    return parseResourceRest('', rest[0], rest.slice(1));
  }
  if (root === 'apis') {
    if (rest.length === 0) return { kind: 'discovery', root: 'apis' };
    if (rest.length === 1) return { kind: 'discovery', root: 'apis', group: rest[0] };
    if (rest.length === 2)
      return { kind: 'discovery', root: 'apis', group: rest[0], version: rest[1] };
    return parseResourceRest(rest[0], rest[1], rest.slice(2));
  }
  return { kind: 'unknown' };
}

/** The parts of a services proxy target. */
export interface ServiceTarget {
  scheme: string;
  name: string;
  /** Port number or name; '' when the request names none. */
  port: string;
}

/** Splits `name`, `name:port` or `scheme:name:port` (the scheme is `http` or `https`). */
export function parseServiceSpec(spec: string): ServiceTarget {
  const parts = spec.split(':');
  if (parts.length >= 3) return { scheme: parts[0], name: parts[1], port: parts[2] };
  if (parts.length === 2) return { scheme: '', name: parts[0], port: parts[1] };
  return { scheme: '', name: spec, port: '' };
}
