/**
 * The rollout state, kept on the VirtualService itself in annotations under one prefix, so that
 * any later job on any runner can continue, report or roll back a rollout (DESIGN.md section 3).
 */
import { isDeepStrictEqual } from 'node:util';
import { UserError } from '../errors.ts';
import { isDns1123Label, objectLabel } from './names.ts';
import { routeLabel, withRoute } from './route.ts';
import type { HTTPRoute, VirtualService } from './types.ts';

/** Every annotation of the rollout starts with this; removing them all removes the state. */
export const STATE_PREFIX = 'istio-canary.dev/';

/** The annotation keys, one per field of the state. */
export const ANNOTATIONS = {
  originalRoute: `${STATE_PREFIX}original-route`,
  routeIndex: `${STATE_PREFIX}route-index`,
  routeName: `${STATE_PREFIX}route-name`,
  host: `${STATE_PREFIX}host`,
  stableSubset: `${STATE_PREFIX}stable-subset`,
  canarySubset: `${STATE_PREFIX}canary-subset`,
  weight: `${STATE_PREFIX}weight`,
  owner: `${STATE_PREFIX}owner`,
  startedAt: `${STATE_PREFIX}started-at`,
  updatedAt: `${STATE_PREFIX}updated-at`,
} as const;

/** The part of the state a rollback needs: the saved route and where it goes back. */
export interface RestorePoint {
  /** Exact JSON text of the targeted route as first read from the server. */
  originalRoute: string;
  /** Index of the route in `spec.http` when the rollout started. */
  routeIndex: number;
  /** The route's name, when it has one; a named route is found by name, not index. */
  routeName?: string;
  /** The destination host under rollout. */
  host: string;
}

/** A rollout in progress, as its annotations record it. */
export interface RolloutState extends RestorePoint {
  stableSubset: string;
  canarySubset: string;
  /** Canary percent of the current stage. */
  weight: number;
  /** Id of the run that wrote the current stage (e.g. a GitHub run id and attempt). */
  owner: string;
  /** ISO time the first stage was written. */
  startedAt: string;
  /** ISO time the current stage was written. */
  updatedAt: string;
}

type Annotations = Record<string, string>;

/** The fields a rollback reads; when one is damaged, only a person can put the route back. */
const RESTORE_FIELDS: readonly (keyof typeof ANNOTATIONS)[] = [
  'originalRoute',
  'routeIndex',
  'routeName',
  'host',
];

/** True when the VirtualService carries any annotation of a rollout. */
export function hasState(vs: VirtualService): boolean {
  return Object.keys(vs.metadata.annotations ?? {}).some((key) => key.startsWith(STATE_PREFIX));
}

/**
 * The rollout state, or undefined when none of its annotations is present. Present but
 * malformed (missing fields, bad numbers, a saved route that is not JSON) is a UserError.
 */
export function readState(vs: VirtualService): RolloutState | undefined {
  if (!hasState(vs)) return undefined;
  const read = reader(vs);
  return {
    ...readPoint(read),
    stableSubset: read.subset('stableSubset'),
    canarySubset: read.subset('canarySubset'),
    weight: read.integer('weight', 100),
    owner: read.text('owner'),
    startedAt: read.time('startedAt'),
    updatedAt: read.time('updatedAt'),
  };
}

/**
 * Only what a rollback needs, so that a rollback still works when another field (a weight, a
 * timestamp) was damaged by hand. Undefined when no rollout annotation is present.
 */
export function readRestorePoint(vs: VirtualService): RestorePoint | undefined {
  return hasState(vs) ? readPoint(reader(vs)) : undefined;
}

function readPoint(read: Reader): RestorePoint {
  const point: RestorePoint = {
    originalRoute: read.route(),
    routeIndex: read.integer('routeIndex', Number.MAX_SAFE_INTEGER),
    host: read.text('host'),
  };
  const name = read.optional('routeName');
  if (name !== undefined) point.routeName = name;
  return point;
}

/** The saved original route, parsed. */
export function savedRoute(point: RestorePoint): HTTPRoute {
  return JSON.parse(point.originalRoute) as HTTPRoute;
}

interface Reader {
  text(field: keyof typeof ANNOTATIONS): string;
  optional(field: keyof typeof ANNOTATIONS): string | undefined;
  subset(field: keyof typeof ANNOTATIONS): string;
  integer(field: keyof typeof ANNOTATIONS, max: number): number;
  time(field: keyof typeof ANNOTATIONS): string;
  route(): string;
}

function reader(vs: VirtualService): Reader {
  const annotations = vs.metadata.annotations ?? {};
  const malformed = (field: keyof typeof ANNOTATIONS, expected: string): UserError => {
    const key = ANNOTATIONS[field];
    const value = annotations[key];
    const got = value === undefined ? 'it is missing' : `got ${JSON.stringify(value)}`;
    const remedy = RESTORE_FIELDS.includes(field)
      ? `"rollback" needs this annotation, so put the original route back by hand, then remove ` +
        `the annotations prefixed ${STATE_PREFIX}`
      : `Run the "rollback" command to restore the original route, or remove the annotations ` +
        `prefixed ${STATE_PREFIX} to forget the rollout`;
    return new UserError(
      `${objectLabel('VirtualService', vs.metadata)} has a malformed rollout state: annotation ` +
        `"${key}" must be ${expected}, ${got}. ${remedy}`,
    );
  };
  const text = (field: keyof typeof ANNOTATIONS): string => {
    const value = annotations[ANNOTATIONS[field]];
    if (!value) throw malformed(field, 'a non-empty string');
    return value;
  };
  return {
    text,
    optional: (field) => {
      const value = annotations[ANNOTATIONS[field]];
      if (value === '') throw malformed(field, 'a non-empty string when present');
      return value;
    },
    subset: (field) => {
      const value = annotations[ANNOTATIONS[field]];
      if (value === undefined || !isDns1123Label(value)) throw malformed(field, 'a subset name');
      return value;
    },
    integer: (field, max) => {
      const value = annotations[ANNOTATIONS[field]];
      const number = value !== undefined && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
      if (!(number <= max)) throw malformed(field, `an integer from 0 to ${max}`);
      return number;
    },
    time: (field) => {
      const value = text(field);
      if (Number.isNaN(Date.parse(value))) throw malformed(field, 'an ISO 8601 time');
      return value;
    },
    route: () => {
      const value = text('originalRoute');
      if (!isJsonObject(value)) throw malformed('originalRoute', 'the JSON of an http route');
      return value;
    },
  };
}

