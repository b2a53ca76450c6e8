/**
 * The shape of a VirtualService's http routes, checked before a rollout reads them. Objects come
 * from the cluster, where a missing validation webhook (or an old CRD schema) lets through what
 * Istio's schema forbids: a destination without `host`, a weight that is not a number. Read as
 * is, such a route would crash the edit or be saved into a state no rollback can read; it is
 * refused up front, naming the route and the field.
 */
import { UserError } from '../errors.ts';
import { objectLabel } from './names.ts';
import type { VirtualService } from './types.ts';

/**
 * Throws a UserError naming the first http route of `vs` (and the field in it) that does not
 * have the shape Istio's schema requires of the fields a rollout reads: `name` a string,
 * `match` a list of mappings, `route` a list of `{destination: {host, subset?, port?}, weight?}`
 * with a non-empty host and a whole, non-negative weight.
 */
export function assertHttpRoutes(vs: VirtualService): void {
  const where = objectLabel('VirtualService', vs.metadata);
  const http: unknown = vs.spec.http;
  if (http === undefined) return;
  if (!Array.isArray(http)) {
    throw new UserError(`${where} does not follow Istio's schema: spec.http is not a list. ${FIX}`);
  }
  http.forEach((route: unknown, index) => {
    const problem = routeProblem(route);
    if (problem === undefined) return;
    const name = isRecord(route) && typeof route.name === 'string' ? route.name : undefined;
    const label = name !== undefined ? JSON.stringify(name) : `http[${index}]`;
    throw new UserError(
      `Route ${label} of ${where} does not follow Istio's schema: ${problem}. ${FIX}`,
    );
  });
}

const FIX =
  "Fix the VirtualService (Istio's validation webhook refuses such an object), then run again";

function routeProblem(route: unknown): string | undefined {
  if (!isRecord(route)) return `it is ${kindOf(route)}, not a mapping`;
  if ('name' in route && typeof route.name !== 'string') return 'name is not a string';
  if ('match' in route) {
    const match = route.match;
    if (!Array.isArray(match)) return 'match is not a list';
    const bad = match.findIndex((entry) => !isRecord(entry));
    if (bad >= 0) return `match[${bad}] is not a mapping`;
  }
  if (!('route' in route)) return undefined;
  const destinations = route.route;
  if (!Array.isArray(destinations)) return 'route is not a list of destinations';
  for (const [i, entry] of destinations.entries()) {
    const problem = destinationProblem(entry);
    if (problem !== undefined) return `route[${i}]${problem}`;
  }
  return undefined;
}

/** What is wrong with one HTTPRouteDestination, as a path suffix and a reason. */
function destinationProblem(entry: unknown): string | undefined {
  if (!isRecord(entry)) return ` is ${kindOf(entry)}, not a mapping`;
  if ('weight' in entry) {
    const weight = entry.weight;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0) {
      return `.weight must be a whole number of 0 or more, got ${JSON.stringify(weight)}`;
    }
  }
  const destination = entry.destination;
  if (!isRecord(destination)) {
    return destination === undefined
      ? ' has no destination; Istio requires one'
      : `.destination is ${kindOf(destination)}, not a mapping`;
  }
  if (typeof destination.host !== 'string' || destination.host === '') {
    return destination.host === undefined
      ? '.destination has no host; Istio requires one'
      : `.destination.host must be a non-empty string, got ${JSON.stringify(destination.host)}`;
  }
  if ('subset' in destination && typeof destination.subset !== 'string') {
    return `.destination.subset must be a string, got ${JSON.stringify(destination.subset)}`;
  }
  if ('port' in destination && !isRecord(destination.port)) {
    return `.destination.port must be a mapping such as {number: 8080}, got ${JSON.stringify(destination.port)}`;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}
