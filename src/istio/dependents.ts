/**
 * Dependent services (`dependents`): when `frontend` v2 must only talk to `backend` v2, the
 * rollout of `frontend` also inserts a caller route into `backend`'s VirtualService that sends
 * requests from the canary's pods (matched by `sourceLabels`) to `backend`'s canary subset.
 * The route is recorded on that VirtualService under the rolled-out one's name, so its rollback
 * or promote removes it again, exactly.
 */
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { UserError } from '../errors.ts';
import { deriveRoute, derivedRouteName, placeBefore, userView } from './added-routes.ts';
import { andMatches } from './match.ts';
import { assertNoMirrorToCanary, clearMirror, type MirrorFields } from './mirror.ts';
import { isDns1123Label, isDns1123Subdomain, objectLabel } from './names.ts';
import { assertRouteInput, findTargetRoute, routeLabel, setCanaryWeight } from './route.ts';
import { userRouteIndex } from './state/locate.ts';
import { CALLER_SUFFIX } from './state/format.ts';
import { callerRoutesMismatch, quote, routeName, type Finding } from './state/mismatch.ts';
import { readCallerRoutes, readRestorePoint, readState, readStateRecord } from './state/read.ts';
import { withoutRoutes, writeCallerRoutes } from './state/write.ts';
import type { HTTPRoute, VirtualService } from './types.ts';

/** One entry of the `dependents` input. */
export interface DependentSpec {
  /** Name of the other VirtualService. */
  virtualService: string;
  /** Its namespace; the rolled-out VirtualService's namespace when absent. */
  namespace?: string;
  /** Subset of its host the callers reach today. */
  stableSubset: string;
  /** Subset the canary's calls must reach. */
  canarySubset: string;
  /** Name or `http[N]` position of its http route to pin; when absent, the one to `stableSubset`. */
  route?: string;
}

/** How the caller route of one dependent is written. */
export interface PinOptions {
  /** The rolled-out VirtualService, `namespace/name`: the owner of the caller route. */
  owner: string;
  dependent: DependentSpec;
  /** Pod labels that only the canary's pods carry, e.g. `{ app: frontend, version: v2 }`. */
  sourceLabels: Record<string, string>;
  /**
   * The dependent's host whose subsets are meant, when known (from its DestinationRule): it tells
   * the route to pin from routes of other hosts without a subset. Absent = taken from the route.
   */
  host?: string;
}

const FORM =
  'a YAML list of {virtual-service, stable-subset, canary-subset, route?, namespace?}, e.g. ' +
  '`- {virtual-service: backend, stable-subset: v1, canary-subset: v2}`';
const KEYS: Record<string, keyof DependentSpec> = {
  'virtual-service': 'virtualService',
  namespace: 'namespace',
  'stable-subset': 'stableSubset',
  'canary-subset': 'canarySubset',
  route: 'route',
};

/**
 * Parses the `dependents` input. Empty text means none. Names are checked as Kubernetes and
 * Istio check them, each VirtualService may appear once, and errors point at the item.
 */
export function parseDependents(text: string): DependentSpec[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UserError(`Input "dependents" is not valid YAML (${why}); expected ${FORM}`);
  }
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc)) throw new UserError(`Input "dependents" must be ${FORM}`);
  const specs = doc.map((item: unknown, i) => parseItem(item, i + 1));
  const seen = new Set<string>();
  specs.forEach((spec, i) => {
    const key = `${spec.namespace ?? ''}/${spec.virtualService}`;
    if (seen.has(key)) {
      throw new UserError(
        `Input "dependents", item ${i + 1}: VirtualService "${spec.virtualService}" is listed twice`,
      );
    }
    seen.add(key);
  });
  return specs;
}

function parseItem(item: unknown, position: number): DependentSpec {
  const fail = (why: string): never => {
    throw new UserError(`Input "dependents", item ${position}: ${why}; expected ${FORM}`);
  };
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return fail('expected a mapping');
  }
  const fields = item as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !(key in KEYS));
  if (unknown.length > 0) fail(`unknown field ${unknown.join(', ')}`);
  const spec: Partial<DependentSpec> = {};
  for (const [key, field] of Object.entries(KEYS)) {
    const value = fields[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') fail(`${key} must be a non-empty string`);
    spec[field] = value as string;
  }
  const name = (key: string, value: string | undefined, label: boolean): void => {
    if (value === undefined) return void fail(`${key} is required`);
    if (!(label ? isDns1123Label(value) : isDns1123Subdomain(value))) {
      fail(
        `${key} must be a DNS-1123 ${label ? 'label' : 'subdomain'}, got ${JSON.stringify(value)}`,
      );
    }
  };
  name('virtual-service', spec.virtualService, false);
  name('stable-subset', spec.stableSubset, true);
  name('canary-subset', spec.canarySubset, true);
  if (spec.namespace !== undefined) name('namespace', spec.namespace, true);
  if (spec.route !== undefined) {
    assertRouteInput(`Input "dependents", item ${position}: route`, spec.route);
  }
  if (spec.stableSubset === spec.canarySubset) {
    fail(`stable-subset and canary-subset are both "${spec.stableSubset}"`);
  }
  return spec as DependentSpec;
}

