import type { DestinationRule, ObjectMeta, VirtualService } from '../istio/types.ts';

/** The few fields of an apps/v1 Deployment that the rollout reads. */
export interface Deployment {
  metadata: ObjectMeta;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> } };
  };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number };
}

/** The few fields of a core/v1 Service that the rollout reads. */
export interface Service {
  metadata: ObjectMeta;
  spec?: { selector?: Record<string, string>; ports?: { port: number; name?: string }[] };
}

/** A response read through the API server's service proxy. */
export interface ProxyResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** How a caller bounds one service-proxy GET: its own budget, and a limit on the answer. */
export interface ProxyOptions {
  /** The caller's deadline for this attempt (the call's own deadline still applies). */
  signal?: AbortSignal;
  /** Largest answer read; default the Kubernetes client's limit. */
  maxBodyBytes?: number;
}

/**
 * Everything the rollout asks of Kubernetes. The production implementation sits on
 * @kubernetes/client-node with retries; every write is conditional on `metadata.resourceVersion`.
 */
export interface Cluster {
  /** The namespace used when the settings name none (context namespace, else `default`). */
  readonly defaultNamespace: string;
  /** The networking.istio.io version the server serves, preferring v1, then v1beta1, v1alpha3. */
  istioVersion(): Promise<string>;
  getVirtualService(namespace: string, name: string): Promise<VirtualService>;
  /** PUT conditional on `vs.metadata.resourceVersion`; throws ConflictError on 409. */
  replaceVirtualService(vs: VirtualService): Promise<VirtualService>;
  /**
   * Every VirtualService of every namespace (a cluster-scope list): the clean-up checks that none
   * still routes to a subset. Throws ForbiddenError when the credentials may not list them there.
   */
  listAllVirtualServices(): Promise<VirtualService[]>;
  getDestinationRule(namespace: string, name: string): Promise<DestinationRule>;
  /** PUT conditional on `dr.metadata.resourceVersion`; throws ConflictError on 409. */
  replaceDestinationRule(dr: DestinationRule): Promise<DestinationRule>;
  listDestinationRules(namespace: string): Promise<DestinationRule[]>;
  listDeployments(namespace: string): Promise<Deployment[]>;
  getService(namespace: string, name: string): Promise<Service>;
  /**
   * GET `path` (with query) on `service:port` through the API server's services proxy, once: the
   * service's answer comes back whatever its status (the caller judges and retries); only the
   * API server's own refusals (401, 403) throw.
   */
  proxyGet(
    namespace: string,
    service: string,
    port: string,
    path: string,
    query: Record<string, string>,
    options?: ProxyOptions,
  ): Promise<ProxyResponse>;
}
