/**
 * One stage and a promote of a rollout as whole-VirtualService edits, with the traffic shaping
 * of the targeted VirtualService: the weights, a tester route, a mirror, and the state that
 * records all of it. Pure: the caller reads the object, applies this, and writes it
 * conditionally (re-applying to a fresh read on conflict). Caller routes of dependents are
 * edits of other VirtualServices: see pinCallers / unpinCallers in dependents.ts. A rollback is
 * restoreOriginal in state.ts.
 */
import { placeBefore, userView } from './added-routes.ts';
import { findHostTargetRoute } from './host-canary.ts';
import { clearMirror, mirrorFields, setMirror } from './mirror.ts';
import { objectLabel } from './names.ts';
import { findTargetRoute, routeLabel, withRoute } from './route.ts';
import type { TargetRoute } from './route.ts';
import { canaryDestination, promoteSplit, splitRoute } from './split.ts';
import type { CanarySides } from './split.ts';
import type { DependentRef, RolloutState } from './state/format.ts';
import { locateRoute } from './state/locate.ts';
import { readState, savedRoute } from './state/read.ts';
import { clearState, stageState, withShaping, withoutRoutes, writeState } from './state/write.ts';
import { testerRoute, testerRouteName } from './testers.ts';
import type { HTTPMatchRequest, HTTPRoute, VirtualService } from './types.ts';

/** Which route a stage shifts, and between what: the route and subset or host inputs. */
export type StageTarget =
  | {
      kind: 'subsets';
      route?: string;
      /** Destination host; when absent, taken from the route. */
      host?: string;
      stableSubset: string;
      canarySubset: string;
    }
  | { kind: 'hosts'; route?: string; stableHost: string; canaryHost: string };

/** Everything one stage writes into the targeted VirtualService. */
export interface StageEdit {
  target: StageTarget;
  /** Canary percent of the targeted route, an integer 0-100. */
  weight: number;
  /** Tester route (`canary-match`, `canary-match-weight`); absent removes an earlier one. */
  testers?: { match: HTTPMatchRequest[]; weight: number };
  /** Percent of requests mirrored to the canary (`mirror-percent`); absent removes a mirror. */
  mirrorPercent?: number;
  /**
   * VirtualServices carrying caller routes of this rollout, recorded so a rollback finds them;
   * absent keeps what the state records.
   */
  dependents?: DependentRef[];
  /** Id of the run writing the stage. */
  owner: string;
  /** Milliseconds since the epoch. */
  now: number;
}

/** A VirtualService after a stage, with the state written into it. */
export interface StageResult {
  vs: VirtualService;
  state: RolloutState;
  /** Index of the targeted route in `vs.spec.http`. */
  targetIndex: number;
  sides: CanarySides;
}

/**
 * Applies one stage: the targeted route split at `weight` (and mirroring, when asked), the
 * tester route right before it (replacing the one an earlier stage inserted), and the state.
 * The first stage finds the route among the user's routes and saves it; later stages locate it
 * from the state and always build from the saved original, so they can be re-run any number of
 * times with the same result.
 */
