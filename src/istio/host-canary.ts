/**
 * Host canaries: teams that run two Services (`app-stable`, `app-canary`) instead of two subsets
 * of one. The route's destinations then differ by host: the original destination for the stable
 * Service, and for the canary a copy of it with the canary host and no subset (a subset belongs
 * to the stable host's DestinationRule), or the route's own canary destination when the user had
 * split it by hand. Pure, like route.ts.
 */
import { UserError } from '../errors.ts';
import { objectLabel } from './names.ts';
import {
  assertHasHttpRoutes,
  describeDestinations,
  pickRoute,
  positionHint,
  routeLabel,
} from './route.ts';
import { assertHttpRoutes } from './route-shape.ts';
import type { TargetRoute } from './route.ts';
import type { Destination, HTTPRoute, HTTPRouteDestination, VirtualService } from './types.ts';
import { splitWeights } from './weights.ts';

/** How the caller picks the route of a host canary: the `route`, `stable-host`, `canary-host` inputs. */
export interface HostTargetQuery {
  /** Name or `http[N]` position of the http route; when absent, the one route to `stableHost`. */
  route?: string;
  stableHost: string;
  canaryHost: string;
}

/** What one stage of a host canary writes. */
export interface HostWeightOptions {
  /** The stable host; matched against the route's hosts as `namespace` resolves short names. */
  stableHost: string;
  /** The canary host, written into the canary destination as given. */
  canaryHost: string;
  /** Canary percent, an integer 0-100. */
  weight: number;
  /** Namespace of the VirtualService, to resolve short host names; `default` when absent. */
  namespace?: string;
}

/**
 * True when two hosts name the same Service as seen from `namespace`: `reviews`,
 * `reviews.shop`, `reviews.shop.svc` and `reviews.shop.svc.cluster.local` are one host in `shop`.
 */
export function sameHost(a: string, b: string, namespace: string | undefined): boolean {
  return fqdn(a, namespace) === fqdn(b, namespace);
}

function fqdn(host: string, namespace = 'default'): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  const parts = h.split('.');
  if (h.startsWith('*') || parts.length > 3) return h;
  if (parts.length === 1) return `${h}.${namespace}.svc.cluster.local`;
  if (parts.length === 2) return `${h}.svc.cluster.local`;
  return parts[2] === 'svc' ? `${h}.cluster.local` : h;
}

/**
 * Finds the http route a host canary shifts: with `route`, the route of that name or position
 * (see pickRoute); without, the one route with a destination to `stableHost`. The route's
 * destinations may only go to the two hosts (anything else would be dropped by the rewrite),
 * and exactly one of them to the stable host. Short and fully qualified host names are compared as the VirtualService's namespace
 * resolves them. `host` in the result is the stable host as the route writes it.
 */
export function findHostTargetRoute(vs: VirtualService, query: HostTargetQuery): TargetRoute {
  assertHttpRoutes(vs);
  assertHasHttpRoutes(vs);
  const http = vs.spec.http ?? [];
  const where = objectLabel('VirtualService', vs.metadata);
  const ns = vs.metadata.namespace;
  const toStable = (route: HTTPRoute): boolean =>
    (route.route ?? []).some((d) => sameHost(d.destination.host, query.stableHost, ns));
  const indexes =
    query.route === undefined
      ? http.flatMap((route, index) => (toStable(route) ? [index] : []))
      : [pickRoute(vs, query.route)];
  if (indexes.length !== 1) {
    throw new UserError(noSingleRoute(vs, query, indexes, where));
  }
  const index = indexes[0];
  const route = http[index];
  hostSources(route, { ...query, namespace: ns }, `Route ${routeLabel(route, index)} of ${where}`);
  const stable = (route.route ?? []).find((d) =>
    sameHost(d.destination.host, query.stableHost, ns),
  );
  return { index, route, host: stable?.destination.host ?? query.stableHost };
}

