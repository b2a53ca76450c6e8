import type http from 'node:http';
import type https from 'node:https';
import {
  ApiException,
  ApisApi,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type ConfigurationOptions,
} from '@kubernetes/client-node';
import type { Clock } from '../clock.ts';
import { DEFAULT_CALL_TIMEOUT_MS } from '../config/deadlines.ts';
import { ConflictError, ForbiddenError, NotFoundError, UserError } from '../errors.ts';
import type { DestinationRule, VirtualService } from '../istio/types.ts';
import type { Logger } from '../logger.ts';
import { startDeadline, withinDeadline } from '../net/deadline.ts';
import { InFlightCalls } from '../net/in-flight.ts';
import { isTransientNetworkError, retryAfterMs, withRetry } from '../retry.ts';
import type { Cluster, Deployment, ProxyOptions, ProxyResponse, Service } from './cluster.ts';
import { installExecPlugins, type ExecPluginOptions } from './exec-plugin.ts';
import { defaultKubeconfigProblem, loadKubeconfigText } from './kubeconfig.ts';
import { KUBE_MAX_BODY_BYTES, kubeHttpLibrary, sendKubeRequest } from './transport.ts';

const ISTIO_GROUP = 'networking.istio.io';
/** Newest first: the first one the server serves is used. */
const ISTIO_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'];

export interface KubeOptions {
  /** Kubeconfig YAML; undefined = KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfig?: string;
  /** Context to use; undefined = current context. */
  context?: string;
  clock: Clock;
  logger: Logger;
  /** Total time of one call, connect to last byte, retries included; default 30 s. */
  callTimeoutMs?: number;
  /** Largest answer read from the API server; default {@link KUBE_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** Records the calls under way, for the message of a step past its deadline. */
  calls?: InFlightCalls;
  /** Told each credential an exec plugin returns (see exec-plugin.ts); nothing when absent. */
  onCredential?: (secret: string) => void;
}

/** What one attempt of a call gets: its deadline, and client-node options that honour it. */
interface Attempt {
  signal: AbortSignal;
  options: ConfigurationOptions;
}

/** Loads the kubeconfig and selects the context; errors name the input at fault. */
export function loadKubeConfig(
  kubeconfig: string | undefined,
  context: string | undefined,
  plugins: ExecPluginOptions = { env: process.env, onCredential: () => undefined },
): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig !== undefined) loadKubeconfigText(kc, kubeconfig, 'Input "kubeconfig"');
  else {
    try {
      kc.loadFromDefault();
    } catch {
      throw new UserError(
        `The default kubeconfig (KUBECONFIG or ~/.kube/config) could not be loaded: ${defaultKubeconfigProblem(process.env)}`,
      );
    }
  }
  installExecPlugins(kc, plugins);
  if (kubeconfig === undefined && isLibraryFallback(kc)) {
    throw new UserError(
      'No kubeconfig was found: input "kubeconfig" is not set, KUBECONFIG is not set, ~/.kube/config does not exist, and this is not a pod with a service account. Give the kubeconfig with input "kubeconfig".',
    );
  }
  if (context !== undefined) {
    const names = kc.getContexts().map((c) => c.name);
    if (!names.includes(context)) {
      throw new UserError(
        `Input "context" is "${context}", but the kubeconfig has only: ${names.join(', ') || '(no contexts)'}.`,
      );
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) {
    throw new UserError(
      'The kubeconfig has no cluster for its current context; set input "context" or fix the kubeconfig.',
    );
  }
  return kc;
}

/**
 * What client-node's loadFromDefault settles on when it finds no kubeconfig at all: a made-up
 * http://localhost:8080 cluster. Calling it would only print a refused connection.
 */
function isLibraryFallback(kc: KubeConfig): boolean {
  const cluster = kc.getCurrentCluster();
  return (
    kc.getCurrentContext() === 'loaded-context' &&
    kc.getContexts().length === 1 &&
    cluster?.name === 'cluster' &&
    cluster.server === 'http://localhost:8080' &&
    kc.getCurrentUser()?.name === 'user'
  );
}

/**
 * Refuses a server we would talk to in the clear, and warns once when the kubeconfig turns off
 * the check of the server's identity. Returns the server's origin, for every message.
 */
function checkServer(kc: KubeConfig, logger: Logger): string {
  const cluster = kc.getCurrentCluster()!;
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw new UserError(
      `The kubeconfig's cluster "${cluster.name}" has a server that is not a URL; give the API server's https:// address.`,
    );
  }
  if (url.protocol !== 'https:') {
    throw new UserError(
      `The kubeconfig's cluster "${cluster.name}" has server ${url.origin}: istio-canary talks to the API server over https only (the credentials and the routes would cross the network unencrypted); use the API server's https:// address.`,
    );
  }
  if (cluster.skipTLSVerify) {
    logger.warn(
      `The kubeconfig's cluster "${cluster.name}" sets insecure-skip-tls-verify: the identity of ${url.origin} is not checked, so anyone on the network path could answer in its place. Give its certificate-authority-data instead.`,
    );
  }
  return url.origin;
}

