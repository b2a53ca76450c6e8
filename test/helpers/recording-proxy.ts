/**
 * A pass-through in front of a real API server, giving tests what the in-process double records
 * for them: every request the tool made (method, path, query, status), canned faults (a 500, a
 * 429 with Retry-After, a delay) and a hook before each write, where a test can be the concurrent
 * writer. Everything else goes to the real server unchanged, the bearer token included, so the
 * real authenticator, authorizer, admission and storage answer; the tap only listens on 127.0.0.1.
 */
import {
  createServer as createHttpsServer,
  request as httpsRequest,
  type Server,
} from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Fault, RequestRecord, WriteHook } from '../../src/sandbox/apiserver.ts';
import { genericStatus } from '../../src/sandbox/apiserver-status.ts';
import { generateCertificates } from '../../src/sandbox/certs.ts';

/** The real server behind the tap. */
export interface Upstream {
  server: string;
  ca: string;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** What a write hook is told, parsed from the path as the double reports it. */
function writeInfo(method: string, path: string) {
  const parts = path.split('/').filter(Boolean);
  const ns = parts.indexOf('namespaces');
  const namespace = ns >= 0 ? parts[ns + 1] : undefined;
  const rest = ns >= 0 ? parts.slice(ns + 2) : parts.slice(parts[0] === 'api' ? 2 : 3);
  return { method, resource: rest[0] ?? '', namespace, name: rest[1] ?? '' };
}

/** The recording pass-through. */
export class RecordingProxy {
  readonly requests: RequestRecord[] = [];
  readonly caCert: string;
  readonly #server: Server;
  readonly #upstream: Upstream;
  readonly #faults: Fault[] = [];
  readonly #writeHooks: WriteHook[] = [];

  private constructor(server: Server, caCert: string, upstream: Upstream) {
    this.#server = server;
    this.caCert = caCert;
    this.#upstream = upstream;
  }

  /** Listens on 127.0.0.1 with a certificate of its own CA. */
  static async start(upstream: Upstream): Promise<RecordingProxy> {
    const certificates = await generateCertificates();
    const server = createHttpsServer({
      cert: certificates.serverCert,
      key: certificates.serverKey,
    });
    const proxy = new RecordingProxy(server, certificates.caCert, upstream);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void proxy.#handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  injectFault(fault: Fault): void {
    this.#faults.push({ ...fault });
  }

  onBeforeWrite(fn: WriteHook): () => void {
    this.#writeHooks.push(fn);
    return () => {
      const at = this.#writeHooks.indexOf(fn);
      if (at >= 0) this.#writeHooks.splice(at, 1);
    };
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    let status: number;
    try {
      const body = await readBody(req);
      status =
        (await this.#fault(method, `${url.pathname}${url.search}`, res)) ??
        (await this.#forward(req, url, body, res));
    } catch (error) {
      status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`recording proxy: ${(error as Error).message}`);
    }
    this.requests.push({
      method,
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      status,
    });
  }

  /** Answers with the first matching fault, as the double does; undefined to go on. */
  async #fault(
    method: string,
    pathWithQuery: string,
    res: ServerResponse,
  ): Promise<number | undefined> {
    const fault = this.#faults.find(
      (f) =>
        f.count > 0 &&
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.pathPattern?.test(pathWithQuery) ?? true),
    );
    if (fault === undefined) return undefined;
    fault.count--;
    if (fault.count === 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
    if (fault.delayMs !== undefined && fault.delayMs > 0)
      await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault.status < 400) return undefined;
    const error = genericStatus(fault.status, fault.retryAfterSeconds);
    res.writeHead(fault.status, { 'content-type': 'application/json', ...error.headers });
    res.end(JSON.stringify(error.status));
    return fault.status;
  }

  async #forward(
    req: IncomingMessage,
    url: URL,
    body: Buffer,
    res: ServerResponse,
  ): Promise<number> {
    const method = req.method ?? 'GET';
    if (WRITE_METHODS.has(method) && url.pathname.includes('/namespaces/'))
      for (const hook of [...this.#writeHooks]) await hook(writeInfo(method, url.pathname));
    const headers = { ...req.headers };
    delete headers.host;
    return new Promise((resolve, reject) => {
      const outgoing = httpsRequest(
        new URL(`${url.pathname}${url.search}`, this.#upstream.server),
        { method, headers, ca: this.#upstream.ca },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
          resolve(response.statusCode ?? 502);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}
