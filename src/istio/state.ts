/**
 * The rollout state, kept on the VirtualService itself in annotations under one prefix, so that
 * any later job on any runner can continue, report or roll back a rollout (DESIGN.md section 3).
 */
import { isDeepStrictEqual } from 'node:util';
import { UserError } from '../errors.ts';
import { isDns1123Label, objectLabel } from './names.ts';
import type { MirrorFields } from './mirror.ts';
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
  addedRoutes: `${STATE_PREFIX}added-routes`,
  dependents: `${STATE_PREFIX}dependents`,
  mirror: `${STATE_PREFIX}mirror`,
  canaryHost: `${STATE_PREFIX}canary-host`,
} as const;

/**
 * On a dependent VirtualService: the caller routes other rollouts inserted, as JSON
 * `{"<namespace>/<name of the rolled-out VirtualService>": ["<route name>", ...]}`. It is not
 * part of this VirtualService's own rollout state: `hasState` ignores it and `clearState` keeps
 * it, so a VirtualService can be rolled out itself while another rollout pins callers to it.
 */
export const CALLER_ROUTES_ANNOTATION = `${STATE_PREFIX}caller-routes`;

/** A VirtualService that carries caller routes of a rollout (the `dependents` input). */
export interface DependentRef {
  namespace: string;
  name: string;
}

/** The part of the state a rollback needs: the saved route and where it goes back. */
export interface RestorePoint {
  /** Exact JSON text of the targeted route as first read from the server. */
  originalRoute: string;
  /** Index of the route in `spec.http` when the rollout started. */
  routeIndex: number;
  /** The route's name, when it has one; a named route is found by name, not index. */
  routeName?: string;
  /** The destination host under rollout (the stable host of a host canary). */
  host: string;
  /**
   * Names of the http routes the rollout inserted into this VirtualService (tester routes);
   * a rollback and a promote remove them. Absent when it inserted none.
   */
  addedRoutes?: string[];
  /** Other VirtualServices carrying caller routes of this rollout; undone together. */
  dependents?: DependentRef[];
  /** The canary host of a host canary; absent for subsets. */
  canaryHost?: string;
}

/** A rollout in progress, as its annotations record it. */
export interface RolloutState extends RestorePoint {
  /** Empty for a host canary (see `canaryHost`). */
  stableSubset: string;
  /** Empty for a host canary (see `canaryHost`). */
  canarySubset: string;
  /** The mirror the current stage set on the targeted route; absent when it mirrors nothing. */
  mirror?: MirrorFields;
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
  'addedRoutes',
  'dependents',
];

/** An annotation of this VirtualService's own rollout (not another rollout's caller routes). */
function isOwnStateKey(key: string): boolean {
  return key.startsWith(STATE_PREFIX) && key !== CALLER_ROUTES_ANNOTATION;
}

/** True when the VirtualService carries any annotation of a rollout of its own. */
export function hasState(vs: VirtualService): boolean {
  return Object.keys(vs.metadata.annotations ?? {}).some(isOwnStateKey);
}

/**
 * The rollout state, or undefined when none of its annotations is present. Present but
 * malformed (missing fields, bad numbers, a saved route that is not JSON) is a UserError.
 */
export function readState(vs: VirtualService): RolloutState | undefined {
  if (!hasState(vs)) return undefined;
  const read = reader(vs);
  const canaryHost = read.optional('canaryHost');
  // A host canary has no subsets; a subset canary must name both.
  const subset = (field: 'stableSubset' | 'canarySubset'): string =>
    canaryHost !== undefined && read.optional(field) === undefined ? '' : read.subset(field);
  const point = readPoint(read);
  const state: RolloutState = {
    ...point,
    stableSubset: subset('stableSubset'),
    canarySubset: subset('canarySubset'),
    weight: read.integer('weight', 100),
    owner: read.text('owner'),
    startedAt: read.time('startedAt'),
    updatedAt: read.time('updatedAt'),
  };
  const mirror = read.json('mirror', isMirrorFields, 'the JSON of {mirror, mirrorPercentage}');
  if (mirror !== undefined) state.mirror = mirror;
  return state;
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
  const added = read.json('addedRoutes', isNameList, 'a JSON list of route names');
  if (added !== undefined) point.addedRoutes = added;
  const dependents = read.json('dependents', isRefList, 'a JSON list of {namespace, name}');
  if (dependents !== undefined) point.dependents = dependents;
  const canaryHost = read.optional('canaryHost');
  if (canaryHost !== undefined) point.canaryHost = canaryHost;
  return point;
}

function isNameList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string' && v !== '');
}

function isRefList(value: unknown): value is DependentRef[] {
  return (
    Array.isArray(value) &&
    value.every(
      (v: unknown) =>
        isPlainObject(v) &&
        typeof v.namespace === 'string' &&
        v.namespace !== '' &&
        typeof v.name === 'string' &&
        v.name !== '',
    )
  );
}

