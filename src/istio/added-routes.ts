/**
 * Routes the tool inserts in front of a targeted route (tester routes, caller routes): how they
 * are named, built from the targeted route, and placed. They are found again by the names the
 * state records, never by guessing, and the user's routes keep their order around them.
 */
import { UserError } from '../errors.ts';
import { objectLabel } from './names.ts';
import { toolRouteIndexes } from './state/locate.ts';
import { readCallerRoutes } from './state/read.ts';
import { withoutRoutes } from './state/write.ts';
import type { HTTPMatchRequest, HTTPRoute, VirtualService } from './types.ts';

/**
 * `<name>-<suffix>` for a named target, `http-<index>-<suffix>` for an unnamed one, where
 * `index` is the target's position among the user's routes (the saved `routeIndex`).
 */
export function derivedRouteName(target: HTTPRoute, userIndex: number, suffix: string): string {
  return target.name ? `${target.name}-${suffix}` : `http-${userIndex}-${suffix}`;
}

/**
 * A copy of `base` (the targeted route as the user wrote it) with `name` and `match` replaced
 * and every other field (retries, timeout, headers, rewrite, fault, unknown ones) kept in its
 * order; `match` undefined drops it. Its destinations are still the base's: the caller splits
 * them. A base without a name gets the name first, one without a match gets it after the name.
 */
export function deriveRoute(
  base: HTTPRoute,
  name: string,
  match: HTTPMatchRequest[] | undefined,
): HTTPRoute {
  const out: Record<string, unknown> = { name };
  if (match !== undefined) out.match = structuredClone(match);
  for (const [key, value] of Object.entries(base)) {
    if (key !== 'name' && key !== 'match') out[key] = structuredClone(value);
  }
  return out;
}

/** A VirtualService after placeBefore, with the targeted route's index in it. */
export interface Placed {
  vs: VirtualService;
  targetIndex: number;
}

/**
 * A copy of `vs` with the routes named in `previous` (what an earlier stage inserted, from the
 * state) removed and `route` inserted right before the targeted route `spec.http[targetIndex]`.
 * A route named like `route` that is not in `previous` belongs to someone else: a UserError.
 */
export function placeBefore(
  vs: VirtualService,
  targetIndex: number,
  route: HTTPRoute,
  previous: readonly string[],
): Placed {
  const http = vs.spec.http ?? [];
  if (!Number.isInteger(targetIndex) || targetIndex < 0 || targetIndex >= http.length) {
    throw new RangeError(
      `${objectLabel('VirtualService', vs.metadata)} has no http[${targetIndex}]`,
    );
  }
  const removedBefore = http
    .slice(0, targetIndex)
    .filter((r) => r.name !== undefined && previous.includes(r.name)).length;
  const next = withoutRoutes(vs, previous);
  const nextHttp = next.spec.http ?? [];
  assertFreeName(next, route.name ?? '');
  const index = targetIndex - removedBefore;
  nextHttp.splice(index, 0, structuredClone(route));
  return { vs: next, targetIndex: index + 1 };
}

/** Refuses a name that another route of `vs` already has, naming its owner when one is recorded. */
function assertFreeName(vs: VirtualService, name: string): void {
  if (!(vs.spec.http ?? []).some((r) => r.name === name)) return;
  const owners = Object.entries(readCallerRoutes(vs))
    .filter(([, names]) => names.includes(name))
    .map(([owner]) => owner);
  const whose =
    owners.length > 0
      ? `it was inserted by the rollout of VirtualService "${owners[0]}"; finish that rollout first`
      : 'rename that route, or remove it if it is left over from an earlier rollout';
  throw new UserError(
    `${objectLabel('VirtualService', vs.metadata)} already has an http route named ` +
      `${JSON.stringify(name)}, the name the canary route would take: ${whose}`,
  );
}

/**
 * `vs` as the user wrote it, for finding the targeted route: without the routes the tool
 * inserted (`own`, from this VirtualService's state, and other rollouts' caller routes).
 * `toReal` maps an index in the view back to `spec.http` of `vs`.
 */
export function userView(
  vs: VirtualService,
  own: readonly string[],
): { view: VirtualService; toReal: (index: number) => number } {
  const tool = toolRouteIndexes(vs, own);
  const real = (vs.spec.http ?? []).flatMap((_, i) => (tool.has(i) ? [] : [i]));
  const view = structuredClone(vs);
  const http = view.spec.http;
  if (http !== undefined) view.spec.http = real.map((i) => http[i]);
  return { view, toReal: (index) => real[index] };
}