/** The kubeconfig's TLS agent (CA, client certificate, proxy), with the headers of one request. */
async function kubeconfigRequest(
  kc: KubeConfig,
): Promise<{ agent?: http.Agent; headers: Record<string, string> }> {
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.headers ?? {}))
    if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : String(value);
  if (options.auth) headers.Authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
  return { agent: options.agent as http.Agent | undefined, headers };
}

/**
 * A Cluster on @kubernetes/client-node, with retries and errors that say what failed. Every call
 * has one deadline from connect to last byte, retries included, and a limit on the answer's size.
 */
export function createCluster(options: KubeOptions): Cluster {
  const kc = loadKubeConfig(options.kubeconfig, options.context, {
    env: process.env,
    onCredential: options.onCredential ?? (() => undefined),
    timeoutMs: options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
  });
  const server = checkServer(kc, options.logger);
  const base = kc.getCurrentCluster()!.server.replace(/\/+$/, '');
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const apis = kc.makeApiClient(ApisApi);
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  const timeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const maxBodyBytes = options.maxBodyBytes ?? KUBE_MAX_BODY_BYTES;
  const calls = options.calls ?? new InFlightCalls();
  let agent: Promise<http.Agent | undefined> | undefined;
  const agentOf = (): Promise<http.Agent | undefined> =>
    (agent ??= kubeconfigRequest(kc).then((r) => r.agent));
  let istioVersion: Promise<string> | undefined;

  /**
   * Runs `fn` under one deadline for the call (`outer` may cut it shorter). With `retry`, 429,
   * 5xx and network failures are tried again within that same budget.
   */
  const call = <T>(
    what: string,
    fn: (attempt: Attempt) => Promise<T>,
    how: { retry?: boolean; signal?: AbortSignal } = {},
  ): Promise<T> => {
    const label = `${what} on ${server}`;
    return calls
      .track(label, async () => {
        const deadline = startDeadline(timeoutMs, label, how.signal);
        const httpApi = kubeHttpLibrary({
          agent: agentOf,
          signal: deadline.signal,
          maxBodyBytes,
          what,
        });
        const attempt = { signal: deadline.signal, options: { httpApi } };
        // The transport honours the deadline; this also bounds what client-node does before it
        // sends (an exec credential plugin that never exits).
        const once = (): Promise<T> => withinDeadline(fn(attempt), deadline.signal, label);
        try {
          if (how.retry === false) return await once();
          return await withRetry(once, {
            what: label,
            classify: (error) => classifyKubeError(error, options.clock.now()),
            clock: options.clock,
            logger: options.logger,
            maxElapsedMs: timeoutMs,
            signal: deadline.signal,
          });
        } finally {
          deadline.dispose();
        }
      })
      .catch((error: unknown) => {
        throw translate(error, what);
      });
  };

  const crd = async (plural: string) => ({
    group: ISTIO_GROUP,
    version: await cluster.istioVersion(),
    plural,
  });

  const cluster: Cluster = {
    defaultNamespace: contextNamespace ?? 'default',
    istioVersion() {
      istioVersion ??= call('GET /apis', (a) => apis.getAPIVersions({}, a.options)).then((list) => {
        const group = list.groups.find((g) => g.name === ISTIO_GROUP);
        const served = new Set(group?.versions.map((v) => v.version) ?? []);
        const version = ISTIO_VERSIONS.find((v) => served.has(v));
        if (!version) {
          throw new UserError(
            `The API server at ${server} does not serve ${ISTIO_GROUP} (${ISTIO_VERSIONS.join(', ')}); is Istio installed in this cluster?`,
          );
        }
        return version;
      });
      return istioVersion;
    },
    async getVirtualService(namespace, name) {
      const ref = await crd('virtualservices');
      return (await call(`GET virtualservices/${name} in ${namespace}`, (a) =>
        custom.getNamespacedCustomObject({ ...ref, namespace, name }, a.options),
      )) as VirtualService;
    },
    async replaceVirtualService(vs) {
      const ref = await crd('virtualservices');
      const { name } = vs.metadata;
      const namespace = vs.metadata.namespace!;
      return (await call(`PUT virtualservices/${name} in ${namespace}`, (a) =>
        custom.replaceNamespacedCustomObject({ ...ref, namespace, name, body: vs }, a.options),
      )) as VirtualService;
    },
    async listAllVirtualServices() {
      const ref = await crd('virtualservices');
      const list = (await call('LIST virtualservices in all namespaces', (a) =>
        custom.listClusterCustomObject(ref, a.options),
      )) as { items: VirtualService[] };
      return list.items;
    },
    async getDestinationRule(namespace, name) {
      const ref = await crd('destinationrules');
      return (await call(`GET destinationrules/${name} in ${namespace}`, (a) =>
        custom.getNamespacedCustomObject({ ...ref, namespace, name }, a.options),
      )) as DestinationRule;
    },
    async replaceDestinationRule(dr) {
      const ref = await crd('destinationrules');
      const { name } = dr.metadata;
      const namespace = dr.metadata.namespace!;
      return (await call(`PUT destinationrules/${name} in ${namespace}`, (a) =>
        custom.replaceNamespacedCustomObject({ ...ref, namespace, name, body: dr }, a.options),
      )) as DestinationRule;
    },
    async listDestinationRules(namespace) {
      const ref = await crd('destinationrules');
      const list = (await call(`LIST destinationrules in ${namespace}`, (a) =>
        custom.listNamespacedCustomObject({ ...ref, namespace }, a.options),
      )) as { items: DestinationRule[] };
      return list.items;
    },
    async listDeployments(namespace) {
      const list = await call(`LIST deployments in ${namespace}`, (a) =>
        apps.listNamespacedDeployment({ namespace }, a.options),
      );
      return list.items as Deployment[];
    },
    async getService(namespace, name) {
      return (await call(`GET services/${name} in ${namespace}`, (a) =>
        core.readNamespacedService({ namespace, name }, a.options),
      )) as Service;
    },
    proxyGet(namespace, service, port, path, query, proxy: ProxyOptions = {}) {
      const search = new URLSearchParams(query).toString();
      // Under the server's own path, when it has one (a cluster behind Rancher or a gateway).
      const url = new URL(
        `${base}/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}:${encodeURIComponent(port)}/proxy${path}${search ? `?${search}` : ''}`,
      );
      const what = `GET services/${service}:${port}/proxy in ${namespace}`;
      // One attempt: the caller judges the answer (429 and 5xx come back as they are) and
      // retries within its own budget, so two retry loops never stack.
      return call(
        what,
        (a) => proxyRequest(kc, url, a.signal, proxy.maxBodyBytes ?? maxBodyBytes, what),
        {
          retry: false,
          signal: proxy.signal,
        },
      );
    },
  };
  return cluster;
}

