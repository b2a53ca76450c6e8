/**
 * Where the rollout's routes are in the current object: the targeted route (by the name or the
 * user-route index the state saved) and the routes the tool inserted, which do not count among
 * the user's routes.
 */
import { isDeepStrictEqual } from 'node:util';
import { UserError } from '../../errors.ts';
import { objectLabel } from '../names.ts';
import { routeLabel } from '../route.ts';
import type { HTTPRoute, VirtualService } from '../types.ts';
import { ANNOTATIONS, CALLER_SUFFIX, STATE_PREFIX, type RestorePoint } from './format.ts';
import { readCallerRoutes, savedRoute } from './read.ts';

/**
 * Finds the route under rollout in the current object: by name when it has one (the user may
 * have added routes before it since), else at the saved index. An unnamed route is only taken
 * when it still has the original's `match` and sends only to the host, so that a route someone
 * inserted in front of it is never mistaken for it. A route not found is a UserError.
 */
export function locateRoute(
  vs: VirtualService,
  point: RestorePoint,
): { index: number; route: HTTPRoute } {
  const found = findRoute(vs, point);
  if ('problem' in found) {
    throw new UserError(
      `${found.problem}. The saved original is in annotation "${ANNOTATIONS.originalRoute}": ` +
        `put it back by hand and remove the annotations prefixed ${STATE_PREFIX}`,
    );
  }
  return found;
}

/** locateRoute, with a route not found as a sentence saying why instead of an error. */
export function findRoute(
  vs: VirtualService,
  point: RestorePoint,
): { index: number; route: HTTPRoute } | { problem: string } {
  const http = vs.spec.http ?? [];
  const where = objectLabel('VirtualService', vs.metadata);
  const tool = toolRouteIndexes(vs, point.addedRoutes ?? []);
  if (point.routeName !== undefined) {
    const index = http.findIndex((route, i) => route.name === point.routeName && !tool.has(i));
    if (index < 0) {
      return {
        problem: `The http route ${JSON.stringify(point.routeName)} under rollout is no longer in ${where}`,
      };
    }
    return { index, route: http[index] };
  }
  // The saved index counts the user's routes only; map it back past the inserted ones.
  const user = http.flatMap((_, i) => (tool.has(i) ? [] : [i]));
  if (point.routeIndex >= user.length) {
    return {
      problem: `The route under rollout was http[${point.routeIndex}] of ${where}, which now has ${user.length} http routes`,
    };
  }
  const index = user[point.routeIndex];
  const route = http[index];
  const hosts = [point.host, ...(point.canaryHost === undefined ? [] : [point.canaryHost])];
  if (!looksLikeTarget(route, savedRoute(point), hosts)) {
    return {
      problem:
        `Route ${routeLabel(route, index)} of ${where} is no longer the route under rollout (its match ` +
        `or destinations changed since the rollout started)`,
    };
  }
  return { index, route };
}

function looksLikeTarget(route: HTTPRoute, original: HTTPRoute, hosts: string[]): boolean {
  const destinations = route.route ?? [];
  return (
    isDeepStrictEqual(route.match, original.match) &&
    destinations.length > 0 &&
    destinations.every((d) => hosts.includes(d.destination.host))
  );
}

/**
 * Indexes in `spec.http` of the routes the tool inserted: `own` (this VirtualService's rollout,
 * by name) and the caller routes other rollouts recorded on it.
 */
export function toolRouteIndexes(vs: VirtualService, own: readonly string[]): Set<number> {
  const names = new Set([...own, ...callerRouteNames(vs)]);
  const indexes = new Set<number>();
  (vs.spec.http ?? []).forEach((route, i) => {
    if (route.name !== undefined && names.has(route.name)) indexes.add(i);
  });
  return indexes;
}

/**
 * The position of `spec.http[index]` among the user's routes (the routes the tool did not
 * insert, see toolRouteIndexes). The saved `routeIndex` is such a position.
 */
export function userRouteIndex(vs: VirtualService, index: number, own: readonly string[]): number {
  const tool = toolRouteIndexes(vs, own);
  let before = 0;
  for (const i of tool) if (i < index) before++;
  return index - before;
}

/**
 * Every caller route name recorded on `vs` that is named as caller routes are. A damaged record
 * counts as none here: a rollback of this VirtualService's own rollout must not be blocked by
 * another rollout's annotation, and locateRoute still checks that the route it finds looks like
 * the original. The record comes from the cluster, so a name without the caller suffix does not
 * count either: a planted record must not hide a user's route from the search for the target.
 */
function callerRouteNames(vs: VirtualService): string[] {
  try {
    const names = Object.values(readCallerRoutes(vs)).flat();
    return names.filter((name) => name.endsWith(`-${CALLER_SUFFIX}`));
  } catch {
    return [];
  }
}
