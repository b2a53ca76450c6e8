import https from 'node:https';
import {
  ApiException,
  ApisApi,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
} from '@kubernetes/client-node';
import type { Clock } from '../clock.ts';
import { ConflictError, ForbiddenError, NotFoundError, UserError } from '../errors.ts';
import type { DestinationRule, VirtualService } from '../istio/types.ts';
import type { Logger } from '../logger.ts';
import { isTransientNetworkError, retryAfterMs, withRetry } from '../retry.ts';
import type { Cluster, Deployment, ProxyResponse, Service } from './cluster.ts';
import { installExecPlugins, type ExecPluginOptions } from './exec-plugin.ts';
import { defaultKubeconfigProblem, loadKubeconfigText } from './kubeconfig.ts';

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
  /** How long one call may keep retrying 429/5xx/network errors. */
  maxElapsedMs?: number;
  /** Told each credential an exec plugin returns (see exec-plugin.ts); nothing when absent. */
  onCredential?: (secret: string) => void;
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

/** A Cluster on @kubernetes/client-node, with retries and errors that say what failed. */
export function createCluster(options: KubeOptions): Cluster {
  const kc = loadKubeConfig(options.kubeconfig, options.context, {
    env: process.env,
    onCredential: options.onCredential ?? (() => undefined),
  });
  const server = kc.getCurrentCluster()!.server;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const apis = kc.makeApiClient(ApisApi);
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  let istioVersion: Promise<string> | undefined;

  const call = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    withRetry(fn, {
      what: `${what} on ${server}`,
      classify: (error) => classifyKubeError(error, options.clock.now()),
      clock: options.clock,
      logger: options.logger,
      maxElapsedMs: options.maxElapsedMs ?? 60_000,
    }).catch((error: unknown) => {
      throw translate(error, what);
    });

  const crd = async (plural: string) => ({
    group: ISTIO_GROUP,
    version: await cluster.istioVersion(),
    plural,
  });

  const cluster: Cluster = {
    defaultNamespace: contextNamespace ?? 'default',
    istioVersion() {
      istioVersion ??= call('GET /apis', () => apis.getAPIVersions()).then((list) => {
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
      return (await call(`GET virtualservices/${name} in ${namespace}`, () =>
        custom.getNamespacedCustomObject({ ...ref, namespace, name }),
      )) as VirtualService;
    },
    async replaceVirtualService(vs) {
      const ref = await crd('virtualservices');
      const { name } = vs.metadata;
      const namespace = vs.metadata.namespace!;
      return (await call(`PUT virtualservices/${name} in ${namespace}`, () =>
        custom.replaceNamespacedCustomObject({ ...ref, namespace, name, body: vs }),
      )) as VirtualService;
    },
    async listAllVirtualServices() {
      const ref = await crd('virtualservices');
      const list = (await call('LIST virtualservices in all namespaces', () =>
        custom.listClusterCustomObject(ref),
      )) as { items: VirtualService[] };
      return list.items;
    },
    async getDestinationRule(namespace, name) {
      const ref = await crd('destinationrules');
      return (await call(`GET destinationrules/${name} in ${namespace}`, () =>
        custom.getNamespacedCustomObject({ ...ref, namespace, name }),
      )) as DestinationRule;
    },
    async replaceDestinationRule(dr) {
      const ref = await crd('destinationrules');
      const { name } = dr.metadata;
      const namespace = dr.metadata.namespace!;
      return (await call(`PUT destinationrules/${name} in ${namespace}`, () =>
        custom.replaceNamespacedCustomObject({ ...ref, namespace, name, body: dr }),
      )) as DestinationRule;
    },
    async listDestinationRules(namespace) {
      const ref = await crd('destinationrules');
      const list = (await call(`LIST destinationrules in ${namespace}`, () =>
        custom.listNamespacedCustomObject({ ...ref, namespace }),
      )) as { items: DestinationRule[] };
      return list.items;
    },
    async listDeployments(namespace) {
      const list = await call(`LIST deployments in ${namespace}`, () =>
        apps.listNamespacedDeployment({ namespace }),
      );
      return list.items as Deployment[];
    },
    async getService(namespace, name) {
      return (await call(`GET services/${name} in ${namespace}`, () =>
        core.readNamespacedService({ namespace, name }),
      )) as Service;
    },
    proxyGet(namespace, service, port, path, query) {
      const search = new URLSearchParams(query).toString();
      const url = new URL(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}:${encodeURIComponent(port)}/proxy${path}${search ? `?${search}` : ''}`,
        server.endsWith('/') ? server : `${server}/`,
      );
      return call(`GET services/${service}:${port}/proxy in ${namespace}`, () =>
        proxyRequest(kc, url),
      );
    },
  };
  return cluster;
}

/** A GET through the service proxy, authenticated as the kubeconfig says (CA, token, client cert). */
async function proxyRequest(kc: KubeConfig, url: URL): Promise<ProxyResponse> {
  const options: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  return new Promise<ProxyResponse>((resolve, reject) => {
    const request = https.request(url, { ...options, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [key, value] of Object.entries(response.headers)) {
          if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : value;
        }
        const result = {
          status: response.statusCode ?? 0,
          headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        // The proxy's own failures (auth, no endpoints) are the API server's; retry those like any call.
        if (
          result.status === 401 ||
          result.status === 403 ||
          result.status === 429 ||
          result.status >= 500
        ) {
          reject(
            new ApiException(
              result.status,
              `proxy answered ${result.status}`,
              result.body,
              headers,
            ),
          );
        } else {
          resolve(result);
        }
      });
    });
    request.on('timeout', () =>
      request.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })),
    );
    request.on('error', reject);
    request.end();
  });
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
