/**
 * Reading the rollout state from a VirtualService's annotations. Everything read here comes from
 * the cluster: it is parsed strictly (a damaged field is a UserError naming the annotation), and
 * before anything is written from it, verify.ts checks that it explains the object it sits on.
 */
import { UserError } from '../../errors.ts';
import type { MirrorFields } from '../mirror.ts';
import { isDns1123Label, objectLabel } from '../names.ts';
import type { CanarySides } from '../split.ts';
import type { HTTPRoute, VirtualService } from '../types.ts';
import {
  ANNOTATIONS,
  CALLER_ROUTES_ANNOTATION,
  RESTORE_FIELDS,
  STATE_PREFIX,
  STATE_VERSION,
  isOwnStateKey,
  type DependentRef,
  type RestorePoint,
  type RolloutState,
  type StateField,
  type TesterRecord,
} from './format.ts';

/**
 * True when the VirtualService carries any annotation of a rollout of its own. Keys under the
 * prefix that this version does not know do not count (see foreignKeys).
 */
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
  const mirror = read.json('mirror', isMirrorFields, MIRROR_FORM);
  if (mirror !== undefined) state.mirror = mirror;
  const testers = read.json('testers', isTesterRecord, TESTERS_FORM);
  if (testers !== undefined) state.testers = testers;
  return state;
}

const MIRROR_FORM = 'the JSON of {mirror, mirrorPercentage}';
const TESTERS_FORM = 'the JSON of {match: [match entries], weight: 1-100}';

/**
 * Only what a rollback needs, so that a rollback still works when another field (a weight, a
 * timestamp) was damaged by hand. Undefined when no rollout annotation is present.
 */
export function readRestorePoint(vs: VirtualService): RestorePoint | undefined {
  return hasState(vs) ? readPoint(reader(vs)) : undefined;
}

function readPoint(read: Reader): RestorePoint {
  // First: a newer version's state may mean something else by every other field.
  read.version();
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

function isTesterRecord(value: unknown): value is TesterRecord {
  return (
    isPlainObject(value) &&
    Array.isArray(value.match) &&
    value.match.length > 0 &&
    value.match.every(isPlainObject) &&
    Number.isInteger(value.weight) &&
    (value.weight as number) >= 1 &&
    (value.weight as number) <= 100
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The saved original route, parsed. */
export function savedRoute(point: RestorePoint): HTTPRoute {
  return JSON.parse(point.originalRoute) as HTTPRoute;
}

/**
 * What the checks of verify.ts read from a state: the restore point, read strictly, and the
 * fields that say how the current stage edited the route. Those are read leniently, so that a
 * rollback can still check (and then act on) a state whose weight alone was damaged: each is
 * undefined when its annotation is absent or damaged, and `damaged` names the damaged ones.
 */
export interface StateRecord {
  point: RestorePoint;
  /** The two sides of the canary; undefined when a subset annotation is damaged. */
  sides?: CanarySides;
  /** Canary percent of the current stage. */
  weight?: number;
  /** The mirror the current stage set. */
  mirror?: MirrorFields;
  /** The tester route the current stage inserted. */
  testers?: TesterRecord;
  /** Keys of the annotations that could not be read. */
  damaged: string[];
}

/** The StateRecord of `vs`, or undefined when it carries no rollout state. */
export function readStateRecord(vs: VirtualService): StateRecord | undefined {
  const point = readRestorePoint(vs);
  if (point === undefined) return undefined;
  const read = reader(vs);
  const damaged: string[] = [];
  const lenient = <T>(field: StateField, value: () => T): T | undefined => {
    try {
      return value();
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      damaged.push(ANNOTATIONS[field]);
      return undefined;
    }
  };
  const record: StateRecord = { point, damaged };
  const namespace = vs.metadata.namespace;
  if (point.canaryHost !== undefined) {
    record.sides = sidesOf({ ...point, stableSubset: '', canarySubset: '' }, namespace);
  } else {
    const stableSubset = lenient('stableSubset', () => read.subset('stableSubset'));
    const canarySubset = lenient('canarySubset', () => read.subset('canarySubset'));
    if (stableSubset !== undefined && canarySubset !== undefined) {
      record.sides = sidesOf({ ...point, stableSubset, canarySubset }, namespace);
    }
  }
  const weight = lenient('weight', () => read.integer('weight', 100));
  if (weight !== undefined) record.weight = weight;
  const mirror = lenient('mirror', () => read.json('mirror', isMirrorFields, MIRROR_FORM));
  if (mirror !== undefined) record.mirror = mirror;
  const testers = lenient('testers', () => read.json('testers', isTesterRecord, TESTERS_FORM));
  if (testers !== undefined) record.testers = testers;
  return record;
}

/**
 * The two sides of the rollout a state records: its subsets of the host, or its two hosts.
 * `namespace` (the VirtualService's) resolves short host names.
 */
export function sidesOf(
  state: Pick<RolloutState, 'host' | 'canaryHost' | 'stableSubset' | 'canarySubset'>,
  namespace: string | undefined,
): CanarySides {
  if (state.canaryHost !== undefined) {
    return { kind: 'hosts', stableHost: state.host, canaryHost: state.canaryHost, namespace };
  }
  return {
    kind: 'subsets',
    host: state.host,
    stableSubset: state.stableSubset,
    canarySubset: state.canarySubset,
  };
}

interface Reader {
  text(field: StateField): string;
  optional(field: StateField): string | undefined;
  subset(field: StateField): string;
  integer(field: StateField, max: number): number;
  time(field: StateField): string;
  route(): string;
  /** The state's version; a UserError when it is not one this code reads. */
  version(): number;
  /** The parsed JSON of an optional annotation, checked by `valid`; undefined when absent. */
  json<T>(
    field: StateField,
    valid: (value: unknown) => value is T,
    expected: string,
  ): T | undefined;
}

function reader(vs: VirtualService): Reader {
  const annotations = vs.metadata.annotations ?? {};
  const malformed = (field: StateField, expected: string): UserError => {
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
  const text = (field: StateField): string => {
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
    version: () => {
      const value = annotations[ANNOTATIONS.stateVersion];
      if (value === undefined) return 1;
      const version = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
      if (!(version >= 1)) throw malformed('stateVersion', 'a whole number from 1');
      if (version > STATE_VERSION) {
        throw new UserError(
          `${objectLabel('VirtualService', vs.metadata)} carries a rollout state of version ` +
            `${version} (annotation "${ANNOTATIONS.stateVersion}"), written by a newer ` +
            `istio-canary; this one reads version ${STATE_VERSION} and writes nothing from it. ` +
            `Run the newer version to continue, promote or roll back this rollout`,
        );
      }
      return version;
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
 * The annotations of the tool on `vs` (its own rollout state and the caller routes recorded on
 * it) as one string: equal strings mean the tool's annotations are the same.
 */
export function stateFingerprint(vs: VirtualService): string {
  const entries = Object.entries(vs.metadata.annotations ?? {}).filter(
    ([key]) => isOwnStateKey(key) || key === CALLER_ROUTES_ANNOTATION,
  );
  return JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