function isJsonObject(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

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
      routeIndex: stage.routeIndex,
      host: stage.host,
      stableSubset: stage.stableSubset,
      canarySubset: stage.canarySubset,
      weight: stage.weight,
      owner: stage.owner,
      startedAt: time,
      updatedAt: time,
    };
    if (stage.route.name) state.routeName = stage.route.name;
    return state;
  }
  assertSameRollout(vs, existing, stage);
  return { ...existing, weight: stage.weight, owner: stage.owner, updatedAt: time };
}

function assertSameRollout(vs: VirtualService, existing: RolloutState, stage: StageInput): void {
  const same =
    existing.host === stage.host &&
    existing.stableSubset === stage.stableSubset &&
    existing.canarySubset === stage.canarySubset;
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
  delete annotations[ANNOTATIONS.routeName];
  Object.assign(annotations, toAnnotations(state));
  next.metadata.annotations = annotations;
  return next;
}

function toAnnotations(state: RolloutState): Annotations {
  const annotations: Annotations = {
    [ANNOTATIONS.originalRoute]: state.originalRoute,
    [ANNOTATIONS.routeIndex]: String(state.routeIndex),
  };
  if (state.routeName !== undefined) annotations[ANNOTATIONS.routeName] = state.routeName;
  annotations[ANNOTATIONS.host] = state.host;
  annotations[ANNOTATIONS.stableSubset] = state.stableSubset;
  annotations[ANNOTATIONS.canarySubset] = state.canarySubset;
  annotations[ANNOTATIONS.weight] = String(state.weight);
  annotations[ANNOTATIONS.owner] = state.owner;
  annotations[ANNOTATIONS.startedAt] = state.startedAt;
  annotations[ANNOTATIONS.updatedAt] = state.updatedAt;
  return annotations;
}

/**
 * A copy of `vs` without any annotation under the prefix. When none of the user's annotations
 * is left, `metadata.annotations` goes too, so the object equals the one before the rollout.
 */
export function clearState(vs: VirtualService): VirtualService {
  const next = structuredClone(vs);
  const kept = Object.entries(next.metadata.annotations ?? {}).filter(
    ([key]) => !key.startsWith(STATE_PREFIX),
  );
  if (kept.length > 0) next.metadata.annotations = Object.fromEntries(kept);
  else delete next.metadata.annotations;
  return next;
}

/**
 * Finds the route under rollout in the current object: by name when it has one (the user may
 * have added routes before it since), else at the saved index. An unnamed route is only taken
 * when it still has the original's `match` and sends only to the host, so that a route someone
 * inserted in front of it is never mistaken for it.
 */
export function locateRoute(
  vs: VirtualService,
  point: RestorePoint,
): { index: number; route: HTTPRoute } {
  const http = vs.spec.http ?? [];
  const where = objectLabel('VirtualService', vs.metadata);
  const hint = `The saved original is in annotation "${ANNOTATIONS.originalRoute}": put it back by hand and remove the annotations prefixed ${STATE_PREFIX}`;
  if (point.routeName !== undefined) {
    const index = http.findIndex((route) => route.name === point.routeName);
    if (index < 0) {
      throw new UserError(
        `The http route ${JSON.stringify(point.routeName)} under rollout is no longer in ${where}. ${hint}`,
      );
    }
    return { index, route: http[index] };
  }
  const index = point.routeIndex;
  if (index >= http.length) {
    throw new UserError(
      `The route under rollout was http[${index}] of ${where}, which now has ${http.length} http routes. ${hint}`,
    );
  }
  const route = http[index];
  if (!looksLikeTarget(route, savedRoute(point), point.host)) {
    throw new UserError(
      `Route ${routeLabel(route, index)} of ${where} is no longer the route under rollout (its match ` +
        `or destinations changed since the rollout started). ${hint}`,
    );
  }
  return { index, route };
}

function looksLikeTarget(route: HTTPRoute, original: HTTPRoute, host: string): boolean {
  const destinations = route.route ?? [];
  return (
    isDeepStrictEqual(route.match, original.match) &&
    destinations.length > 0 &&
    destinations.every((d) => d.destination.host === host)
  );
}

/**
 * A copy of `vs` with the saved route back in place, byte for byte (its JSON equals the saved
 * text), and every rollout annotation removed. A user's edit to the route during the rollout is
 * undone too: restoring the original is the contract.
 */
export function restoreOriginal(vs: VirtualService, point: RestorePoint): VirtualService {
  const { index } = locateRoute(vs, point);
  return clearState(withRoute(vs, index, savedRoute(point)));
}
