/**
 * Pure editing of the one http route under rollout. Everything here returns new objects and
 * leaves the rest of the user's VirtualService exactly as it was (DESIGN.md section 3).
 */
import { UserError } from '../errors.ts';
import { objectLabel } from './names.ts';
import { assertHttpRoutes } from './route-shape.ts';
import type { Destination, HTTPRoute, HTTPRouteDestination, VirtualService } from './types.ts';
import { splitWeights } from './weights.ts';

/** How the caller picks the route to shift: the `route`, `host` and `stable-subset` inputs. */
export interface TargetQuery {
  /**
   * Name of the http route, or `http[N]` for its position (see routePosition); when absent,
   * the one route that targets the stable subset.
   */
  route?: string;
  /** Destination host under rollout; when absent, taken from the route. */
  host?: string;
  stableSubset: string;
  /** When given, the route is also checked for destinations of other subsets of the host. */
  canarySubset?: string;
}

/** The route found by `findTargetRoute`, with the host its traffic goes to. */
export interface TargetRoute {
  index: number;
  route: HTTPRoute;
  host: string;
}

/** What one stage writes: the route's host, both subsets and the canary percent. */
export interface WeightOptions {
  host: string;
  stableSubset: string;
  canarySubset: string;
  /** Canary percent, an integer 0-100. */
  weight: number;
}

/** What a promote needs; `current` keeps edits a user made to the route during the rollout. */
export interface PromoteOptions {
  host: string;
  stableSubset: string;
  canarySubset: string;
  /** The route as it is now; its fields other than `route` are kept. Defaults to the original. */
  current?: HTTPRoute;
}

/** `"name"` for a named route, `http[2]` for an unnamed one: how errors point at a route. */
export function routeLabel(route: HTTPRoute, index: number): string {
  return route.name ? JSON.stringify(route.name) : `http[${index}]`;
}

const POSITION = /^http\[(\d{1,5})\]$/;

/**
 * The position the `route` input gives as `http[N]`: N counts the VirtualService's http routes
 * from 0, as the user wrote them (routes a rollout inserted are not counted), the same label
 * errors and logs give an unnamed route. Undefined for a route name.
 */
export function routePosition(route: string): number | undefined {
  const match = POSITION.exec(route);
  return match ? Number(match[1]) : undefined;
}

/**
 * Checks a `route` input (`input` names it in the error): a route name, or `http[N]`. Text that
 * starts like a position but is not one is refused rather than taken for a name.
 */
export function assertRouteInput(input: string, route: string): string {
  if (route.startsWith('http[') && routePosition(route) === undefined) {
    throw new UserError(
      `${input} ${JSON.stringify(route)} is neither a route name nor a position: a position is ` +
        'http[N], N counting the http routes from 0',
    );
  }
  return route;
}

/**
 * The index in `vs.spec.http` the `route` input picks: the route of that name, or the route at
 * that position. None, or several of that name, is a UserError naming the input and the routes.
 */
export function pickRoute(vs: VirtualService, route: string): number {
  const http = vs.spec.http ?? [];
  const where = objectLabel('VirtualService', vs.metadata);
  const named = http.flatMap((r, index) => (r.name === route ? [index] : []));
  const position = routePosition(route);
  if (position !== undefined) {
    if (position >= http.length) {
      throw new UserError(
        `Input "route": ${route} is past the end of ${where}, which has ${http.length} http ` +
          `route${http.length === 1 ? '' : 's'} (positions count from http[0])`,
      );
    }
    if (named.some((index) => index !== position)) {
      throw new UserError(
        `Input "route": ${route} is both the position of route ${routeLabel(http[position], position)} ` +
          `and the name of http[${named[0]}] of ${where}; rename one of them`,
      );
    }
    return position;
  }
  if (named.length === 0) {
    const names = http.flatMap((r) => (r.name ? [JSON.stringify(r.name)] : []));
    const present =
      names.length > 0 ? `its named routes are ${names.join(', ')}` : 'it has no named routes';
    throw new UserError(
      `Input "route": ${where} has no http route named ${JSON.stringify(route)}; ${present} ` +
        `(an unnamed route is picked by its position, e.g. "http[0]")`,
    );
  }
  if (named.length > 1) {
    throw new UserError(
      `Input "route": ${where} has ${named.length} http routes named ${JSON.stringify(route)} ` +
        `(${named.map((i) => `http[${i}]`).join(', ')}); route names must be unique`,
    );
  }
  return named[0];
}

