/**
 * An in-process Kubernetes API server for tests and the local sandbox. It speaks HTTPS with a CA
 * generated at start (carried in the kubeconfig, as real clusters do), authenticates bearer tokens,
 * and serves Services, Pods, Namespaces, Deployments and Istio VirtualServices/DestinationRules with
 * the real server's semantics: resourceVersion conflicts, Status errors, JSON and merge patch, label
 * selectors, Istio schema and webhook validation, and the services proxy. No watch.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { asText } from './apiserver-json.ts';
import {
  authenticate,
  authorize,
  authorizePath,
  verbFor,
  type RequestAttributes,
  type Role,
  type User,
} from './apiserver-auth.ts';
import {
  SERVER_VERSION,
  coreVersions,
  group,
  groupList,
  resourceList,
} from './apiserver-discovery.ts';
import {
  handleResource,
  handleStatusSubresource,
  patchTypeOf,
  type HandlerContext,
  type Reply,
  type WriteInfo,
} from './apiserver-handlers.ts';
import { ProxyRegistry, forward } from './apiserver-proxy.ts';
import {
  ISTIO_VERSIONS,
  findResource,
  resourceByPlural,
  resourceForObject,
  resourceTable,
  type IstioVersion,
  type ResourceType,
} from './apiserver-resources.ts';
import {
  parsePath,
  parseServiceSpec,
  type DiscoveryPath,
  type ProxyPath,
  type ResourcePath,
  type ServiceTarget,
} from './apiserver-routes.ts';
import {
  ApiError,
  badRequest,
  failure,
  genericStatus,
  methodNotAllowed,
  noServicePort,
  notFound,
  pathNotFound,
} from './apiserver-status.ts';
import { ObjectStore, metadataOf, type KubeObject } from './apiserver-store.ts';
import { policyFromManifest, type Manifest } from './apiserver-rbac.ts';
import { generateCertificates, type SandboxCertificates } from './certs.ts';
import type { SandboxObjects } from './types.ts';

/** Options for {@link ApiServer.start}. */
export interface ApiServerOptions {
  /** Extra bearer tokens and their roles, on top of the generated admin and read-only tokens. */
  tokens?: Record<string, Role>;
  /** The networking.istio.io versions to serve (default all: v1, v1beta1, v1alpha3). */
  servedIstioVersions?: IstioVersion[];
}

/** Options for {@link ApiServer.kubeconfig}. */
export interface KubeconfigOptions {
  /** The bearer token the user presents (default: the admin token). */
  token?: string;
  /** The context's namespace (default `default`). */
  namespace?: string;
  /** The context's name (default `sandbox`). */
  context?: string;
}

/**
 * A canned failure for matching requests. `status` >= 400 answers with that Status (and a
 * Retry-After header when `retryAfterSeconds` is given); a lower status only adds the delay and then
 * serves the request normally.
 */
export interface Fault {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Tested against the path with its query (any when absent). */
  pathPattern?: RegExp;
  status: number;
  /** How many matching requests this fault answers. */
  count: number;
  retryAfterSeconds?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /**
   * Never answer: the request stays open until the client gives up, as a wedged API server or a
   * dead load balancer does. `status` is then unused.
   */
  hang?: boolean;
}

/** One served request, for assertions. */
export interface RequestRecord {
  method: string;
  /** The path without the query. */
  path: string;
  /** The query string without `?` ('' when none). */
  query: string;
  status: number;
  /** Who made it, when the token was known: the role, or the ServiceAccount's user name. */
  user?: string;
  /** What the authorizer decided on, for requests on resources and the services proxy. */
  attributes?: RequestAttributes;
}

/** What the authorizer learnt about one request, for its record. */
interface Seen {
  user?: string;
  attributes?: RequestAttributes;
}

/** A hook run before a write is applied. */
export type WriteHook = (req: WriteInfo) => void | Promise<void>;

