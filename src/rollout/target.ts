import { NotFoundError, UserError } from '../errors.ts';
import { findTargetRoute } from '../istio/route.ts';
import { locateRoute, readState, type RolloutState } from '../istio/state.ts';
import type { DestinationRule, HTTPRoute, Subset, VirtualService } from '../istio/types.ts';
import type { Cluster, Deployment } from '../kube/cluster.ts';
import type { Settings } from '../config/settings.ts';
import { readVirtualService } from './stage.ts';

/** What a command acts on, resolved from the settings and the cluster. */
export interface Target {
  namespace: string;
  vs: VirtualService;
  /** State annotations of a rollout in progress, if any. */
  state?: RolloutState;
  routeIndex: number;
  route: HTTPRoute;
  /** Route name, or `http[i]` when unnamed: for messages and reports. */
  routeLabel: string;
  /** The destination host as written in the route. */
  host: string;
}

/** Reads the VirtualService and finds the route to shift (from the state when a rollout is on). */
export async function resolveTarget(settings: Settings, cluster: Cluster): Promise<Target> {
  const { namespace, vs } = await readVirtualService(settings, cluster);
  const state = readState(vs);
  if (state) {
    const { index, route } = locateRoute(vs, state);
    return {
      namespace,
      vs,
      state,
      routeIndex: index,
      route,
      routeLabel: labelOf(route, index),
      host: state.host,
    };
  }
  if (!settings.stableSubset) {
    throw new UserError(
      `Input "stable-subset" is needed to find the route of VirtualService "${settings.virtualService}".`,
    );
  }
  const found = findTargetRoute(vs, {
    route: settings.route,
    host:
      settings.host ??
      (settings.route ? undefined : await hostWithSubsets(cluster, vs, namespace, settings)),
    stableSubset: settings.stableSubset,
    canarySubset: settings.canarySubset,
  });
  return {
    namespace,
    vs,
    routeIndex: found.index,
    route: found.route,
    routeLabel: labelOf(found.route, found.index),
    host: found.host,
  };
}

/**
 * Without `host` or `route`, the host under rollout is the one whose DestinationRule defines the
 * stable subset: a VirtualService often also routes other services (with no subset), and those are not
 * candidates. Undefined when that does not single out one host; route matching then decides.
 */
async function hostWithSubsets(
  cluster: Cluster,
  vs: VirtualService,
  namespace: string,
  settings: Settings,
): Promise<string | undefined> {
  // The stable subset alone: a missing canary subset is reported later, naming the subset.
  const wanted = [settings.stableSubset].filter((s): s is string => s !== undefined);
  const routeHosts = new Set(
    (vs.spec.http ?? []).flatMap((r) => (r.route ?? []).map((d) => d.destination.host)),
  );
  const rules = await cluster.listDestinationRules(namespace);
  const withSubsets = new Set(
    rules
      .filter((rule) => wanted.every((name) => rule.spec.subsets?.some((s) => s.name === name)))
      .flatMap((rule) => serviceOfHostOrUndefined(rule.spec.host, namespace)?.fqdn ?? []),
  );
  const hosts = [...routeHosts].filter((host) => {
    const fqdn = serviceOfHostOrUndefined(host, namespace)?.fqdn;
    return fqdn !== undefined && withSubsets.has(fqdn);
  });
  return hosts.length === 1 ? hosts[0] : undefined;
}

export function labelOf(route: HTTPRoute, index: number): string {
  return route.name ?? `http[${index}]`;
}

/** `backend`, `backend.shop`, `backend.shop.svc` and the full name all mean one Service. */
export function serviceOfHost(
  host: string,
  namespace: string,
): { name: string; namespace: string; fqdn: string } {
  const parts = host.split('.');
  if (parts.length === 1)
    return { name: host, namespace, fqdn: `${host}.${namespace}.svc.cluster.local` };
  const isClusterLocal =
    parts.length === 2 ||
    (parts.length === 3 && parts[2] === 'svc') ||
    (parts.length >= 4 && parts[2] === 'svc' && parts.slice(3).join('.') === 'cluster.local');
  if (!isClusterLocal) {
    throw new UserError(
      `Host "${host}" is not a Kubernetes Service (name, name.namespace or name.namespace.svc.cluster.local); canaries of external hosts are not supported.`,
    );
  }
  return {
    name: parts[0],
    namespace: parts[1],
    fqdn: `${parts[0]}.${parts[1]}.svc.cluster.local`,
  };
}