/**
 * `, or to its position for an unnamed one (e.g. "http[1]")` when one of `routes` (pairs of a
 * route and its index) has no name; empty when all have one.
 */
export function positionHint(routes: readonly [HTTPRoute, number][]): string {
  const unnamed = routes.find(([route]) => !route.name);
  return unnamed ? `, or to its position for an unnamed one (e.g. "http[${unnamed[1]}]")` : '';
}

/**
 * Refuses a VirtualService without http routes, saying why tcp and tls routes do not count: a
 * rollout shifts the weights of an http route only.
 */
export function assertHasHttpRoutes(vs: VirtualService): void {
  if ((vs.spec.http ?? []).length > 0) return;
  const others = (['tcp', 'tls'] as const).flatMap((kind) => {
    const list = vs.spec[kind];
    return Array.isArray(list) && list.length > 0 ? [`${list.length} ${kind}`] : [];
  });
  const has = others.length > 0 ? ` (it has ${others.join(' and ')} only)` : '';
  throw new UserError(
    `${objectLabel('VirtualService', vs.metadata)} has no http routes${has}: a rollout shifts ` +
      'the weights of an http route; tcp and tls routes are not supported',
  );
}

/**
 * Finds the http route a rollout shifts. With `route`, the route of that name or position;
 * without, the one route that sends traffic to the stable subset, or to the host without a subset (all its
 * pods). A route that only sends to other subsets (a tester route to `v2`) or has no
 * destinations (redirect, direct response) is not a candidate. Ambiguity is a UserError naming
 * the candidates, as is a route that splits traffic across hosts, and so is a VirtualService
 * whose http routes do not follow Istio's schema (see assertHttpRoutes).
 */
export function findTargetRoute(vs: VirtualService, query: TargetQuery): TargetRoute {
  assertHttpRoutes(vs);
  assertHasHttpRoutes(vs);
  const found = query.route === undefined ? findCandidate(vs, query) : findNamed(vs, query);
  assertSingleHost(vs, found);
  const { stableSubset, canarySubset } = query;
  if (canarySubset !== undefined) {
    splitSources(vs, found.route, found.index, { host: found.host, stableSubset, canarySubset });
  }
  return found;
}

function findNamed(vs: VirtualService, query: TargetQuery): TargetRoute {
  const http = vs.spec.http ?? [];
  const where = objectLabel('VirtualService', vs.metadata);
  const index = pickRoute(vs, query.route ?? '');
  const route = http[index];
  const hosts = stableHosts(route, query);
  if (hosts.length === 0) {
    throw new UserError(
      `Input "route": route ${routeLabel(route, index)} of ${where} sends no traffic to ${stableTarget(query)}; ` +
        `its destinations: ${describeDestinations(route)}. Check inputs "stable-subset" and "host"`,
    );
  }
  return { index, route, host: hosts[0] };
}

function findCandidate(vs: VirtualService, query: TargetQuery): TargetRoute {
  const http = vs.spec.http ?? [];
  const candidates = http.flatMap((route, index) =>
    stableHosts(route, query).length > 0 ? [{ route, index }] : [],
  );
  const where = objectLabel('VirtualService', vs.metadata);
  if (candidates.length === 0) {
    const routes = http.map(
      (route, i) => `${routeLabel(route, i)} -> ${describeDestinations(route)}`,
    );
    throw new UserError(
      `No http route of ${where} sends traffic to ${stableTarget(query)}; its routes: ` +
        `${routes.join('; ')}. Check inputs "stable-subset" and "host", or set input "route"`,
    );
  }
  if (candidates.length > 1) {
    const names = candidates.map(
      ({ route, index }) => `${routeLabel(route, index)} (${describeDestinations(route)})`,
    );
    throw new UserError(
      `${candidates.length} http routes of ${where} send traffic to ${stableTarget(query)}: ` +
        `${names.join(', ')}. Set input "route" to the name of the one to shift` +
        positionHint(candidates.map(({ route, index }) => [route, index])),
    );
  }
  const { route, index } = candidates[0];
  return { index, route, host: stableHosts(route, query)[0] };
}