/** Bodies above this are refused, as the real server's default limit does. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

function newToken(): string {
  return randomBytes(24).toString('base64url');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(
          new ApiError(
            failure(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'),
          ),
        );
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (error) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The sandbox API server. Start with {@link ApiServer.start}; always {@link ApiServer.stop}. */
export class ApiServer implements SandboxObjects {
  /** Token with full access (the kubeconfig's default). */
  readonly adminToken: string;
  /** Token that may only read (get, list, GET through the services proxy). */
  readonly readOnlyToken: string;
  /** Every request served, oldest first. */
  readonly requests: RequestRecord[] = [];

  readonly #certificates: SandboxCertificates;
  readonly #server: https.Server;
  readonly #tokens: Map<string, Role>;
  readonly #table: ResourceType[];
  readonly #store = new ObjectStore();
  readonly #proxies = new ProxyRegistry();
  readonly #faults: Fault[] = [];
  readonly #writeHooks: WriteHook[] = [];

  private constructor(certificates: SandboxCertificates, options: ApiServerOptions) {
    this.#certificates = certificates;
    this.adminToken = newToken();
    this.readOnlyToken = newToken();
    this.#tokens = new Map<string, Role>([
      [this.adminToken, 'admin'],
      [this.readOnlyToken, 'read-only'],
      ...Object.entries(options.tokens ?? {}),
    ]);
    this.#table = resourceTable(options.servedIstioVersions ?? [...ISTIO_VERSIONS]);
    this.#server = https.createServer(
      { key: certificates.serverKey, cert: certificates.serverCert },
      (req, res) => {
        void this.#handle(req, res);
      },
    );
  }

  /** Generates the CA and server certificate and listens on 127.0.0.1 at a random port. */
  static async start(options: ApiServerOptions = {}): Promise<ApiServer> {
    const server = new ApiServer(await generateCertificates(), options);
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return server;
  }

  /** Stops listening and drops open connections. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  /** The port the server listens on. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** `https://127.0.0.1:<port>`. */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** The CA certificate (PEM) that signed the server certificate. */
  get caCert(): string {
    return this.#certificates.caCert;
  }

  /** A kubeconfig for this server: CA data, a bearer-token user, one context, set current. */
  /**
   * A kubeconfig for the ServiceAccount `subject`, granted exactly what the RBAC objects of
   * `manifest` bind to it (see policyFromManifest), with a token of its own.
   */
  async identityKubeconfig(
    manifest: Manifest,
    subject: { namespace: string; name: string },
  ): Promise<string> {
    const token = newToken();
    this.#tokens.set(token, policyFromManifest(manifest, subject));
    return Promise.resolve(this.kubeconfig({ token, namespace: subject.namespace }));
  }

  kubeconfig(options: KubeconfigOptions = {}): string {
    const context = options.context ?? 'sandbox';
    return stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'sandbox',
          cluster: {
            server: this.url,
            'certificate-authority-data': Buffer.from(this.#certificates.caCert).toString('base64'),
          },
        },
      ],
      users: [{ name: 'sandbox-user', user: { token: options.token ?? this.adminToken } }],
      contexts: [
        {
          name: context,
          context: {
            cluster: 'sandbox',
            user: 'sandbox-user',
            namespace: options.namespace ?? 'default',
          },
        },
      ],
      'current-context': context,
      preferences: {},
    });
  }

  /** Sends services-proxy requests for `<namespace>/<name>:<port>` to a plain-http upstream. */
  registerServiceProxy(
    namespace: string,
    name: string,
    port: string | number,
    upstreamBaseUrl: string,
  ): void {
    this.#proxies.register(namespace, name, port, upstreamBaseUrl);
  }

  /** Answers the next `count` matching requests with a failure; see {@link Fault}. */
  injectFault(fault: Fault): void {
    this.#faults.push({ ...fault });
  }

  /** Runs `fn` before every write is applied; returns a function that removes it. */
  onBeforeWrite(fn: WriteHook): () => void {
    this.#writeHooks.push(fn);
    return () => {
      const at = this.#writeHooks.indexOf(fn);
      if (at >= 0) this.#writeHooks.splice(at, 1);
    };
  }

  /**
   * Creates or replaces an object without checks (no validation, no resourceVersion condition),
   * bumping the resourceVersion. Namespaced objects default to `default`. Returns the stored copy.
   */
  put(object: Record<string, unknown>): KubeObject {
    const type = resourceForObject(this.#table, asText(object.apiVersion), asText(object.kind));
    if (type === undefined)
      throw new Error(
        `the sandbox API server does not store ${asText(object.apiVersion)} ${asText(object.kind)}`,
      );
    const input = structuredClone(object);
    const meta = metadataOf(input);
    if (typeof meta.name !== 'string' || meta.name === '')
      throw new Error('put: metadata.name is required');
    if (type.namespaced)
      meta.namespace =
        typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
    else delete meta.namespace;
    const namespace = asText(meta.namespace);
    const current = this.#store.get(type, namespace, meta.name);
    return current === undefined
      ? this.#store.create(type, input)
      : this.#store.update(type, current, input);
  }

  /** A deep copy of one stored object, or undefined. `resource` is the plural. */
  get(resource: string, namespace: string, name: string): KubeObject | undefined {
    return this.#store.get(this.#typeOf(resource), namespace, name);
  }

  /** Stored objects of a resource (plural), in one namespace or all. */
  list(resource: string, namespace?: string): KubeObject[] {
    return this.#store.list(this.#typeOf(resource), namespace);
  }

  /** Deletes a stored object; false when there was none. */
  delete(resource: string, namespace: string, name: string): boolean {
    return this.#store.remove(this.#typeOf(resource), namespace, name) !== undefined;
  }

  #typeOf(resource: string): ResourceType {
    const type = resourceByPlural(this.#table, resource);
    if (type === undefined) throw new Error(`the sandbox API server does not store ${resource}`);
    return type;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    let status: number;
    const seen: Seen = {};
    try {
      status = await this.#serve(req, res, url, seen);
    } catch (error) {
      status = this.#sendError(res, error);
    }
    this.requests.push({
      method,
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      status,
      ...seen,
    });
  }

  #sendError(res: ServerResponse, error: unknown): number {
    const apiError =
      error instanceof ApiError
        ? error
        : new ApiError(
            failure(500, 'InternalError', `Internal error occurred: ${(error as Error).message}`),
          );
    if (res.headersSent) {
      res.destroy();
      return apiError.status.code;
    }
    if (apiError.plainText !== undefined) {
      res.writeHead(apiError.status.code, {
        'content-type': 'text/plain; charset=utf-8',
        'x-content-type-options': 'nosniff',
        'content-length': Buffer.byteLength(apiError.plainText),
      });
      res.end(apiError.plainText);
      return apiError.status.code;
    }
    sendJson(res, apiError.status.code, apiError.status, apiError.headers);
    return apiError.status.code;
  }

  async #serve(req: IncomingMessage, res: ServerResponse, url: URL, seen: Seen): Promise<number> {
    const raw = await readBody(req);
    await this.#applyFault(req, `${url.pathname}${url.search}`);
    const parsed = parsePath(url.pathname);
    if (parsed.kind === 'version') return this.#reply(res, { status: 200, body: SERVER_VERSION });
    const user = authenticate(req.headers.authorization, this.#tokens);
    seen.user = user.name;
    const method = req.method ?? 'GET';
    switch (parsed.kind) {
      case 'discovery':
        authorizePath(user, verbFor(method, true), url.pathname);
        return this.#reply(res, this.#discovery(parsed, method));
      case 'proxy':
        seen.attributes = {
          verb: verbFor(method, true),
          group: '',
          resource: 'services',
          subresource: 'proxy',
          namespace: parsed.namespace,
          name: parsed.serviceSpec,
        };
        authorize(user, seen.attributes);
        return this.#proxy(req, res, raw, parsed, url.search);
      case 'resource':
        return this.#reply(res, await this.#resource(parsed, method, req, raw, user, seen));
      default:
        throw pathNotFound();
    }
  }

  async #applyFault(req: IncomingMessage, pathWithQuery: string): Promise<void> {
    const method = req.method ?? 'GET';
    const fault = this.#faults.find(
      (f) =>
        f.count > 0 &&
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.pathPattern?.test(pathWithQuery) ?? true),
    );
    if (fault === undefined) return;
    fault.count--;
    if (fault.count === 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
    if (fault.delayMs !== undefined && fault.delayMs > 0) await sleep(fault.delayMs);
    if (fault.hang) {
      await new Promise<void>((resolve) => req.socket.once('close', resolve));
      throw new Error('the client gave up on a request the sandbox never answered');
    }
    if (fault.status >= 400) throw genericStatus(fault.status, fault.retryAfterSeconds);
  }

  #reply(res: ServerResponse, reply: Reply): number {
    sendJson(res, reply.status, reply.body);
    return reply.status;
  }

  #discovery(path: DiscoveryPath, method: string): Reply {
    if (method !== 'GET') throw methodNotAllowed();
    const body =
      path.root === 'api'
        ? path.version === undefined
          ? coreVersions(`127.0.0.1:${this.port}`)
          : resourceList(this.#table, '', path.version)
        : path.group === undefined
          ? groupList(this.#table)
          : path.version === undefined
            ? group(this.#table, path.group)
            : resourceList(this.#table, path.group, path.version);
    if (body === undefined) throw pathNotFound();
    return { status: 200, body };
  }

  async #proxy(
    req: IncomingMessage,
    res: ServerResponse,
    raw: Buffer,
    path: ProxyPath,
    search: string,
  ): Promise<number> {
    const target = parseServiceSpec(path.serviceSpec);
    this.#checkProxiedService(path.namespace, target);
    const upstream = this.#proxies.resolve(path.namespace, target);
    return forward(req, raw, res, upstream, path.path, search);
  }

  /**
   * The real server resolves a proxied Service before its endpoints: a missing Service is a 404,
   * and a port number the Service does not declare a 503 naming it.
   */
  #checkProxiedService(namespace: string, target: ServiceTarget): void {
    const services = findResource(this.#table, '', 'v1', 'services')!;
    const service = this.#store.get(services, namespace, target.name);
    if (service === undefined) throw notFound({ group: '', resource: 'services' }, target.name);
    if (!/^\d+$/.test(target.port)) return;
    const ports = ((service.spec as { ports?: { port?: number }[] } | undefined)?.ports ?? []).map(
      (p) => String(p.port),
    );
    if (!ports.includes(target.port)) throw noServicePort(target.name, target.port);
  }

  async #resource(
    path: ResourcePath,
    method: string,
    req: IncomingMessage,
    raw: Buffer,
    user: User,
    seen: Seen,
  ): Promise<Reply> {
    const type = findResource(this.#table, path.group, path.version, path.plural);
    if (type === undefined) throw pathNotFound();
    const status = path.subresource === 'status' && type.statusSubresource;
    if (path.subresource !== undefined && (!status || path.name === undefined))
      throw pathNotFound();
    if (type.namespaced === false && path.namespace !== undefined) throw pathNotFound();
    if (type.namespaced && path.namespace === undefined && path.name !== undefined)
      throw pathNotFound();
    seen.attributes = {
      verb: verbFor(method, path.name !== undefined),
      group: type.group,
      resource: type.plural,
      ...(path.subresource !== undefined ? { subresource: path.subresource } : {}),
      namespace: path.namespace,
      name: path.name ?? '',
    };
    authorize(user, seen.attributes);
    if (method === 'PATCH' && path.name !== undefined)
      patchTypeOf(type, req.headers['content-type'] ?? '');
    const request = {
      method,
      type,
      version: path.version,
      namespace: path.namespace,
      name: path.name,
      query: new URLSearchParams(req.url?.split('?')[1] ?? ''),
      contentType: req.headers['content-type'] ?? '',
      body: parseJsonBody(raw),
    };
    if (status && path.name !== undefined)
      return handleStatusSubresource(this.#context(), { ...request, name: path.name });
    return handleResource(this.#context(), request);
  }

  #context(): HandlerContext {
    return {
      store: this.#store,
      beforeWrite: async (info) => {
        for (const hook of [...this.#writeHooks]) await hook(info);
      },
    };
  }
}
