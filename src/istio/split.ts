/**
 * The two sides of a canary, whichever way a team runs them: two subsets of one host (route.ts)
 * or two hosts (host-canary.ts). Tester routes, mirroring and the stage edit use this one shape,
 * so they work the same for both.
 */
import { promoteHostRoute, sameHost, setHostWeight } from './host-canary.ts';
import { promoteRoute, setCanaryWeight } from './route.ts';
import type { Destination, HTTPRoute } from './types.ts';

/** Stable and canary as two subsets of one host: the `stable-subset` and `canary-subset` inputs. */
export interface SubsetSides {
  kind: 'subsets';
  /** The destination host, as the route writes it. */
  host: string;
  stableSubset: string;
  canarySubset: string;
  /** Namespace of the VirtualService, to resolve short host names; `default` when absent. */
  namespace?: string;
}

/** Stable and canary as two hosts: the `stable-host` and `canary-host` inputs. */
export interface HostSides {
  kind: 'hosts';
  /** The stable host, as the route writes it. */
  stableHost: string;
  canaryHost: string;
  /** Namespace of the VirtualService, to resolve short host names. */
  namespace?: string;
}

export type CanarySides = SubsetSides | HostSides;

/**
 * `current` with its destinations split between stable (100-w) and canary (w), copied from the
 * original's stable destination; every other field of `current` is kept. See setCanaryWeight
 * and setHostWeight.
 */
export function splitRoute(
  original: HTTPRoute,
  current: HTTPRoute,
  sides: CanarySides,
  weight: number,
): HTTPRoute {
  if (sides.kind === 'subsets') return setCanaryWeight(original, current, { ...sides, weight });
  return setHostWeight(original, current, { ...sides, weight });
}

/** `current` sending everything to the canary, as one destination without weight. */
export function promoteSplit(
  original: HTTPRoute,
  current: HTTPRoute,
  sides: CanarySides,
): HTTPRoute {
  if (sides.kind === 'subsets') return promoteRoute(original, { ...sides, current });
  return promoteHostRoute(original, current, sides);
}

/**
 * The canary as a bare Destination (host, subset for subsets, the original's `port`), for a
 * `mirror`. Other destination fields (weight, headers) do not belong in a mirror.
 */
export function canaryDestination(original: HTTPRoute, sides: CanarySides): Destination {
  const promoted = promoteSplit(original, original, sides);
  const destination = promoted.route?.[0]?.destination;
  if (destination === undefined) throw new Error('a promoted route always has one destination');
  const out: Destination = { host: destination.host };
  if (sides.kind === 'subsets') out.subset = sides.canarySubset;
  if (destination.port !== undefined) out.port = structuredClone(destination.port);
  return out;
}

/** True when `destination` names the canary: its subset of the host, or the canary host. */
export function isCanaryDestination(destination: Destination, sides: CanarySides): boolean {
  return sides.kind === 'subsets'
    ? sameHost(destination.host, sides.host, sides.namespace) &&
        destination.subset === sides.canarySubset
    : sameHost(destination.host, sides.canaryHost, sides.namespace);
}

/**
 * True when requests sent to `destination` can reach the canary's pods: the canary itself, or
 * (for subsets) the host without a subset, whose pods include the canary's.
 */
export function reachesCanary(destination: Destination, sides: CanarySides): boolean {
  if (isCanaryDestination(destination, sides)) return true;
  return (
    sides.kind === 'subsets' &&
    !destination.subset &&
    sameHost(destination.host, sides.host, sides.namespace)
  );
}

/** The canary's percent of `route` (0 when it has no canary destination). */
export function canaryPercentOf(route: HTTPRoute, sides: CanarySides): number {
  const destinations = route.route ?? [];
  const canary = destinations.filter((d) => isCanaryDestination(d.destination, sides));
  if (canary.length === 0) return 0;
  if (destinations.length === 1) return 100;
  return canary.reduce((sum, d) => sum + (d.weight ?? 0), 0);
}