/** Hosts of the route's destinations that count as "stable": the stable subset, or no subset. */
function stableHosts(route: HTTPRoute, query: TargetQuery): string[] {
  const hosts = (route.route ?? [])
    .map((d) => d.destination)
    .filter((d) => isStable(d, query.stableSubset))
    .filter((d) => query.host === undefined || d.host === query.host)
    .map((d) => d.host);
  return [...new Set(hosts)];
}

/**
 * The rollout rewrites the route's destinations as stable plus canary of one host, so a route
 * that also sends traffic elsewhere (a third service) would lose that traffic. Refuse it rather
 * than guess: the user can give the canary host a route of its own.
 */
function assertSingleHost(vs: VirtualService, target: TargetRoute): void {
  const destinations = target.route.route ?? [];
  if (destinations.some((d) => d.destination.host !== target.host)) {
    throw new UserError(
      `Route ${routeLabel(target.route, target.index)} of ${objectLabel('VirtualService', vs.metadata)} ` +
        `sends traffic to more than one host (${describeList(destinations)}); a canary rollout ` +
        `shifts a route whose destinations all go to one host. Give each host a route of its own`,
    );
  }
}

function isStable(destination: Destination, stableSubset: string): boolean {
  return !destination.subset || destination.subset === stableSubset;
}

function stableTarget(query: TargetQuery): string {
  const host = query.host === undefined ? 'a host' : `host ${JSON.stringify(query.host)}`;
  return `subset ${JSON.stringify(query.stableSubset)} or to ${host} without a subset`;
}

/** `reviews/v1 90%, reviews/v2 10%`, or `no destinations (redirect)`, for error messages. */
export function describeDestinations(route: HTTPRoute): string {
  const destinations = route.route ?? [];
  if (destinations.length === 0) {
    const kind = ['redirect', 'directResponse', 'delegate'].find((k) => k in route);
    return kind ? `no destinations (${kind})` : 'no destinations';
  }
  return describeList(destinations);
}

function describeList(destinations: HTTPRouteDestination[]): string {
  return destinations
    .map(({ destination, weight }) => {
      const name = destination.subset
        ? `${destination.host}/${destination.subset}`
        : destination.host;
      return weight === undefined ? name : `${name} ${weight}%`;
    })
    .join(', ');
}

/** The destinations a stage is built from: the original's stable one, and its canary one if any. */
interface SplitSources {
  stable: HTTPRouteDestination;
  /** The canary destination of a route the user already split by hand; it keeps its own fields. */
  canary?: HTTPRouteDestination;
}

/**
 * The original's destinations that stable and canary are built from: the one with the stable
 * subset or none, and at most one with the canary subset of the same host (a split the user
 * wrote by hand, whose own `port` and `headers` must survive). Anything else would be dropped by
 * the rewrite, so it is refused.
 */
function splitSources(
  vs: VirtualService | undefined,
  original: HTTPRoute,
  index: number | undefined,
  opts: Omit<WeightOptions, 'weight'>,
): SplitSources {
  const where = describeRoute(vs, original, index);
  const destinations = original.route ?? [];
  const bases = destinations.filter(
    (d) => d.destination.host === opts.host && isStable(d.destination, opts.stableSubset),
  );
  const canaries = destinations.filter(
    (d) => d.destination.host === opts.host && d.destination.subset === opts.canarySubset,
  );
  const foreign = destinations.filter((d) => !bases.includes(d) && !canaries.includes(d));
  if (bases.length !== 1 || foreign.length > 0) {
    throw new UserError(
      `${where} must send its traffic to host ${JSON.stringify(opts.host)} through exactly one ` +
        `destination with subset ${JSON.stringify(opts.stableSubset)} or no subset (plus, optionally, ` +
        `subset ${JSON.stringify(opts.canarySubset)}); its destinations: ${describeDestinations(original)}`,
    );
  }
  if (canaries.length > 1) {
    throw new UserError(
      `${where} sends to subset ${JSON.stringify(opts.canarySubset)} through ${canaries.length} ` +
        `destinations (${describeList(canaries)}); a stage gives the canary one weight, so keep one ` +
        `destination per subset`,
    );
  }
  return canaries.length === 1 ? { stable: bases[0], canary: canaries[0] } : { stable: bases[0] };
}