/** The caller route's name for a target at `userIndex` among the user's routes. */
export function callerRouteName(target: HTTPRoute, userIndex: number): string {
  return derivedRouteName(target, userIndex, CALLER_SUFFIX);
}

/**
 * The caller route: `target` (the dependent's targeted route) with its name replaced, its match
 * AND-ed with `sourceLabels`, and every request sent to the canary subset (one destination, the
 * target's stable destination with the canary subset). Other fields are kept.
 */
export function callerRoute(
  target: HTTPRoute,
  targetIndex: number,
  opts: { name: string; host: string; sourceLabels: Record<string, string> } & Pick<
    DependentSpec,
    'stableSubset' | 'canarySubset'
  >,
): HTTPRoute {
  if (Object.keys(opts.sourceLabels).length === 0) {
    throw new RangeError('a caller route needs at least one source label');
  }
  const what = `the canary's source labels with the match of route ${routeLabel(target, targetIndex)}`;
  const match = andMatches([{ sourceLabels: { ...opts.sourceLabels } }], target.match, what);
  return setCanaryWeight(target, deriveRoute(target, opts.name, match), { ...opts, weight: 100 });
}

/**
 * A copy of the dependent VirtualService `vs` with the caller route of `opts.owner` inserted
 * right before its targeted route (or updated in place on a re-run) and recorded in its
 * caller-routes annotation. The target is found among the user's routes, so routes this or
 * another rollout inserted never count as candidates. The routes recorded for the owner are
 * replaced only when they are caller routes indeed (see checkCallerRoutes).
 */
export function pinCallers(vs: VirtualService, opts: PinOptions): VirtualService {
  const previous = readCallerRoutes(vs)[opts.owner] ?? [];
  checkCallerRoutes(vs, opts.owner);
  const own = readRestorePoint(vs)?.addedRoutes ?? [];
  const { view, toReal } = userView(vs, own);
  const { dependent } = opts;
  const target = findTargetRoute(view, {
    route: dependent.route,
    host: dependent.route === undefined ? opts.host : undefined,
    stableSubset: dependent.stableSubset,
    canarySubset: dependent.canarySubset,
  });
  const realIndex = toReal(target.index);
  const userIndex = userRouteIndex(vs, realIndex, own);
  // A mirror the dependent's own rollout set on its target is not the user's: not copied.
  const base = clearMirror(target.route, readState(vs)?.mirror);
  assertNoMirrorToCanary(
    base,
    {
      kind: 'subsets',
      host: target.host,
      stableSubset: dependent.stableSubset,
      canarySubset: dependent.canarySubset,
      namespace: vs.metadata.namespace,
    },
    `Input "dependents": route ${routeLabel(target.route, userIndex)} of ${objectLabel('VirtualService', vs.metadata)}`,
  );
  const route = callerRoute(base, userIndex, {
    name: callerRouteName(target.route, userIndex),
    host: target.host,
    stableSubset: dependent.stableSubset,
    canarySubset: dependent.canarySubset,
    sourceLabels: opts.sourceLabels,
  });
  const placed = placeBefore(vs, realIndex, route, previous);
  return writeCallerRoutes(placed.vs, opts.owner, [route.name ?? '']);
}

/**
 * A copy of `vs` without the caller routes of `owner` and their record: byte for byte what it
 * was before pinCallers when nothing else changed. Without a record it is an unchanged copy.
 * The record comes from the cluster, so the routes it names are first checked to be caller
 * routes (checkCallerRoutes), unless `trusted`: the record is the one this job wrote itself.
 */
export function unpinCallers(
  vs: VirtualService,
  owner: string,
  options: { trusted?: boolean } = {},
): VirtualService {
  const names = readCallerRoutes(vs)[owner];
  if (names === undefined) return structuredClone(vs);
  if (!options.trusted) checkCallerRoutes(vs, owner);
  return writeCallerRoutes(withoutRoutes(vs, names), owner, []);
}

/**
 * Throws a StateMismatchError, writing nothing, when a route that the record of `owner` on `vs`
 * names is not exactly a caller route (see callerRouteFindings).
 */