/**
 * A GET through the service proxy, authenticated as the kubeconfig says. The API server's own
 * refusals (401, 403) are errors; every other status is the service's answer.
 */
async function proxyRequest(
  kc: KubeConfig,
  url: URL,
  signal: AbortSignal,
  maxBodyBytes: number,
  what: string,
): Promise<ProxyResponse> {
  const { agent, headers } = await kubeconfigRequest(kc);
  const response = await sendKubeRequest({
    method: 'GET',
    url,
    headers: { ...headers, Accept: 'application/json' },
    agent,
    signal,
    maxBodyBytes,
    what,
  });
  const body = response.body.toString('utf8');
  if (response.status === 401 || response.status === 403) {
    throw new ApiException(
      response.status,
      `proxy answered ${response.status}`,
      body,
      response.headers,
    );
  }
  return { status: response.status, headers: response.headers, body };
}

/** 429, 5xx (not 501) and network errors are worth another try; everything else is final. */
export function classifyKubeError(
  error: unknown,
  now: number,
): { retry: boolean; retryAfterMs?: number } {
  if (error instanceof ApiException) {
    const code = error.code;
    const retry = code === 429 || (code >= 500 && code !== 501);
    const header = headerValue(error.headers, 'retry-after');
    return { retry, retryAfterMs: retry ? retryAfterMs(header, now) : undefined };
  }
  return { retry: isTransientNetworkError(error) };
}

function headerValue(
  headers: Record<string, string> | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/** Turns an ApiException into an error a person can act on, naming the call. */
function translate(error: unknown, what: string): Error {
  if (!(error instanceof ApiException))
    return error instanceof Error ? error : new Error(String(error));
  const status = statusMessage(error.body);
  const detail = status ? `: ${status}` : '';
  switch (error.code) {
    case 404:
      return new NotFoundError(`${what} failed: not found${detail}`);
    case 403:
      return new ForbiddenError(
        `${what} failed: forbidden${detail}. The credentials need the rules examples/rbac.yaml grants (README, section Permissions), in every namespace the rollout touches.`,
      );
    case 401:
      return new UserError(
        `${what} failed: unauthorized; the API server rejected the kubeconfig's credentials${detail}`,
      );
    case 409:
      return new ConflictError(`${what} failed: conflict${detail}`);
    case 400:
    case 422:
      return new UserError(`${what} was rejected by the API server${detail}`);
    default:
      return new Error(`${what} failed with HTTP ${error.code}${detail}`);
  }
}

function statusMessage(body: unknown): string | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body.slice(0, 300) || undefined;
    }
  }
  const text = (value as { message?: unknown } | null)?.message;
  return typeof text === 'string' ? text : undefined;
}
