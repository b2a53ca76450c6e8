import axios from 'axios';
import type { Clock } from '../clock.ts';
import { DEFAULT_CALL_TIMEOUT_MS } from '../config/deadlines.ts';
import { UserError } from '../errors.ts';
import type { Cluster, ProxyResponse } from '../kube/cluster.ts';
import type { Logger } from '../logger.ts';
import { abortError, startDeadline } from '../net/deadline.ts';
import {
  BodyTooLargeError,
  describeNetworkFailure,
  errorCode,
  mebibytes,
  NetworkError,
  RedirectRefusedError,
} from '../net/errors.ts';
import { InFlightCalls } from '../net/in-flight.ts';
import { classifyHttpStatus, isTransientNetworkError, retryAfterMs, withRetry } from '../retry.ts';
import type { RetryDecision } from '../retry.ts';
import { isRedirect, judgeRedirect } from './redirects.ts';
import type { PrometheusClient, Sample } from './types.ts';

/**
 * Largest answer read from Prometheus. Our queries select a few series per version; an answer
 * past this is a wrong URL or a hostile server, refused before it is all in memory.
 */
export const PROMETHEUS_MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Redirects followed for one query before giving up. */
const MAX_REDIRECTS = 5;

/** Where Prometheus is: a URL, or a Service reached through the API server's service proxy. */
export type PrometheusTarget =
  | { kind: 'http'; baseUrl: string }
  | { kind: 'k8s'; namespace: string; service: string; port: string };

