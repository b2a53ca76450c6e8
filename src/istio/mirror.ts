/**
 * Mirroring (`mirror-percent`): the targeted route copies a share of its requests to the canary
 * and discards the canary's answers, so a canary can be watched at weight 0. Istio's fields are
 * `mirror` (a Destination) and `mirrorPercentage: { value }` (a percent, a double). The user's
 * own mirror is never overwritten: a route that has one is refused. A user's mirror that reaches
 * the canary is refused for any rollout (see assertNoMirrorToCanary).
 */
import { isDeepStrictEqual } from 'node:util';
import { UserError } from '../errors.ts';
import { reachesCanary } from './split.ts';
import type { CanarySides } from './split.ts';
import type { Destination, HTTPRoute } from './types.ts';

/** What a mirroring stage sets on the targeted route, and what the state records of it. */
export interface MirrorFields {
  mirror: Destination;
  mirrorPercentage: { value: number };
}

/**
 * Every field through which Istio mirrors: `mirror` with `mirrorPercentage` (or the deprecated
 * `mirrorPercent` / `mirror_percent`), and the newer list `mirrors`.
 */
const MIRROR_KEYS = ['mirror', 'mirrors', 'mirrorPercentage', 'mirrorPercent', 'mirror_percent'];

const PERCENT = /^\d{1,3}(\.\d{1,4})?$/;

/**
 * Parses the `mirror-percent` input: a percent from 0 to 100, decimals allowed (Istio's
 * `mirrorPercentage` is a double). Empty text means no mirroring (undefined); so does 0.
 */
export function parseMirrorPercent(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const value = PERCENT.test(trimmed) ? Number(trimmed) : NaN;
  if (!(value >= 0 && value <= 100)) {
    throw new UserError(
      `Input "mirror-percent" must be a percent of requests to copy to the canary, from 0 to ` +
        `100 (e.g. 10 or 0.5), got ${JSON.stringify(text)}`,
    );
  }
  return value === 0 ? undefined : value;
}

/** The mirror fields of a route, by name: non-empty when the route mirrors somewhere. */
export function mirrorKeysOf(route: HTTPRoute): string[] {
  return MIRROR_KEYS.filter((key) => key in route);
}

/**
 * Throws a UserError when the user's route (`original`, as saved before the rollout) mirrors
 * already: setting ours would overwrite theirs. `where` names the route in the message.
 */
export function assertNoUserMirror(original: HTTPRoute, where: string): void {
  const keys = mirrorKeysOf(original);
  if (keys.length === 0) return;
  const theirs = keys.map((key) => `${key}: ${JSON.stringify(original[key])}`).join(', ');
  throw new UserError(
    `Input "mirror-percent": ${where} already mirrors its traffic (${theirs}); mirroring to the ` +
      `canary would overwrite it. Remove the route's mirror, or leave "mirror-percent" empty`,
  );
}

/**
 * Throws a UserError when the user's route mirrors to the canary (`mirror`, or an entry of
 * `mirrors`): the canary would then serve the mirrored copy of every request it is also routed,
 * so it would do twice the work its weight says and the traffic check would see a share that no
 * weight explains. `route` is the route without a mirror a stage set; `where` names it.
 */
export function assertNoMirrorToCanary(route: HTTPRoute, sides: CanarySides, where: string): void {
  const hit = mirrorDestinations(route).find((d) => reachesCanary(d, sides));
  if (hit === undefined) return;
  const canary =
    sides.kind === 'subsets'
      ? `subset ${JSON.stringify(sides.canarySubset)} of host ${JSON.stringify(sides.host)}`
      : `host ${JSON.stringify(sides.canaryHost)}`;
  throw new UserError(
    `${where} mirrors its requests to the canary (${JSON.stringify(hit)} reaches ${canary}): ` +
      `during a rollout the canary would serve each request it is routed twice, once routed and ` +
      `once mirrored, and its share of traffic would not follow its weight. Remove that mirror or ` +
      `point it elsewhere first; to watch the canary on copies of traffic, use input ` +
      `"mirror-percent" instead`,
  );
}

/** Where `route` mirrors to: `mirror`, and the destination of each entry of `mirrors`. */
export function mirrorDestinations(route: HTTPRoute): Destination[] {
  const mirrors: unknown[] = [route.mirror];
  if (Array.isArray(route.mirrors)) {
    for (const entry of route.mirrors as unknown[]) mirrors.push(fieldOf(entry, 'destination'));
  }
  return mirrors.filter(isDestination);
}

function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function isDestination(value: unknown): value is Destination {
  return typeof fieldOf(value, 'host') === 'string';
}

/** The fields that mirror `percent` (above 0, at most 100) of the requests to `destination`. */
export function mirrorFields(destination: Destination, percent: number): MirrorFields {
  if (!(percent > 0 && percent <= 100)) {
    throw new RangeError(`mirror percent must be above 0 and at most 100, got ${percent}`);
  }
  return { mirror: structuredClone(destination), mirrorPercentage: { value: percent } };
}

/**
 * `current` mirroring as `fields` says, its weights untouched. A mirror a previous stage set is
 * replaced in place; a mirror of the user's (on `original`) is refused, see assertNoUserMirror.
 */
export function setMirror(
  original: HTTPRoute,
  current: HTTPRoute,
  fields: MirrorFields,
  where: string,
): HTTPRoute {
  assertNoUserMirror(original, where);
  const next = structuredClone(current);
  next.mirror = structuredClone(fields.mirror);
  next.mirrorPercentage = structuredClone(fields.mirrorPercentage);
  return next;
}

/**
 * `current` without the mirror a stage set (`recorded`, from the state); a copy of `current`
 * when none was recorded. A mirror someone pointed elsewhere since is theirs and stays.
 */
export function clearMirror(current: HTTPRoute, recorded: MirrorFields | undefined): HTTPRoute {
  const next = structuredClone(current);
  if (recorded !== undefined && isDeepStrictEqual(next.mirror, recorded.mirror)) {
    delete next.mirror;
    delete next.mirrorPercentage;
  }
  return next;
}