/** The workloads (Deployments) behind one subset, and how many of their pods are ready. */
export interface SubsetWorkloads {
  subset: string;
  namespace: string;
  deployments: string[];
  readyReplicas: number;
}

/** Resolves the DestinationRule and the Deployments behind the stable and canary subsets. */
export async function resolveWorkloads(
  cluster: Cluster,
  settings: Settings,
  target: Target,
  subsets: { stable: string; canary: string },
): Promise<{ destinationRule: DestinationRule; stable: SubsetWorkloads; canary: SubsetWorkloads }> {
  const service = serviceOfHost(target.host, target.namespace);
  const destinationRule = await findDestinationRule(cluster, settings, target.namespace, service);
  const svc = await cluster.getService(service.namespace, service.name).catch((error: unknown) => {
    if (error instanceof NotFoundError) {
      throw new UserError(
        `Service "${service.name}" (host "${target.host}") was not found in namespace "${service.namespace}".`,
      );
    }
    throw error;
  });
  const selector = svc.spec?.selector ?? {};
  const deployments = await cluster.listDeployments(service.namespace);
  const workloads = (name: string): SubsetWorkloads => {
    const subset = subsetOf(destinationRule, name);
    const wanted = { ...selector, ...(subset.labels ?? {}) };
    const matching = deployments.filter((d) =>
      containsLabels(d.spec?.template?.metadata?.labels, wanted),
    );
    return {
      subset: name,
      namespace: service.namespace,
      deployments: matching.map((d) => d.metadata.name).sort(),
      readyReplicas: matching.reduce((sum, d) => sum + readyOf(d), 0),
    };
  };
  return { destinationRule, stable: workloads(subsets.stable), canary: workloads(subsets.canary) };
}

async function findDestinationRule(
  cluster: Cluster,
  settings: Settings,
  namespace: string,
  service: { name: string; namespace: string; fqdn: string },
): Promise<DestinationRule> {
  if (settings.destinationRule) {
    return cluster
      .getDestinationRule(namespace, settings.destinationRule)
      .catch((error: unknown) => {
        if (error instanceof NotFoundError) {
          throw new UserError(
            `DestinationRule "${settings.destinationRule}" (input "destination-rule") was not found in namespace "${namespace}".`,
          );
        }
        throw error;
      });
  }
  const namespaces = [...new Set([namespace, service.namespace])];
  for (const ns of namespaces) {
    const rules = await cluster.listDestinationRules(ns);
    const matching = rules.filter(
      (rule) => serviceOfHostOrUndefined(rule.spec.host, ns)?.fqdn === service.fqdn,
    );
    if (matching.length === 1) return matching[0];
    if (matching.length > 1) {
      throw new UserError(
        `Several DestinationRules in namespace "${ns}" have host ${service.fqdn}: ${matching.map((r) => r.metadata.name).join(', ')}; set input "destination-rule".`,
      );
    }
  }
  throw new UserError(
    `No DestinationRule with host ${service.fqdn} in namespace ${namespaces.join(' or ')}; create one with subsets for both versions, or set input "destination-rule".`,
  );
}

function serviceOfHostOrUndefined(host: string, namespace: string): { fqdn: string } | undefined {
  try {
    return serviceOfHost(host, namespace);
  } catch {
    return undefined;
  }
}

function subsetOf(rule: DestinationRule, name: string): Subset {
  const subset = rule.spec.subsets?.find((s) => s.name === name);
  if (!subset) {
    const names = (rule.spec.subsets ?? []).map((s) => s.name);
    throw new UserError(
      `DestinationRule "${rule.metadata.name}" has no subset "${name}"; it has: ${names.join(', ') || '(none)'}.`,
    );
  }
  return subset;
}

function containsLabels(
  labels: Record<string, string> | undefined,
  wanted: Record<string, string>,
): boolean {
  return Object.entries(wanted).every(([key, value]) => labels?.[key] === value);
}

function readyOf(deployment: Deployment): number {
  return deployment.status?.readyReplicas ?? 0;
}