export function applyStage(vs: VirtualService, edit: StageEdit): StageResult {
  const existing = readState(vs);
  const own = existing?.addedRoutes ?? [];
  const found = existing ? locateExisting(vs, existing) : findUserTarget(vs, edit.target);
  const sides = sidesFor(edit.target, existing?.host ?? found.host, vs);
  const original = existing ? savedRoute(existing) : found.route;
  // First, so that a stage of another rollout is refused before anything is built.
  const state0 = stageState(vs, existing, {
    route: found.route,
    routeIndex: found.index,
    host: sides.kind === 'subsets' ? sides.host : sides.stableHost,
    stableSubset: sides.kind === 'subsets' ? sides.stableSubset : '',
    canarySubset: sides.kind === 'subsets' ? sides.canarySubset : '',
    weight: edit.weight,
    owner: edit.owner,
    now: edit.now,
    ...(sides.kind === 'hosts' ? { canaryHost: sides.canaryHost } : {}),
  });
  const where = `Route ${routeLabel(original, found.index)} of ${objectLabel('VirtualService', vs.metadata)}`;
  const base = clearMirror(found.route, existing?.mirror);
  let route = splitRoute(original, base, sides, edit.weight);
  const mirror =
    edit.mirrorPercent === undefined
      ? undefined
      : mirrorFields(canaryDestination(original, sides), edit.mirrorPercent);
  if (mirror) route = setMirror(original, route, mirror, where);
  let next: VirtualService = withoutRoutes(withRoute(vs, found.index, route), own);
  let targetIndex = found.index - countBefore(vs, found.index, own);
  const added: string[] = [];
  if (edit.testers) {
    const name = testerRouteName(original, state0.routeIndex);
    const tester = testerRoute(original, base, {
      name,
      match: edit.testers.match,
      weight: edit.testers.weight,
      sides,
      targetIndex: state0.routeIndex,
    });
    ({ vs: next, targetIndex } = placeBefore(next, targetIndex, tester, []));
    added.push(name);
  }
  const state = withShaping(state0, {
    addedRoutes: added,
    testers: edit.testers && { match: edit.testers.match, weight: edit.testers.weight },
    mirror,
    dependents: edit.dependents ?? existing?.dependents,
  });
  return { vs: writeState(next, state), state, targetIndex, sides };
}

/** What a promote leaves: the VirtualService, and the dependents whose caller routes must go. */
export interface PromoteResult {
  vs: VirtualService;
  dependents: DependentRef[];
}

/**
 * Promotes a rollout in progress: the targeted route sends everything to the canary (one
 * destination, the original destination's fields, no mirror of ours, the user's edits to its
 * other fields kept), the inserted routes go, and so does the state. Undefined when `vs`
 * carries no rollout.
 */
export function promoteStage(vs: VirtualService): PromoteResult | undefined {
  const state = readState(vs);
  if (state === undefined) return undefined;
  const { index, route } = locateRoute(vs, state);
  const original = savedRoute(state);
  const sides = sidesOfState(state, vs);
  const promoted = promoteSplit(original, clearMirror(route, state.mirror), sides);
  const next = withoutRoutes(withRoute(vs, index, promoted), state.addedRoutes ?? []);
  return { vs: clearState(next), dependents: state.dependents ?? [] };
}

/** The two sides of the rollout a state records. */
export function sidesOfState(state: RolloutState, vs: VirtualService): CanarySides {
  if (state.canaryHost !== undefined) {
    return {
      kind: 'hosts',
      stableHost: state.host,
      canaryHost: state.canaryHost,
      namespace: vs.metadata.namespace,
    };
  }
  return {
    kind: 'subsets',
    host: state.host,
    stableSubset: state.stableSubset,
    canarySubset: state.canarySubset,
  };
}

function sidesFor(target: StageTarget, host: string, vs: VirtualService): CanarySides {
  if (target.kind === 'hosts') {
    return {
      kind: 'hosts',
      stableHost: host,
      canaryHost: target.canaryHost,
      namespace: vs.metadata.namespace,
    };
  }
  return {
    kind: 'subsets',
    host,
    stableSubset: target.stableSubset,
    canarySubset: target.canarySubset,
  };
}

function locateExisting(vs: VirtualService, state: RolloutState): TargetRoute {
  return { ...locateRoute(vs, state), host: state.host };
}

/** The targeted route among the user's routes (not among caller routes of other rollouts). */
function findUserTarget(vs: VirtualService, target: StageTarget): TargetRoute {
  const { view, toReal } = userView(vs, []);
  const found =
    target.kind === 'hosts'
      ? findHostTargetRoute(view, target)
      : findTargetRoute(view, {
          route: target.route,
          host: target.host,
          stableSubset: target.stableSubset,
          canarySubset: target.canarySubset,
        });
  return { ...found, index: toReal(found.index) };
}

function countBefore(vs: VirtualService, index: number, names: readonly string[]): number {
  return (vs.spec.http ?? [])
    .slice(0, index)
    .filter((r: HTTPRoute) => r.name !== undefined && names.includes(r.name)).length;
}