function describeRoute(vs: VirtualService | undefined, route: HTTPRoute, index?: number): string {
  const label =
    index !== undefined ? routeLabel(route, index) : route.name ? JSON.stringify(route.name) : '';
  const name = label ? `Route ${label}` : 'The route under rollout';
  return vs ? `${name} of ${objectLabel('VirtualService', vs.metadata)}` : name;
}

/**
 * The route at one stage: `current` with its destinations replaced by `stableSubset` at 100-w and
 * `canarySubset` at w, built from the original's. The stable one is a copy of the original's
 * stable destination; the canary one is the original's own canary destination when the user had
 * already split the route by hand (its `port`, `headers` and other fields kept), else a copy of
 * the stable one. At 0 or 100 one destination is left and written without a weight. Every other
 * field of `current` (match, retries, timeout, headers, rewrite, fault, mirror, corsPolicy,
 * unknown ones) is kept in place.
 */
export function setCanaryWeight(
  original: HTTPRoute,
  current: HTTPRoute,
  opts: WeightOptions,
): HTTPRoute {
  const sources = splitSources(undefined, original, undefined, opts);
  const canaryBase = sources.canary ?? sources.stable;
  const { stable, canary } = splitWeights(opts.weight);
  let destinations: HTTPRouteDestination[];
  if (canary === 0) {
    destinations = [copyDestination(sources.stable, opts.stableSubset, undefined)];
  } else if (stable === 0) {
    destinations = [copyDestination(canaryBase, opts.canarySubset, undefined)];
  } else {
    destinations = [
      copyDestination(sources.stable, opts.stableSubset, stable),
      copyDestination(canaryBase, opts.canarySubset, canary),
    ];
  }
  const next = structuredClone(current);
  // Assigning an existing key keeps its position, so the route's key order survives too.
  next.route = destinations;
  return next;
}

/**
 * The promoted route: one destination to `canarySubset` without weight, with the fields of the
 * original's canary destination when it had one, else those of its stable destination.
 */
export function promoteRoute(original: HTTPRoute, opts: PromoteOptions): HTTPRoute {
  const { current = original, ...rest } = opts;
  return setCanaryWeight(original, current, { ...rest, weight: 100 });
}

/** A copy of `base` sending to `subset`, keeping its key order; `weight` undefined drops it. */
function copyDestination(
  base: HTTPRouteDestination,
  subset: string,
  weight: number | undefined,
): HTTPRouteDestination {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base)) {
    if (key === 'destination') out[key] = withSubset(base.destination, subset);
    else if (key === 'weight') {
      if (weight !== undefined) out[key] = weight;
    } else out[key] = structuredClone(value);
  }
  if (weight !== undefined) out.weight = weight;
  return out as HTTPRouteDestination;
}

/** A copy of `destination` with `subset`, placed right after `host` when the original had none. */
function withSubset(destination: Destination, subset: string): Destination {
  const out: Record<string, unknown> = {};
  const hadSubset = 'subset' in destination;
  for (const [key, value] of Object.entries(destination)) {
    out[key] = key === 'subset' ? subset : structuredClone(value);
    if (key === 'host' && !hadSubset) out.subset = subset;
  }
  out.subset = subset;
  return out as Destination;
}

/** A copy of `vs` with `spec.http[index]` replaced by (a copy of) `route`. */
export function withRoute(vs: VirtualService, index: number, route: HTTPRoute): VirtualService {
  const http = vs.spec.http ?? [];
  if (!Number.isInteger(index) || index < 0 || index >= http.length) {
    throw new RangeError(
      `${objectLabel('VirtualService', vs.metadata)} has no http[${index}] (it has ${http.length} http routes)`,
    );
  }
  const next = structuredClone(vs);
  // The index check above means the copy has this array; `?? []` only satisfies the type.
  const nextHttp = next.spec.http ?? [];
  nextHttp[index] = structuredClone(route);
  return next;
}