/** Why no single route of a host canary was found, without `route` (which pickRoute explains). */
function noSingleRoute(
  vs: VirtualService,
  query: HostTargetQuery,
  indexes: number[],
  where: string,
): string {
  const http = vs.spec.http ?? [];
  const listed = (list: number[]): string =>
    list.map((i) => `${routeLabel(http[i], i)} -> ${describeDestinations(http[i])}`).join('; ');
  if (indexes.length === 0) {
    return (
      `No http route of ${where} sends traffic to host ${JSON.stringify(query.stableHost)} ` +
      `(input "stable-host"); its routes: ${listed(http.map((_, i) => i))}`
    );
  }
  return (
    `${indexes.length} http routes of ${where} send traffic to host ` +
    `${JSON.stringify(query.stableHost)}: ${listed(indexes)}. Set input "route" to the name of ` +
    `the one to shift${positionHint(indexes.map((i) => [http[i], i]))}`
  );
}

/**
 * The destinations a stage of a host canary is built from: the one to the stable host, and the
 * one to the canary host when the user already split the route by hand (it keeps its own fields).
 * Others may only go to the canary host, at most one; anything else is refused with `where`.
 */
function hostSources(
  route: HTTPRoute,
  opts: Omit<HostWeightOptions, 'weight'>,
  where: string,
): { stable: HTTPRouteDestination; canary?: HTTPRouteDestination } {
  const destinations = route.route ?? [];
  const is = (d: HTTPRouteDestination, host: string): boolean =>
    sameHost(d.destination.host, host, opts.namespace);
  const bases = destinations.filter((d) => is(d, opts.stableHost));
  const canaries = destinations.filter((d) => !bases.includes(d) && is(d, opts.canaryHost));
  const foreign = destinations.filter((d) => !bases.includes(d) && !canaries.includes(d));
  if (bases.length !== 1 || foreign.length > 0 || canaries.length > 1) {
    throw new UserError(
      `${where} must send its traffic through exactly one destination to host ` +
        `${JSON.stringify(opts.stableHost)} (plus, optionally, one to host ${JSON.stringify(opts.canaryHost)}); ` +
        `its destinations: ${describeDestinations(route)}`,
    );
  }
  return canaries.length === 1 ? { stable: bases[0], canary: canaries[0] } : { stable: bases[0] };
}

/**
 * The route at one stage of a host canary: `current` with its destinations replaced by the
 * original's stable destination at 100-w and the canary at w: the original's own destination to
 * the canary host when it had one, else a copy of the stable one to the canary host. At 0 or 100
 * one destination is left, without a weight. Every other field of `current` is kept in place.
 */
export function setHostWeight(
  original: HTTPRoute,
  current: HTTPRoute,
  opts: HostWeightOptions,
): HTTPRoute {
  const sources = hostSources(original, opts, 'The route under rollout');
  const base = sources.stable;
  const { stable, canary } = splitWeights(opts.weight);
  const stableCopy = (weight?: number) => withWeight(base, base.destination, weight);
  const canaryCopy = (weight?: number) =>
    sources.canary
      ? withWeight(sources.canary, sources.canary.destination, weight)
      : withWeight(base, toCanaryHost(base.destination, opts.canaryHost), weight);
  let destinations: HTTPRouteDestination[];
  if (canary === 0) destinations = [stableCopy()];
  else if (stable === 0) destinations = [canaryCopy()];
  else destinations = [stableCopy(stable), canaryCopy(canary)];
  const next = structuredClone(current);
  next.route = destinations;
  return next;
}

/**
 * The promoted route of a host canary: one destination to the canary host, no weight, with the
 * fields of the original's canary destination when it had one.
 */
export function promoteHostRoute(
  original: HTTPRoute,
  current: HTTPRoute,
  opts: Omit<HostWeightOptions, 'weight'>,
): HTTPRoute {
  return setHostWeight(original, current, { ...opts, weight: 100 });
}

/** The stable destination with `host` replaced and no `subset`, keeping key order. */
export function toCanaryHost(destination: Destination, canaryHost: string): Destination {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(destination)) {
    if (key === 'subset') continue;
    out[key] = key === 'host' ? canaryHost : structuredClone(value);
  }
  return out as Destination;
}

/** A copy of `base` with `destination` and `weight` (dropped when undefined), keeping key order. */
function withWeight(
  base: HTTPRouteDestination,
  destination: Destination,
  weight: number | undefined,
): HTTPRouteDestination {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base)) {
    if (key === 'destination') out[key] = structuredClone(destination);
    else if (key !== 'weight') out[key] = structuredClone(value);
    else if (weight !== undefined) out[key] = weight;
  }
  if (weight !== undefined) out.weight = weight;
  return out as HTTPRouteDestination;
}