function isMirrorFields(value: unknown): value is MirrorFields {
  return (
    isPlainObject(value) &&
    isPlainObject(value.mirror) &&
    typeof value.mirror.host === 'string' &&
    isPlainObject(value.mirrorPercentage) &&
    typeof value.mirrorPercentage.value === 'number'
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
  /** The parsed JSON of an optional annotation, checked by `valid`; undefined when absent. */
  json<T>(
    field: keyof typeof ANNOTATIONS,
    valid: (value: unknown) => value is T,
    expected: string,
  ): T | undefined;
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
    json: (field, valid, expected) => {
      const value = annotations[ANNOTATIONS[field]];
      if (value === undefined) return undefined;
      const parsed = parseJson(value);
      if (!valid(parsed)) throw malformed(field, expected);
      return parsed;
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
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

const OPTIONAL_FIELDS: readonly (keyof typeof ANNOTATIONS)[] = [
  'routeName',
  'addedRoutes',
  'dependents',
  'canaryHost',
  'stableSubset',
  'canarySubset',
  'mirror',
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
  annotations[ANNOTATIONS.weight] = String(state.weight);
  annotations[ANNOTATIONS.owner] = state.owner;
  annotations[ANNOTATIONS.startedAt] = state.startedAt;
  annotations[ANNOTATIONS.updatedAt] = state.updatedAt;
  return annotations;
}

/**
 * What a stage adds besides the weights: routes it inserted here, the VirtualServices carrying
 * its caller routes, the mirror it set. Each field given replaces the state's; undefined or
 * empty removes it.
 */
export interface Shaping {
  addedRoutes?: string[];
  dependents?: DependentRef[];
  mirror?: MirrorFields;
}

/** `state` with the shaping fields of `shaping` (see Shaping), as a new object. */
export function withShaping(state: RolloutState, shaping: Shaping): RolloutState {
  const next: RolloutState = { ...state };
  delete next.addedRoutes;
  delete next.dependents;
  delete next.mirror;
  if (shaping.addedRoutes && shaping.addedRoutes.length > 0)
    next.addedRoutes = [...shaping.addedRoutes];
  if (shaping.dependents && shaping.dependents.length > 0)
    next.dependents = shaping.dependents.map((d) => ({ ...d }));
  if (shaping.mirror) next.mirror = structuredClone(shaping.mirror);
  return next;
}

/**
 * A copy of `vs` without any annotation of its own rollout (every one under the prefix but the
 * caller routes of other rollouts). When none of the user's annotations is left,
 * `metadata.annotations` goes too, so the object equals the one before the rollout.
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
  const tool = toolRouteIndexes(vs, point.addedRoutes ?? []);
  if (point.routeName !== undefined) {
    const index = http.findIndex((route, i) => route.name === point.routeName && !tool.has(i));
    if (index < 0) {
      throw new UserError(
        `The http route ${JSON.stringify(point.routeName)} under rollout is no longer in ${where}. ${hint}`,
      );
    }
    return { index, route: http[index] };
  }
  // The saved index counts the user's routes only; map it back past the inserted ones.
  const user = http.flatMap((_, i) => (tool.has(i) ? [] : [i]));
  if (point.routeIndex >= user.length) {
    throw new UserError(
      `The route under rollout was http[${point.routeIndex}] of ${where}, which now has ${user.length} http routes. ${hint}`,
    );
  }
  const index = user[point.routeIndex];
  const route = http[index];
  const hosts = [point.host, ...(point.canaryHost === undefined ? [] : [point.canaryHost])];
  if (!looksLikeTarget(route, savedRoute(point), hosts)) {
    throw new UserError(
      `Route ${routeLabel(route, index)} of ${where} is no longer the route under rollout (its match ` +
        `or destinations changed since the rollout started). ${hint}`,
    );
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
 * Every caller route name recorded on `vs`. A damaged record counts as none here: a rollback of
 * this VirtualService's own rollout must not be blocked by another rollout's annotation, and
 * locateRoute still checks that the route it finds looks like the original.
 */
function callerRouteNames(vs: VirtualService): string[] {
  try {
    return Object.values(readCallerRoutes(vs)).flat();
  } catch {
    return [];
  }
}

/**
 * The caller routes other rollouts inserted into `vs`, by the rolled-out VirtualService
 * (`namespace/name`); empty when none. A damaged annotation is a UserError: only a person can
 * tell which routes to remove.
 */
export function readCallerRoutes(vs: VirtualService): Record<string, string[]> {
  const text = vs.metadata.annotations?.[CALLER_ROUTES_ANNOTATION];
  if (text === undefined) return {};
  const parsed = parseJson(text);
  const valid = isPlainObject(parsed) && Object.values(parsed).every((names) => isNameList(names));
  if (!valid) {
    throw new UserError(
      `${objectLabel('VirtualService', vs.metadata)} has a malformed annotation ` +
        `"${CALLER_ROUTES_ANNOTATION}": it must be the JSON of {"<namespace>/<name>": [route names]}, ` +
        `got ${JSON.stringify(text)}. Remove the caller routes it named by hand, then the annotation`,
    );
  }
  return parsed as Record<string, string[]>;
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
 * removed. A user's edit to the route during the rollout is undone too: restoring the original
 * is the contract. Caller routes of dependents live on other VirtualServices: see unpinCallers.
 */
export function restoreOriginal(vs: VirtualService, point: RestorePoint): VirtualService {
  const { index } = locateRoute(vs, point);
  const restored = withRoute(vs, index, savedRoute(point));
  return clearState(withoutRoutes(restored, point.addedRoutes ?? []));
}