const FORMS =
  'Accepted forms: http(s)://host[:port][/path-prefix] or k8s://<namespace>/<service>:<port>.';
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Parses the `prometheus-url` input strictly; errors name the input and the accepted forms. */
export function parsePrometheusUrl(value: string): PrometheusTarget {
  const text = value.trim();
  const fail = (why: string): never => {
    throw new UserError(
      `Input "prometheus-url" ${JSON.stringify(redactUserinfo(text))} is not valid: ${why}. ${FORMS}`,
    );
  };
  if (text === '') return fail('it is empty');
  if (/^k8s:\/\//i.test(text)) return parseServiceUrl(text, fail);
  if (!/^https?:\/\//i.test(text)) return fail('it must start with http://, https:// or k8s://');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('it is not a URL');
  }
  if (url.hostname === '') fail('it has no host');
  if (url.username || url.password) {
    fail('credentials in the URL are not accepted; use prometheus-token or prometheus-headers');
  }
  if (url.search || url.hash) fail('give the base URL, without a query string or fragment');
  const path = url.pathname.replace(/\/+$/, '');
  if (/\/api\/v1(\/|$)/.test(path)) fail('give the base URL, without /api/v1/...');
  return { kind: 'http', baseUrl: `${url.origin}${path}` };
}

function parseServiceUrl(text: string, fail: (why: string) => never): PrometheusTarget {
  const match = /^k8s:\/\/([^/]*)\/([^/:]*):([^/:]*)\/?$/i.exec(text);
  if (!match) return fail('a k8s:// URL is k8s://<namespace>/<service>:<port>');
  const [, namespace, service, port] = match as unknown as [string, string, string, string];
  if (namespace.length > 63 || !DNS1123_LABEL.test(namespace)) {
    fail(`"${namespace}" is not a namespace name (lower-case RFC 1123 label)`);
  }
  if (service.length > 63 || !DNS1035_LABEL.test(service)) {
    fail(`"${service}" is not a Service name (lower-case RFC 1035 label)`);
  }
  if (!isPort(port)) fail(`"${port}" is not a port number (1-65535) or port name`);
  return { kind: 'k8s', namespace, service, port };
}

function isPort(port: string): boolean {
  if (/^\d+$/.test(port)) return Number(port) >= 1 && Number(port) <= 65535;
  return port.length <= 15 && PORT_NAME.test(port) && /[a-z]/.test(port);
}

function redactUserinfo(text: string): string {
  return text.replace(/^([a-z0-9+.-]+:\/\/)[^/@]*@/i, '$1***@');
}

/** What the Prometheus client needs; `cluster` only for k8s:// URLs. */
export interface PrometheusOptions {
  /** The `prometheus-url` input. */
  url: string;
  /** The `prometheus-headers` input, parsed (http(s) only). */
  headers: Record<string, string>;
  /** The `prometheus-token` input: sent as `Authorization: Bearer` (http(s) only). */
  token?: string;
  cluster?: Cluster;
  clock: Clock;
  logger: Logger;
  /** Total time of one query, connect to last byte, retries included; default 30 s. */
  maxElapsedMs?: number;
  /** Largest answer read; default {@link PROMETHEUS_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** Records the queries under way, for the message of a step past its deadline. */
  calls?: InFlightCalls;
  /**
   * The job's cancellation: a query still under way when the job stops is abandoned (the watch
   * has stopped waiting for it), so it must not keep the process alive until its deadline.
   */
  signal?: AbortSignal;
  /** POST (form-encoded, like Grafana; long queries fit) or GET; a 405 to POST switches to GET. */
  method?: 'POST' | 'GET';
}

/** A raw answer, from either transport. */
type RawResponse = ProxyResponse;

/** An answer that is not a result. `retry` says whether asking again may help. */
class PrometheusResponseError extends UserError {
  override name = 'PrometheusResponseError';
  readonly decision: RetryDecision;
  constructor(message: string, decision: RetryDecision) {
    super(message);
    this.decision = decision;
  }
}

/**
 * A Prometheus client for instant queries. 429, 5xx and network failures are retried within one
 * budget per query (connect to last byte of the last attempt); a rejected query (400 bad_data,
 * 422) is the query's fault and fails at once.
 */
export function createPrometheusClient(opts: PrometheusOptions): PrometheusClient {
  const target = parsePrometheusUrl(opts.url);
  const send = target.kind === 'http' ? httpSender(target, opts) : proxySender(target, opts);
  const endpoint =
    target.kind === 'http'
      ? target.baseUrl
      : `k8s://${target.namespace}/${target.service}:${target.port}`;
  const redact = (text: string): string => (opts.token ? text.split(opts.token).join('***') : text);
  const budgetMs = opts.maxElapsedMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const calls = opts.calls ?? new InFlightCalls();
  const what = `Prometheus query at ${endpoint}`;
  return {
    endpoint,
    query: (promql) =>
      calls.track(what, async () => {
        const deadline = startDeadline(budgetMs, what, opts.signal);
        try {
          return await withRetry(
            async () =>
              interpret(await send(promql, deadline.signal), promql, {
                endpoint,
                redact,
                logger: opts.logger,
                now: opts.clock.now(),
              }),
            {
              what,
              classify,
              clock: opts.clock,
              logger: opts.logger,
              maxElapsedMs: budgetMs,
              signal: deadline.signal,
            },
          );
        } finally {
          deadline.dispose();
        }
      }),
  };
}

function classify(error: unknown): RetryDecision {
  if (error instanceof PrometheusResponseError) return error.decision;
  return { retry: isTransientNetworkError(error) };
}

type Sender = (promql: string, signal: AbortSignal) => Promise<RawResponse>;

function httpSender(target: { baseUrl: string }, opts: PrometheusOptions): Sender {
  let method = opts.method ?? 'POST';
  const base = new URL(`${target.baseUrl}/api/v1/query`);
  const headers: Record<string, string> = { ...opts.headers, Accept: 'application/json' };
  // The token wins over a hand-written Authorization header: it is the input meant for it.
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const credentials = Boolean(opts.token) || Object.keys(opts.headers).length > 0;
  if (credentials && base.protocol === 'http:') {
    opts.logger.warn(
      `prometheus-url ${base.origin} is plain http: prometheus-token and prometheus-headers cross the network unencrypted, readable by anyone on the path. Use https.`,
    );
  }
  const request = async (query: string, signal: AbortSignal): Promise<RawResponse> => {
    let url = base;
    let hopMethod = method;
    for (let hop = 0; ; hop++) {
      const response = await httpRequest(url, hopMethod, query, headers, {
        signal,
        maxBodyBytes: opts.maxBodyBytes ?? PROMETHEUS_MAX_BODY_BYTES,
        endpoint: target.baseUrl,
      });
      if (!isRedirect(response.status)) return response;
      const decision = judgeRedirect(
        url,
        response.headers.location,
        response.status,
        hopMethod,
        credentials,
      );
      if (!decision.follow)
        throw new RedirectRefusedError(`Prometheus at ${target.baseUrl} ${decision.why}.`);
      if (hop + 1 >= MAX_REDIRECTS)
        throw new RedirectRefusedError(
          `Prometheus at ${target.baseUrl} redirected more than ${MAX_REDIRECTS} times (last to ${decision.url.origin}${decision.url.pathname}).`,
        );
      url = decision.url;
      hopMethod = decision.method;
    }
  };
  return async (query, signal) => {
    const response = await request(query, signal);
    if (response.status === 405 && method === 'POST') {
      opts.logger.debug(`${target.baseUrl} does not accept POST queries; using GET`);
      method = 'GET';
      return request(query, signal);
    }
    return response;
  };
}

const TLS_HINTS = {
  authority: "the system's trusted certificates (NODE_EXTRA_CA_CERTS adds a private CA)",
};

/**
 * One HTTP exchange with axios, bounded: the signal cuts it at the deadline however slowly the
 * answer trickles, the body limit refuses an answer past it as it streams in, and redirects
 * come back as they are for the caller to judge.
 */
async function httpRequest(
  url: URL,
  method: 'POST' | 'GET',
  query: string,
  headers: Record<string, string>,
  limits: { signal: AbortSignal; maxBodyBytes: number; endpoint: string },
): Promise<RawResponse> {
  const target = new URL(url);
  if (method === 'GET') target.searchParams.set('query', query);
  try {
    const response = await axios.request<string>({
      url: target.toString(),
      method,
      signal: limits.signal,
      maxRedirects: 0,
      maxContentLength: limits.maxBodyBytes,
      maxBodyLength: limits.maxBodyBytes,
      responseType: 'text',
      transformResponse: (data: unknown) => data,
      validateStatus: () => true,
      headers:
        method === 'POST'
          ? { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' }
          : headers,
      ...(method === 'POST' ? { data: new URLSearchParams({ query }).toString() } : {}),
    });
    const flat: Record<string, string> = {};
    for (const [key, value] of Object.entries(response.headers as Record<string, unknown>)) {
      if (typeof value === 'string') flat[key.toLowerCase()] = value;
      else if (Array.isArray(value)) flat[key.toLowerCase()] = value.join(', ');
    }
    return { status: response.status, headers: flat, body: String(response.data ?? '') };
  } catch (error) {
    throw transportError(error, target, limits);
  }
}

/**
 * Axios errors carry the request config, headers and token included: keep only what failed, in
 * our words, naming the endpoint.
 */
function transportError(
  error: unknown,
  url: URL,
  limits: { signal: AbortSignal; maxBodyBytes: number; endpoint: string },
): Error {
  if (limits.signal.aborted)
    return abortError(limits.signal, `Prometheus query at ${limits.endpoint}`);
  const message = error instanceof Error ? error.message : String(error);
  if (/maxContentLength/.test(message)) {
    return new BodyTooLargeError(
      `Prometheus at ${limits.endpoint} sent an answer larger than ${mebibytes(limits.maxBodyBytes)}; refused (no query of ours needs that much: is prometheus-url a Prometheus server?)`,
    );
  }
  const code = errorCode(error);
  const sentence = describeNetworkFailure(error, url.origin, TLS_HINTS);
  return new NetworkError(
    sentence
      ? `Prometheus at ${limits.endpoint}: ${sentence}`
      : `Prometheus at ${limits.endpoint}: ${message}`,
    code,
  );
}

function proxySender(
  target: { namespace: string; service: string; port: string },
  opts: PrometheusOptions,
): Sender {
  const { cluster } = opts;
  if (!cluster) throw new Error('A k8s:// prometheus-url needs a Kubernetes cluster client.');
  if (opts.token || Object.keys(opts.headers).length > 0) {
    opts.logger.warn(
      'prometheus-token and prometheus-headers are not used with a k8s:// prometheus-url: the service proxy authenticates with the kubeconfig.',
    );
  }
  const maxBodyBytes = opts.maxBodyBytes ?? PROMETHEUS_MAX_BODY_BYTES;
  return (query, signal) =>
    cluster.proxyGet(
      target.namespace,
      target.service,
      target.port,
      '/api/v1/query',
      { query },
      { signal, maxBodyBytes },
    );
}

interface Context {
  endpoint: string;
  redact: (text: string) => string;
  logger: Logger;
  now: number;
}

interface ApiBody {
  status?: unknown;
  data?: { resultType?: unknown; result?: unknown };
  errorType?: unknown;
  error?: unknown;
  warnings?: unknown;
}

/** Turns an answer into samples, or into an error that says whether to retry. */
function interpret(res: RawResponse, query: string, ctx: Context): Sample[] {
  const body = parseJson(res.body);
  const ok = res.status >= 200 && res.status < 300;
  if (body?.status === 'error') {
    const decision = ok ? { retry: false } : statusDecision(res, ctx.now);
    const detail = `${String(body.errorType)}: ${String(body.error)}`;
    throw new PrometheusResponseError(
      `Prometheus at ${ctx.endpoint} rejected the query (HTTP ${res.status}, ${ctx.redact(detail)}); query: ${query}`,
      decision,
    );
  }
  if (!ok) {
    throw new PrometheusResponseError(
      `Prometheus at ${ctx.endpoint} answered HTTP ${res.status}${statusHint(res.status)}${snippet(res.body, ctx)}`,
      statusDecision(res, ctx.now),
    );
  }
  if (body?.status !== 'success' || typeof body.data !== 'object' || body.data === null) {
    throw new PrometheusResponseError(
      `${ctx.endpoint} answered HTTP ${res.status} with something that is not the Prometheus query API's JSON${snippet(res.body, ctx)}; is prometheus-url the base URL of a Prometheus server?`,
      { retry: false },
    );
  }
  if (Array.isArray(body.warnings)) {
    for (const w of body.warnings) ctx.logger.warn(`Prometheus at ${ctx.endpoint}: ${String(w)}`);
  }
  return samples(body.data, ctx.endpoint);
}

function statusDecision(res: RawResponse, now: number): RetryDecision {
  const decision = classifyHttpStatus(res.status);
  if (!decision.retry) return decision;
  return { retry: true, retryAfterMs: retryAfterMs(headerValue(res.headers, 'retry-after'), now) };
}

function statusHint(status: number): string {
  if (status === 401 || status === 403) {
    return ' (not authorized: check prometheus-token and prometheus-headers)';
  }
  if (status === 404)
    return ' (no Prometheus API here: prometheus-url is the base URL, without /api/v1)';
  return '';
}

function samples(data: { resultType?: unknown; result?: unknown }, endpoint: string): Sample[] {
  const bad = (why: string): never => {
    throw new PrometheusResponseError(`Prometheus at ${endpoint} answered ${why}`, {
      retry: false,
    });
  };
  if (data.resultType === 'scalar') {
    return [{ labels: {}, value: sampleValue(data.result, bad) }];
  }
  if (data.resultType !== 'vector') {
    return bad(
      `a ${String(data.resultType)} result; the query must give an instant vector or a scalar`,
    );
  }
  if (!Array.isArray(data.result)) return bad('a vector result that is not a list');
  return data.result.map((item: unknown) => {
    const { metric, value } = (item ?? {}) as { metric?: unknown; value?: unknown };
    const labels = typeof metric === 'object' && metric !== null ? metric : {};
    return { labels: labels as Record<string, string>, value: sampleValue(value, bad) };
  });
}

/** `[timestamp, "value"]`, where the value may be `NaN`, `+Inf` or `-Inf` (Number() misreads `+Inf`). */
function sampleValue(pair: unknown, bad: (why: string) => never): number {
  const text: unknown = Array.isArray(pair) ? pair[1] : undefined;
  if (typeof text !== 'string') return bad(`a sample without a value`);
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value))
    return bad(`a sample value "${text}" that is not a number`);
  return value;
}

function parseJson(text: string): ApiBody | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The start of a body, on one line, for messages: an HTML login page or a proxy's complaint. */
function snippet(body: string, ctx: Context): string {
  const text = ctx.redact(body).replace(/\s+/g, ' ').trim();
  if (text === '') return '';
  return `: ${text.length > 200 ? `${text.slice(0, 200)}...` : text}`;
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}
