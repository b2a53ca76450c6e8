import { NotFoundError, UserError } from '../errors.ts';
import { userView } from '../istio/added-routes.ts';
import { findHostTargetRoute } from '../istio/host-canary.ts';
import { findTargetRoute, type TargetRoute } from '../istio/route.ts';
import { assertHttpRoutes } from '../istio/route-shape.ts';
import type { RolloutState } from '../istio/state/format.ts';
import { locateRoute } from '../istio/state/locate.ts';
import { readState } from '../istio/state/read.ts';
import type { DestinationRule, HTTPRoute, Subset, VirtualService } from '../istio/types.ts';
import type { Cluster, Deployment, Service } from '../kube/cluster.ts';
import type { Settings } from '../config/settings.ts';
import { readVirtualService, type SidePair } from './stage.ts';

export { sidePair, type SidePair } from './stage.ts';

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

/**
 * Reads the VirtualService (`name`, by default the first of the settings) and finds the route to
 * shift: from the state when a rollout is on, else among the user's routes (never a route the
 * tool inserted, such as another rollout's caller route).
 */
export async function resolveTarget(
  settings: Settings,
  cluster: Cluster,
  name = settings.virtualService,
): Promise<Target> {
  const { namespace, vs } = await readVirtualService(settings, cluster, name);
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
  const found = await findUserRoute(settings, cluster, vs, namespace);
  return {
    namespace,
    vs,
    routeIndex: found.index,
    route: found.route,
    routeLabel: labelOf(found.route, found.index),
    host: found.host,
  };
}

/** The targeted route among the user's routes of `vs`, by the subset or host inputs. */
async function findUserRoute(
  settings: Settings,
  cluster: Cluster,
  vs: VirtualService,
  namespace: string,
): Promise<TargetRoute> {
  const { view, toReal } = userView(vs, []);
  let found: TargetRoute;
  if (settings.stableHost !== undefined && settings.canaryHost !== undefined) {
    found = findHostTargetRoute(view, {
      route: settings.route,
      stableHost: settings.stableHost,
      canaryHost: settings.canaryHost,
    });
  } else {
    if (!settings.stableSubset) {
      throw new UserError(
        `Input "stable-subset" (or "stable-host") is needed to find the route of VirtualService "${vs.metadata.name}".`,
      );
    }
    found = findTargetRoute(view, {
      route: settings.route,
      host:
        settings.host ??
        (settings.route
          ? undefined
          : await hostWithSubsets(cluster, view, namespace, settings.stableSubset)),
      stableSubset: settings.stableSubset,
      canarySubset: settings.canarySubset,
    });
  }
  return { ...found, index: toReal(found.index) };
}

/**
 * Without `host` or `route`, the host under rollout is the one whose DestinationRule defines the
 * stable subset: a VirtualService often also routes other services (with no subset), and those are not
 * candidates. Undefined when that does not single out one host; route matching then decides.
 */
export async function hostWithSubsets(
  cluster: Cluster,
  vs: VirtualService,
  namespace: string,
  stableSubset: string,
): Promise<string | undefined> {
  assertHttpRoutes(vs);
  // The stable subset alone: a missing canary subset is reported later, naming the subset.
  const wanted = [stableSubset];
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

/** The workloads (Deployments) behind one side of the canary, and how many of their pods are ready. */
export interface SubsetWorkloads {
  /** The subset's name, or the Service's name for a host canary. */
  subset: string;
  /** How messages name the side: `subset "v2"` or `Service "backend-canary"`. */
  label: string;
  namespace: string;
  deployments: string[];
  readyReplicas: number;
  /** The pod labels that pick this side's pods: the Service's selector plus the subset's labels. */
  podLabels: Record<string, string>;
}

/** The two sides of a canary and, for subsets, the DestinationRule that defines them. */
export interface Workloads {
  destinationRule?: DestinationRule;
  stable: SubsetWorkloads;
  canary: SubsetWorkloads;
}

/** Resolves the Deployments behind both sides: subsets of one Service, or two Services. */
export async function resolveSides(
  cluster: Cluster,
  settings: Settings,
  target: Target,
  pair: SidePair,
): Promise<Workloads> {
  if (pair.kind === 'subsets') return resolveWorkloads(cluster, settings, target, pair);
  const [stable, canary] = await Promise.all(
    [pair.stable, pair.canary].map(async (host) => {
      const service = serviceOfHost(host, target.namespace);
      const svc = await getService(cluster, service, host);
      const deployments = await cluster.listDeployments(service.namespace);
      return sideWorkloads(deployments, svc.spec?.selector ?? {}, {
        name: service.name,
        label: `Service "${service.name}"`,
        namespace: service.namespace,
      });
    }),
  );
  return { stable, canary };
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
  const svc = await getService(cluster, service, target.host);
  const selector = svc.spec?.selector ?? {};
  const deployments = await cluster.listDeployments(service.namespace);
  const workloads = (name: string): SubsetWorkloads => {
    const subset = subsetOf(destinationRule, name);
    return sideWorkloads(
      deployments,
      { ...selector, ...(subset.labels ?? {}) },
      { name, label: `subset "${name}"`, namespace: service.namespace },
    );
  };
  return { destinationRule, stable: workloads(subsets.stable), canary: workloads(subsets.canary) };
}

function sideWorkloads(
  deployments: Deployment[],
  wanted: Record<string, string>,
  side: { name: string; label: string; namespace: string },
): SubsetWorkloads {
  // A Service without a selector has no pods of its own to watch.
  const matching =
    Object.keys(wanted).length === 0
      ? []
      : deployments.filter((d) => containsLabels(d.spec?.template?.metadata?.labels, wanted));
  return {
    subset: side.name,
    label: side.label,
    namespace: side.namespace,
    deployments: matching.map((d) => d.metadata.name).sort(),
    readyReplicas: matching.reduce((sum, d) => sum + readyOf(d), 0),
    podLabels: wanted,
  };
}

async function getService(
  cluster: Cluster,
  service: { name: string; namespace: string },
  host: string,
): Promise<Service> {
  return cluster.getService(service.namespace, service.name).catch((error: unknown) => {
    if (error instanceof NotFoundError) {
      throw new UserError(
        `Service "${service.name}" (host "${host}") was not found in namespace "${service.namespace}".`,
      );
    }
    throw error;
  });
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
