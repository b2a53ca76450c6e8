/**
 * Writing the rollout state: the state of a stage, its annotations on a copy of the object, and
 * the edits that remove it again (clearState, restoreOriginal). Pure: the caller writes the
 * result conditionally.
 */
import { UserError } from '../../errors.ts';
import type { MirrorFields } from '../mirror.ts';
import { objectLabel } from '../names.ts';
import { withRoute } from '../route.ts';
import type { HTTPRoute, VirtualService } from '../types.ts';
import {
  ANNOTATIONS,
  CALLER_ROUTES_ANNOTATION,
  STATE_VERSION,
  isOwnStateKey,
  type Annotations,
  type DependentRef,
  type RestorePoint,
  type RolloutState,
  type StateField,
  type TesterRecord,
} from './format.ts';
import { locateRoute, userRouteIndex } from './locate.ts';
import { readCallerRoutes, savedRoute } from './read.ts';

/** One stage about to be written: what `stageState` needs besides the existing state. */
export interface StageInput {
  /** The targeted route as read from the server; saved only when no rollout is in progress. */
  route: HTTPRoute;
  routeIndex: number;
  host: string;
  stableSubset: string;
  canarySubset: string;
  weight: number;
  owner: string;
  /** Milliseconds since the epoch (`Clock.now()`). */
  now: number;
  /** The canary host of a host canary (then both subsets are empty strings). */
  canaryHost?: string;
}

/**
 * The state to write for a stage. The first stage saves the route as the original; later
 * stages and re-runs keep the saved original, its position and start time, and only move the
 * weight, owner and update time. A stage for other subsets or another host while a rollout is in
 * progress is a UserError: one rollout at a time per VirtualService.
 */
export function stageState(
  vs: VirtualService,
  existing: RolloutState | undefined,
  stage: StageInput,
): RolloutState {
  const time = new Date(stage.now).toISOString();
  if (existing === undefined) {
    const state: RolloutState = {
      originalRoute: JSON.stringify(stage.route),
      // Counted among the user's routes, so routes the tool inserts or removes never shift it.
      routeIndex: userRouteIndex(vs, stage.routeIndex, []),
      host: stage.host,
      stableSubset: stage.stableSubset,
      canarySubset: stage.canarySubset,
      weight: stage.weight,
      owner: stage.owner,
      startedAt: time,
      updatedAt: time,
    };
    if (stage.route.name) state.routeName = stage.route.name;
    if (stage.canaryHost !== undefined) state.canaryHost = stage.canaryHost;
    return state;
  }
  assertSameRollout(vs, existing, stage);
  return { ...existing, weight: stage.weight, owner: stage.owner, updatedAt: time };
}

function assertSameRollout(vs: VirtualService, existing: RolloutState, stage: StageInput): void {
  const same =
    existing.host === stage.host &&
    existing.stableSubset === stage.stableSubset &&
    existing.canarySubset === stage.canarySubset &&
    existing.canaryHost === stage.canaryHost;
  if (!same && (existing.canaryHost !== undefined || stage.canaryHost !== undefined)) {
    const side = (host: string, canary: string | undefined, subset: string): string =>
      canary !== undefined
        ? `host "${canary}" over host "${host}"`
        : `subset "${subset}" of host "${host}"`;
    throw new UserError(
      `${objectLabel('VirtualService', vs.metadata)} already has a rollout in progress: ` +
        `${side(existing.host, existing.canaryHost, existing.canarySubset)}, at ${existing.weight}% ` +
        `since ${existing.startedAt} (run ${existing.owner}). Finish it with "promote" or ` +
        `"rollback" before rolling out ${side(stage.host, stage.canaryHost, stage.canarySubset)}`,
    );
  }
  if (!same) {
    throw new UserError(
      `${objectLabel('VirtualService', vs.metadata)} already has a rollout in progress: subset ` +
        `"${existing.canarySubset}" over "${existing.stableSubset}" of host "${existing.host}", at ` +
        `${existing.weight}% since ${existing.startedAt} (run ${existing.owner}). Finish it with ` +
        `"promote" or "rollback" before rolling out subset "${stage.canarySubset}" over ` +
        `"${stage.stableSubset}" of host "${stage.host}"`,
    );
  }
}

/**
 * A copy of `vs` carrying `state` in its annotations. Other annotations keep their values and
 * order. A saved original route already on the object is never replaced by a different one:
 * that would lose the only copy of the user's route, so it is a bug in the caller and throws.
 */
export function writeState(vs: VirtualService, state: RolloutState): VirtualService {
  const saved = vs.metadata.annotations?.[ANNOTATIONS.originalRoute];
  if (saved !== undefined && saved !== state.originalRoute) {
    throw new Error(
      `refusing to overwrite the saved original route of ${objectLabel('VirtualService', vs.metadata)}`,
    );
  }
  const next = structuredClone(vs);
  const annotations: Annotations = { ...next.metadata.annotations };
  // Optional fields the new state may no longer have must not survive from the old one.
  for (const field of OPTIONAL_FIELDS) delete annotations[ANNOTATIONS[field]];
  Object.assign(annotations, toAnnotations(state));
  next.metadata.annotations = annotations;
  return next;
}

const OPTIONAL_FIELDS: readonly StateField[] = [
  'routeName',
  'addedRoutes',
  'dependents',
  'canaryHost',
  'stableSubset',
  'canarySubset',
  'mirror',
  'testers',
];

