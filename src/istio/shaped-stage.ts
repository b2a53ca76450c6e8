/**
 * One stage and a promote of a rollout as whole-VirtualService edits, with the traffic shaping
 * of the targeted VirtualService: the weights, a tester route, a mirror, and the state that
 * records all of it. Pure: the caller reads the object, applies this, and writes it
 * conditionally (re-applying to a fresh read on conflict). Caller routes of dependents are
 * edits of other VirtualServices: see pinCallers / unpinCallers in dependents.ts. Whatever is
 * built from a saved state is built only once the state explains the object (state/verify.ts).
 */
import { placeBefore, userView } from './added-routes.ts';
import { findHostTargetRoute } from './host-canary.ts';
import { assertNoMirrorToCanary, clearMirror, mirrorFields, setMirror } from './mirror.ts';
import { objectLabel } from './names.ts';
import { findTargetRoute, routeLabel, withRoute } from './route.ts';
import type { TargetRoute } from './route.ts';
import { canaryDestination, promoteSplit, splitRoute } from './split.ts';
import type { CanarySides } from './split.ts';
import type { DependentRef, RolloutState } from './state/format.ts';
import { readRestorePoint, readState, savedRoute, sidesOf } from './state/read.ts';
import { checkState, type StateInputs } from './state/verify.ts';
import {
  clearState,
  restoreOriginal,
  stageState,
  withShaping,
  withoutRoutes,
  writeState,
  type StageInput,
} from './state/write.ts';
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
 * times with the same result. A later stage first checks that the state explains `vs` as a
 * restore needs it to (the stage leaves the rollout restorable), and throws a
 * StateMismatchError, building nothing, when it does not.
 */
export function applyStage(vs: VirtualService, edit: StageEdit): StageResult {
  const existing = readState(vs);
  const own = existing?.addedRoutes ?? [];
  const found = existing ? continued(vs, existing, edit) : findUserTarget(vs, edit.target);
  const sides = sidesFor(edit.target, existing?.host ?? found.host, vs);
  const original = existing ? savedRoute(existing) : found.route;
  const state0 = stageState(vs, existing, stageInput(found, sides, edit));
  const where = `Route ${routeLabel(original, found.index)} of ${objectLabel('VirtualService', vs.metadata)}`;
  const base = clearMirror(found.route, existing?.mirror);
  assertNoMirrorToCanary(base, sides, where);
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

/**
 * The targeted route of a rollout in progress. A stage of another rollout is refused first,
 * with its own message (stageState); then the state must explain `vs`.
 */
function continued(vs: VirtualService, existing: RolloutState, edit: StageEdit): TargetRoute {
  const sides = sidesFor(edit.target, existing.host, vs);
  stageState(vs, existing, stageInput({ index: 0, route: {} }, sides, edit));
  const checked = checkState(vs, 'restore', stageInputs(edit));
  if (checked === undefined) throw new Error('a rollout in progress has a state');
  return { index: checked.index, route: checked.route, host: existing.host };
}

function stageInput(
  found: { index: number; route: HTTPRoute },
  sides: CanarySides,
  edit: StageEdit,
): StageInput {
  return {
    route: found.route,
    routeIndex: found.index,
    host: sides.kind === 'subsets' ? sides.host : sides.stableHost,
    stableSubset: sides.kind === 'subsets' ? sides.stableSubset : '',
    canarySubset: sides.kind === 'subsets' ? sides.canarySubset : '',
    weight: edit.weight,
    owner: edit.owner,
    now: edit.now,
    ...(sides.kind === 'hosts' ? { canaryHost: sides.canaryHost } : {}),
  };
}

/** What the inputs of a stage say about the rollout, for the check of its state. */
function stageInputs(edit: StageEdit): StateInputs {
  const { target } = edit;
  const inputs: StateInputs =
    target.kind === 'subsets'
      ? {
          route: target.route,
          host: target.host,
          stableSubset: target.stableSubset,
          canarySubset: target.canarySubset,
        }
      : { route: target.route, stableHost: target.stableHost, canaryHost: target.canaryHost };
  if (edit.testers) inputs.testers = { match: edit.testers.match, weight: edit.testers.weight };
  if (edit.dependents) inputs.dependents = edit.dependents;
  return inputs;
}

/**
 * What a promote or a rollback leaves: the VirtualService, and the dependents whose caller
 * routes must go.
 */
export interface PromoteResult {
  vs: VirtualService;
  dependents: DependentRef[];
}

/**
 * Promotes a rollout in progress: the targeted route sends everything to the canary (one
 * destination, the original destination's fields, no mirror of ours, the user's edits to its
 * other fields kept), the inserted routes go, and so does the state. Undefined when `vs`
 * carries no rollout; a StateMismatchError when its state does not explain it or disagrees
 * with `inputs`.
 */
export function promoteStage(
  vs: VirtualService,
  inputs: StateInputs = {},
): PromoteResult | undefined {
  const state = readState(vs);
  if (state === undefined) return undefined;
  const { index, route, original } = checkState(vs, 'promote', inputs)!;
  const sides = sidesOf(state, vs.metadata.namespace);
  const base = clearMirror(route, state.mirror);
  const where = `Route ${routeLabel(route, index)} of ${objectLabel('VirtualService', vs.metadata)}`;
  assertNoMirrorToCanary(base, sides, where);
  const promoted = promoteSplit(original, base, sides);
  const next = withoutRoutes(withRoute(vs, index, promoted), state.addedRoutes ?? []);
  return { vs: clearState(next), dependents: state.dependents ?? [] };
}

/**
 * Rolls back a rollout in progress: restoreOriginal, once the state explains `vs` and agrees
 * with `inputs` (a StateMismatchError otherwise). Undefined when `vs` carries no rollout. With
 * `trusted` (the state is the one this job wrote itself), the check is skipped, so that a job
 * restores its own stage even over an edit someone made to the route meanwhile.
 */
export function rollbackStage(
  vs: VirtualService,
  inputs: StateInputs = {},
  trusted = false,
): PromoteResult | undefined {
  const point = trusted ? readRestorePoint(vs) : checkState(vs, 'restore', inputs)?.record.point;
  if (point === undefined) return undefined;
  return { vs: restoreOriginal(vs, point), dependents: point.dependents ?? [] };
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
    namespace: vs.metadata.namespace,
  };
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
