/**
 * Tester routes (`canary-match`, `canary-match-weight`): named users reach the canary before
 * anyone else, at any stage. The route goes right before the targeted route, copies its fields,
 * and matches the tester conditions AND the targeted route's own match, so it only takes tester
 * requests the targeted route would have taken.
 */
import { UserError } from '../errors.ts';
import { deriveRoute, derivedRouteName } from './added-routes.ts';
import { andMatches, parseMatchList } from './match.ts';
import { routeLabel } from './route.ts';
import { splitRoute } from './split.ts';
import type { CanarySides } from './split.ts';
import type { HTTPMatchRequest, HTTPRoute } from './types.ts';

/** The suffix of a tester route's name: `primary-canary-testers`, `http-2-canary-testers`. */
export const TESTER_SUFFIX = 'canary-testers';

/** What a tester route sends where. */
export interface TesterOptions {
  /** The route's name, see testerRouteName. */
  name: string;
  /** The tester conditions (the `canary-match` input). */
  match: HTTPMatchRequest[];
  /** Canary percent of the tester requests (`canary-match-weight`), an integer 1-100. */
  weight: number;
  sides: CanarySides;
  /** Position of the targeted route among the user's routes, for messages about unnamed ones. */
  targetIndex: number;
}

/**
 * Parses the `canary-match` input: a YAML list of Istio HTTPMatchRequest entries (or one
 * mapping). Empty text means no tester route (undefined).
 */
export function parseCanaryMatch(text: string): HTTPMatchRequest[] | undefined {
  return text.trim() === '' ? undefined : parseMatchList(text, 'canary-match');
}

/** Parses `canary-match-weight`: a whole percent from 1 to 100; empty means 100. */
export function parseCanaryMatchWeight(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '') return 100;
  const value = /^\d{1,3}$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!(value >= 1 && value <= 100)) {
    throw new UserError(
      `Input "canary-match-weight" must be the whole percent of matching requests sent to the ` +
        `canary, from 1 to 100 (e.g. 50 for half of the testers), got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/** The tester route's name for a target at `userIndex` among the user's routes. */
export function testerRouteName(target: HTTPRoute, userIndex: number): string {
  return derivedRouteName(target, userIndex, TESTER_SUFFIX);
}

/**
 * The tester route: `base` (the targeted route's current fields, without a mirror a stage set)
 * with its name and match replaced, sending `weight`% to the canary and the rest to stable, the
 * destinations copied from `original` like any stage. Throws a UserError when the tester match
 * cannot be combined with the targeted route's match.
 */
export function testerRoute(original: HTTPRoute, base: HTTPRoute, opts: TesterOptions): HTTPRoute {
  const what = `input "canary-match" with the match of route ${routeLabel(base, opts.targetIndex)}`;
  const match = andMatches(opts.match, base.match, what);
  return splitRoute(original, deriveRoute(base, opts.name, match), opts.sides, opts.weight);
}