function toAnnotations(state: RolloutState): Annotations {
  const annotations: Annotations = {
    [ANNOTATIONS.originalRoute]: state.originalRoute,
    [ANNOTATIONS.routeIndex]: String(state.routeIndex),
  };
  if (state.routeName !== undefined) annotations[ANNOTATIONS.routeName] = state.routeName;
  if (state.addedRoutes !== undefined && state.addedRoutes.length > 0)
    annotations[ANNOTATIONS.addedRoutes] = JSON.stringify(state.addedRoutes);
  if (state.dependents !== undefined && state.dependents.length > 0)
    annotations[ANNOTATIONS.dependents] = JSON.stringify(state.dependents);
  annotations[ANNOTATIONS.host] = state.host;
  if (state.canaryHost !== undefined) annotations[ANNOTATIONS.canaryHost] = state.canaryHost;
  if (state.stableSubset !== '') annotations[ANNOTATIONS.stableSubset] = state.stableSubset;
  if (state.canarySubset !== '') annotations[ANNOTATIONS.canarySubset] = state.canarySubset;
  if (state.mirror !== undefined) annotations[ANNOTATIONS.mirror] = JSON.stringify(state.mirror);
  if (state.testers !== undefined) annotations[ANNOTATIONS.testers] = JSON.stringify(state.testers);
  annotations[ANNOTATIONS.weight] = String(state.weight);
  annotations[ANNOTATIONS.owner] = state.owner;
  annotations[ANNOTATIONS.startedAt] = state.startedAt;
  annotations[ANNOTATIONS.updatedAt] = state.updatedAt;
  annotations[ANNOTATIONS.stateVersion] = String(STATE_VERSION);
  return annotations;
}

/**
 * What a stage adds besides the weights: routes it inserted here (and, for its tester route,
 * what it was built from), the VirtualServices carrying its caller routes, the mirror it set.
 * Each field given replaces the state's; undefined or empty removes it.
 */
export interface Shaping {
  addedRoutes?: string[];
  testers?: TesterRecord;
  dependents?: DependentRef[];
  mirror?: MirrorFields;
}

/** `state` with the shaping fields of `shaping` (see Shaping), as a new object. */
export function withShaping(state: RolloutState, shaping: Shaping): RolloutState {
  const next: RolloutState = { ...state };
  delete next.addedRoutes;
  delete next.dependents;
  delete next.mirror;
  delete next.testers;
  if (shaping.addedRoutes && shaping.addedRoutes.length > 0)
    next.addedRoutes = [...shaping.addedRoutes];
  if (shaping.testers) next.testers = structuredClone(shaping.testers);
  if (shaping.dependents && shaping.dependents.length > 0)
    next.dependents = shaping.dependents.map((d) => ({ ...d }));
  if (shaping.mirror) next.mirror = structuredClone(shaping.mirror);
  return next;
}

/**
 * A copy of `vs` without any annotation of its own rollout (the keys of ANNOTATIONS). The caller
 * routes of other rollouts stay, and so do keys under the prefix that this version does not
 * know: they are not ours to remove (see foreignKeys). When none of the user's annotations is
 * left, `metadata.annotations` goes too, so the object equals the one before the rollout.
 */
export function clearState(vs: VirtualService): VirtualService {
  const next = structuredClone(vs);
  const kept = Object.entries(next.metadata.annotations ?? {}).filter(
    ([key]) => !isOwnStateKey(key),
  );
  if (kept.length > 0) next.metadata.annotations = Object.fromEntries(kept);
  else delete next.metadata.annotations;
  return next;
}

/**
 * A copy of `vs` recording `names` as the caller routes of the rollout of `owner`
 * (`namespace/name`); an empty list forgets the owner, and the annotation goes with the last
 * one (the annotations map too, when nothing else is in it).
 */
export function writeCallerRoutes(
  vs: VirtualService,
  owner: string,
  names: readonly string[],
): VirtualService {
  const record = { ...readCallerRoutes(vs) };
  delete record[owner];
  if (names.length > 0) record[owner] = [...names];
  const next = structuredClone(vs);
  const annotations: Annotations = { ...next.metadata.annotations };
  if (Object.keys(record).length > 0) {
    annotations[CALLER_ROUTES_ANNOTATION] = JSON.stringify(record);
  } else {
    delete annotations[CALLER_ROUTES_ANNOTATION];
  }
  if (Object.keys(annotations).length > 0) next.metadata.annotations = annotations;
  else delete next.metadata.annotations;
  return next;
}

/** A copy of `vs` without the http routes named `names`; names not present are skipped. */
export function withoutRoutes(vs: VirtualService, names: readonly string[]): VirtualService {
  const next = structuredClone(vs);
  const http = next.spec.http;
  if (http === undefined || names.length === 0) return next;
  next.spec.http = http.filter((route) => route.name === undefined || !names.includes(route.name));
  return next;
}

/**
 * A copy of `vs` with the saved route back in place, byte for byte (its JSON equals the saved
 * text), the routes the rollout inserted (`addedRoutes`) removed, and every rollout annotation
 * removed. Caller routes of dependents live on other VirtualServices: see unpinCallers. This is
 * the edit alone: it trusts `point`, so callers first check that the state explains `vs`
 * (verify.ts), which a user's edit to the route since the stage also fails.
 */
export function restoreOriginal(vs: VirtualService, point: RestorePoint): VirtualService {
  const { index } = locateRoute(vs, point);
  const restored = withRoute(vs, index, savedRoute(point));
  return clearState(withoutRoutes(restored, point.addedRoutes ?? []));
}