export function checkCallerRoutes(vs: VirtualService, owner: string): void {
  const findings = callerRouteFindings(vs, owner);
  if (findings.length > 0) throw callerRoutesMismatch(vs, owner, findings);
}

/**
 * Each route named in the record of `owner` on `vs` that pinCallers would not have written: the
 * route is rebuilt with callerRoute from the route it was pinned before (the one its name is
 * derived from), the source labels it matches and the subset it sends to, and compared. A name
 * that no route has any more is not a finding: there is nothing left to remove.
 */
export function callerRouteFindings(vs: VirtualService, owner: string): Finding[] {
  const findings: Finding[] = [];
  for (const name of readCallerRoutes(vs)[owner] ?? []) {
    const routes = (vs.spec.http ?? []).filter((r) => r.name === name);
    if (routes.length === 0) continue;
    const subject = `route ${quote(name)}`;
    if (routes.length > 1) {
      findings.push({
        subject,
        note: `${routes.length} routes have this name; a rollout pins one`,
      });
      continue;
    }
    const target = pinnedTarget(vs, name);
    if (target === undefined) {
      findings.push({
        subject,
        note: `is not named after a route of the VirtualService as a caller route is (<route name>-${CALLER_SUFFIX}, or http-<position>-${CALLER_SUFFIX})`,
      });
      continue;
    }
    const rebuilt = rebuildCaller(vs, routes[0], target);
    if (rebuilt === undefined || !isDeepStrictEqual(rebuilt, routes[0])) {
      findings.push({
        subject,
        now: routes[0],
        explained: rebuilt,
        by: `a caller route rebuilt from route ${routeName(target.route, target.index)} it precedes`,
      });
    }
  }
  return findings;
}

/** The user's route a caller route named `name` was pinned before, with its positions. */
function pinnedTarget(
  vs: VirtualService,
  name: string,
): { index: number; userIndex: number; route: HTTPRoute } | undefined {
  const suffix = `-${CALLER_SUFFIX}`;
  if (!name.endsWith(suffix)) return undefined;
  const stem = name.slice(0, -suffix.length);
  const { view, toReal } = userView(vs, ownAddedRoutes(vs));
  const http = view.spec.http ?? [];
  let userIndex = http.findIndex((r) => r.name === stem);
  if (userIndex < 0) {
    const position = /^http-(\d{1,6})$/.exec(stem);
    const index = position ? Number(position[1]) : -1;
    if (http[index] === undefined || http[index].name !== undefined) return undefined;
    userIndex = index;
  }
  return { index: toReal(userIndex), userIndex, route: http[userIndex] };
}

/**
 * The caller route pinCallers writes before `target`, with the labels and subset `caller` has;
 * undefined when `caller` has not the shape of one (one destination to a subset, source labels
 * in its match) or `target` cannot be pinned.
 */
function rebuildCaller(
  vs: VirtualService,
  caller: HTTPRoute,
  target: { userIndex: number; route: HTTPRoute },
): HTTPRoute | undefined {
  const destinations = caller.route ?? [];
  const canary = destinations[0]?.destination;
  const labels = caller.match?.[0]?.sourceLabels;
  if (destinations.length !== 1 || !canary?.subset || !isLabels(labels)) return undefined;
  // A caller route goes to the host of its target; the stable subset only picks the destination
  // the copy is made from, and a target without subsets needs none.
  const base = (target.route.route ?? []).find((d) => d.destination.subset !== canary.subset);
  try {
    return callerRoute(clearMirror(target.route, ownMirror(vs)), target.userIndex, {
      name: caller.name ?? '',
      host: base?.destination.host ?? canary.host,
      stableSubset: base?.destination.subset ?? '',
      canarySubset: canary.subset,
      sourceLabels: labels,
    });
  } catch (error) {
    if (error instanceof UserError || error instanceof RangeError) return undefined;
    throw error;
  }
}

function isLabels(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length > 0 &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

/** The routes `vs`'s own rollout inserted; none when its state cannot be read. */
function ownAddedRoutes(vs: VirtualService): string[] {
  try {
    return readRestorePoint(vs)?.addedRoutes ?? [];
  } catch {
    return [];
  }
}

/** The mirror `vs`'s own rollout set on its target: pinCallers never copies it. */
function ownMirror(vs: VirtualService): MirrorFields | undefined {
  try {
    return readStateRecord(vs)?.mirror;
  } catch {
    return undefined;
  }
}

/** `namespace/name`, the key a caller route's owner is recorded under. */
export function ownerKey(vs: VirtualService): string {
  if (!vs.metadata.namespace) {
    throw new RangeError(`${objectLabel('VirtualService', vs.metadata)} has no namespace`);
  }
  return `${vs.metadata.namespace}/${vs.metadata.name}`;
}
