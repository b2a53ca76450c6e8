/**
 * The format of the rollout state: the annotations under one prefix that a rollout keeps on the
 * VirtualService itself, so that any later job on any runner can continue, report or roll it
 * back, and the shapes they are read into. Reading, locating, writing and checking the state live
 * next to this file (read.ts, locate.ts, write.ts, verify.ts).
 *
 * The keys of ANNOTATIONS are this version's state. Other keys under the prefix are foreign
 * (another tool's, a person's, a newer version's): never read, written or removed, only reported.
 * A newer version whose state this one could not act on safely says so with `state-version`.
 */
import type { MirrorFields } from '../mirror.ts';
import type { HTTPMatchRequest } from '../types.ts';

/** Every annotation of the rollout starts with this; removing those of ANNOTATIONS removes the state. */
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
  testers: `${STATE_PREFIX}testers`,
  stateVersion: `${STATE_PREFIX}state-version`,
} as const;

/**
 * The version of the state this code reads and writes. A state without the annotation is of
 * version 1. A later version that older code cannot act on safely (a new kind of edit it would
 * not undo) writes a higher number, and code that reads a higher number than its own refuses to
 * write anything from that state.
 */
export const STATE_VERSION = 1;

/** A field of the state, by the name its annotation key is listed under. */
export type StateField = keyof typeof ANNOTATIONS;

/**
 * On a dependent VirtualService: the caller routes other rollouts inserted, as JSON
 * `{"<namespace>/<name of the rolled-out VirtualService>": ["<route name>", ...]}`. It is not
 * part of this VirtualService's own rollout state: `hasState` ignores it and `clearState` keeps
 * it, so a VirtualService can be rolled out itself while another rollout pins callers to it.
 */
export const CALLER_ROUTES_ANNOTATION = `${STATE_PREFIX}caller-routes`;

/** The suffix of a caller route's name: `primary-canary-callers`, `http-0-canary-callers`. */
export const CALLER_SUFFIX = 'canary-callers';

/** A VirtualService that carries caller routes of a rollout (the `dependents` input). */
export interface DependentRef {
  namespace: string;
  name: string;
}

/** The tester route a stage inserted (`canary-match`, `canary-match-weight`), as recorded. */
export interface TesterRecord {
  /** The tester conditions, before they were combined with the targeted route's match. */
  match: HTTPMatchRequest[];
  /** Canary percent of the tester requests, 1-100. */
  weight: number;
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
  /** The tester route the current stage inserted (named in `addedRoutes`); absent when none. */
  testers?: TesterRecord;
  /** Canary percent of the current stage. */
  weight: number;
  /** Id of the run that wrote the current stage (e.g. a GitHub run id and attempt). */
  owner: string;
  /** ISO time the first stage was written. */
  startedAt: string;
  /** ISO time the current stage was written. */
  updatedAt: string;
}

/** `metadata.annotations` of an object. */
export type Annotations = Record<string, string>;

/** The fields a rollback reads; when one is damaged, only a person can put the route back. */
export const RESTORE_FIELDS: readonly StateField[] = [
  'originalRoute',
  'routeIndex',
  'routeName',
  'host',
  'addedRoutes',
  'dependents',
  'stateVersion',
];

const OWN_KEYS: ReadonlySet<string> = new Set(Object.values(ANNOTATIONS));

/**
 * An annotation of this VirtualService's own rollout, as this version knows them (not another
 * rollout's caller routes, not a key under the prefix that this version does not know).
 */
export function isOwnStateKey(key: string): boolean {
  return OWN_KEYS.has(key);
}

/**
 * Keys under the prefix that this version does not know: written by another tool, by hand, or
 * by a newer version of this one. They are never read, written or removed, and they do not make
 * a rollout state; commands report them so that a person can tell what they are.
 */
export function foreignKeys(annotations: Annotations | undefined): string[] {
  return Object.keys(annotations ?? {}).filter(
    (key) => key.startsWith(STATE_PREFIX) && !OWN_KEYS.has(key) && key !== CALLER_ROUTES_ANNOTATION,
  );
}
