/**
 * A minimal Kubernetes REST client for the test control plane: one HTTPS request with the CA and
 * either a client certificate or a bearer token, the body parsed as JSON when it is JSON. The
 * tests use it where they must see the server's exact answers (status, Status body), which a
 * higher-level client would turn into exceptions.
 */
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';

/** How to reach one API server as one identity. */
export interface Credentials {
  server: string;
  /** PEM CA bundle; the system's roots when empty. */
  ca: string;
  token?: string;
  cert?: string;
  key?: string;
}

/** The server's answer. `body` is parsed JSON, or the raw text when it is not JSON. */
export interface RestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
}

/** Options for one request. */
export interface RestOptions {
  body?: unknown;
  /** Content-Type of the body; JSON unless a patch type is given. */
  contentType?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** Sends one request; never throws for an HTTP status, only for a transport failure. */
export function rest(
  credentials: Credentials,
  method: string,
  path: string,
  options: RestOptions = {},
): Promise<RestResponse> {
  const url = new URL(path, credentials.server);
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (payload !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    // Node frames a DELETE body neither by length nor chunks unless told; a server on a kept-alive
    // connection would read the body as the next request.
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  if (credentials.token) headers.authorization = `Bearer ${credentials.token}`;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        headers,
        ca: credentials.ca || undefined,
        cert: credentials.cert,
        key: credentials.key,
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // Not JSON (a proxied page, plain text): keep the text.
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.href} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Reads server, CA and user credentials from a kubeconfig's current context (data fields only). */
export function credentialsFromKubeconfig(text: string, context?: string): Credentials {
  const config = parse(text) as {
    'current-context'?: string;
    contexts?: { name: string; context: { cluster: string; user: string } }[];
    clusters?: { name: string; cluster: Record<string, string> }[];
    users?: { name: string; user: Record<string, string> }[];
  };
  const name = context ?? config['current-context'];
  const ctx = config.contexts?.find((c) => c.name === name)?.context;
  if (!ctx) throw new Error(`the kubeconfig has no context ${name}`);
  const cluster = config.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = config.users?.find((u) => u.name === ctx.user)?.user ?? {};
  if (!cluster) throw new Error(`the kubeconfig has no cluster ${ctx.cluster}`);
  const decode = (value: string | undefined) =>
    value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  return {
    server: cluster.server,
    ca: decode(cluster['certificate-authority-data']) ?? '',
    token: user.token,
    cert: decode(user['client-certificate-data']),
    key: decode(user['client-key-data']),
  };
}

/**
 * Credentials from a kubeconfig file's current context, as client-node resolves them (CA and
 * client certificate files, tokens, exec plugins), for checks against a maintainer's cluster.
 */
export async function credentialsFromKubeconfigFile(path: string): Promise<Credentials> {
  const config = new KubeConfig();
  config.loadFromFile(path);
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error(`the kubeconfig ${path} has no current cluster`);
  const options: RequestOptions = {};
  await config.applyToHTTPSOptions(options);
  // PEM material arrives as a string, a Buffer or a list of them.
  const text = (value: unknown): string | undefined => {
    if (value === undefined || value === null) return undefined;
    const parts: unknown[] = Array.isArray(value) ? value : [value];
    return parts
      .map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : ''))
      .join('\n');
  };
  const authorization = (options.headers as Record<string, string> | undefined)?.Authorization;
  return {
    server: cluster.server,
    ca: text(options.ca) ?? '',
    cert: text(options.cert),
    key: text(options.key),
    token: authorization?.replace(/^Bearer /, ''),
  };
}
