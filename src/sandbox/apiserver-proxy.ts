/**
 * The services proxy: `/api/v1/namespaces/<ns>/services/<name>:<port>/proxy/<path>` forwarded to a
 * registered plain-http upstream on the loopback, as the real server forwards to a pod endpoint.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { noEndpoints, upstreamUnreachable } from './apiserver-status.ts';
import type { ServiceTarget } from './apiserver-routes.ts';

/** Headers that belong to one connection and are never forwarded (RFC 9110 7.6.1), plus the caller's credentials. */
const DROPPED_REQUEST_HEADERS = new Set([
  'authorization',
  'connection',
  'host',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'trailer',
  'upgrade',
]);

const UPSTREAM_TIMEOUT_MS = 30_000;

/** Registered upstreams by namespace, service and port. */
export class ProxyRegistry {
  readonly #upstreams = new Map<string, string>();

  /** Routes `<namespace>/<name>:<port>` to `upstreamBaseUrl` (plain http, 127.0.0.1). */
  register(namespace: string, name: string, port: string | number, upstreamBaseUrl: string): void {
    const url = new URL(upstreamBaseUrl);
    if (url.protocol !== 'http:')
      throw new Error(`upstream must be an http:// URL, got ${upstreamBaseUrl}`);
    this.#upstreams.set(`${namespace}/${name}/${String(port)}`, upstreamBaseUrl);
  }

  /**
   * The upstream for a target. With no port in the request, a service with a single registered port
   * answers on it (the real server picks the service's only port); otherwise 503 no endpoints.
   */
  resolve(namespace: string, target: ServiceTarget): string {
    const exact = this.#upstreams.get(`${namespace}/${target.name}/${target.port}`);
    if (exact !== undefined) return exact;
    if (target.port === '') {
      const prefix = `${namespace}/${target.name}/`;
      const candidates = [...this.#upstreams].filter(([key]) => key.startsWith(prefix));
      if (candidates.length === 1) return candidates[0][1];
    }
    throw noEndpoints(target.name);
  }
}

function forwardedHeaders(req: IncomingMessage): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!DROPPED_REQUEST_HEADERS.has(name) && value !== undefined) headers[name] = value;
  }
  return headers;
}

function upstreamUrl(base: string, path: string, search: string): URL {
  const url = new URL(base);
  const basePath = url.pathname.replace(/\/+$/, '');
  url.pathname = `${basePath}${path}`;
  url.search = search;
  return url;
}

function copyResponse(upstream: IncomingMessage, res: ServerResponse): void {
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (!DROPPED_RESPONSE_HEADERS.has(name) && value !== undefined) res.setHeader(name, value);
  }
  res.writeHead(upstream.statusCode ?? 502);
  upstream.pipe(res);
}

/**
 * Sends the request to the upstream and streams its answer back. Resolves with the upstream's
 * status once the response has started; rejects with a 503 Status when the upstream cannot be reached.
 */
export function forward(
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
  upstream: string,
  path: string,
  search: string,
): Promise<number> {
  const url = upstreamUrl(upstream, path, search);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      url,
      { method: req.method, headers: forwardedHeaders(req), timeout: UPSTREAM_TIMEOUT_MS },
      (response) => {
        copyResponse(response, res);
        resolve(response.statusCode ?? 502);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`dial tcp ${url.host}: i/o timeout`)));
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      const detail =
        error.code === 'ECONNREFUSED'
          ? `dial tcp ${url.host}: connect: connection refused`
          : error.message;
      reject(upstreamUnreachable(detail));
    });
    outgoing.end(body);
  });
}
