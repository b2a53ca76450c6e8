/**
 * The check that a saved rollout state explains the VirtualService it sits on, run before
 * anything is written from it (a rollback, a promote, the next stage, the post step). The state
 * comes from the cluster: anyone with edit rights on the object can write it, and the identity
 * of the pipeline, often allowed more, would then write what it says. So the check rebuilds
 * what this tool writes from the saved original, with the same pure edits a stage uses, and
 * compares it with the object:
 *
 * - the saved original is one a rollout starts from: named as the state says, one destination
 *   to the stable side of the recorded host (plus, optionally, the canary), no mirror of its own
 *   when the state records one of ours, and a recorded mirror that is the canary destination;
 * - the targeted route is the saved original at the recorded stage (weights, and our mirror),
 *   or the saved original itself (someone put it back already). Every field is compared when the
 *   saved original is about to be written back (`restore`); a promote keeps the route's other
 *   fields and writes only its destinations, so it compares the destinations and mirrors;
 * - the routes the state says it inserted are exactly the tester route it would insert, rebuilt
 *   from the saved original and the recorded tester match and weight;
 * - inputs given to the command agree with the state: the route, host, subsets or hosts.
 *
 * Anything else is a StateMismatchError listing every difference; nothing is written.
 */
import { isDeepStrictEqual } from 'node:util';
import { UserError } from '../../errors.ts';
import { sameHost } from '../host-canary.ts';
import { clearMirror, mirrorKeysOf, setMirror, type MirrorFields } from '../mirror.ts';
import { describeDestinations, routePosition } from '../route.ts';
import { canaryDestination, canaryPercentOf, splitRoute, type CanarySides } from '../split.ts';
import { testerRoute, testerRouteName } from '../testers.ts';
import type { HTTPRoute, VirtualService } from '../types.ts';
import { ANNOTATIONS, type DependentRef, type TesterRecord } from './format.ts';
import { findRoute } from './locate.ts';
import { quote, routeName, shown, stateMismatch, type Finding } from './mismatch.ts';
import { readStateRecord, savedRoute, type StateRecord } from './read.ts';

/**
 * What the write about to happen takes from the saved original: all of it (`restore`: a
 * rollback, the post step, and a stage, which must stay restorable), or only its destinations
 * (`promote`).
 */
export type CheckPurpose = 'restore' | 'promote';

/** The inputs of the command that name the rollout; each one given must agree with the state. */
export interface StateInputs {
  route?: string;
  host?: string;
  stableSubset?: string;
  canarySubset?: string;
  stableHost?: string;
  canaryHost?: string;
  /**
   * The tester route the inputs ask for: it stands in for the record of a state written before
   * tester routes were recorded, and is checked like one.
   */
  testers?: TesterRecord;
  /** The dependents the inputs name; a different list from the state's is an error. */
  dependents?: DependentRef[];
}

/** A state that explains its object: what a write may take from it. */
export interface CheckedState {
  record: StateRecord;
  original: HTTPRoute;
  /** The targeted route in the object, and its index in `spec.http`. */
  index: number;
  route: HTTPRoute;
  sides: CanarySides;
}

/**
 * Checks the rollout state of `vs` for a write of `purpose`. Undefined when `vs` has no state;
 * a StateMismatchError naming every difference when the state does not explain `vs` or
 * disagrees with `inputs`.
 */
export function checkState(
  vs: VirtualService,
  purpose: CheckPurpose,
  inputs: StateInputs = {},
): CheckedState | undefined {
  const record = readStateRecord(vs);
  if (record === undefined) return undefined;
  const findings: Finding[] = inputFindings(vs, record, inputs);
  for (const key of record.damaged) {
    // A damaged weight is read off the route instead: it does not decide what is written.
    if (key !== ANNOTATIONS.weight) {
      findings.push({
        subject: `annotation "${key}"`,
        note: 'cannot be read, so it explains nothing',
      });
    }
  }
  const original = savedRoute(record.point);
  const found = findRoute(vs, record.point);
  if ('problem' in found)
    findings.push({ subject: 'the route under rollout', note: found.problem });
  const { sides } = record;
  let stage = 'the saved original';
  if (sides !== undefined && !('problem' in found)) {
    const weight = record.weight ?? canaryPercentOf(found.route, sides);
    stage = `the saved original at ${weight}% (${describeSides(sides)})`;
    const testers = record.testers ?? (record.point.addedRoutes ? inputs.testers : undefined);
    const plausible = originalFindings(original, record, sides, testers);
    findings.push(...plausible.findings);
    if (plausible.startsRollout) {
      const explained = explainedRoute(original, sides, weight, record.mirror);
      findings.push(
        ...routeFindings(found, original, explained, purpose),
        ...addedRouteFindings(vs, found.route, original, record, sides, testers),
      );
    }
  }
  if (findings.length > 0) throw stateMismatch(vs, findings, stage);
  if (sides === undefined || 'problem' in found) throw new Error('a finding was expected');
  return { record, original, index: found.index, route: found.route, sides };
}

function describeSides(sides: CanarySides): string {
  return sides.kind === 'subsets'
    ? `${sides.stableSubset} -> ${sides.canarySubset}`
    : `${sides.stableHost} -> ${sides.canaryHost}`;
}

/**
 * The `route` input names the saved route: by its name, or by its position among the user's own
 * routes (`http[N]`, which the state records as the route index).
 */
function sameRoute(route: string, point: StateRecord['point']): boolean {
  return route === point.routeName || routePosition(route) === point.routeIndex;
}

/** Each input given that names something else than the state does. */
function inputFindings(vs: VirtualService, record: StateRecord, inputs: StateInputs): Finding[] {
  const { point } = record;
  const ns = vs.metadata.namespace;
  const findings: Finding[] = [];
  const differs = (input: string, given: string, field: string, saved: string) => {
    findings.push({
      subject: `input "${input}"`,
      note: `is ${quote(given)}; annotation "${field}" says ${quote(saved)}`,
    });
  };
  if (inputs.route !== undefined && !sameRoute(inputs.route, point)) {
    if (point.routeName !== undefined) {
      differs('route', inputs.route, ANNOTATIONS.routeName, point.routeName);
    } else {
      findings.push({
        subject: 'input "route"',
        note: `is ${quote(inputs.route)}; the rollout in progress shifts an unnamed route`,
      });
    }
  }
  if (point.canaryHost === undefined) {
    if (inputs.host !== undefined && !sameHost(inputs.host, point.host, ns)) {
      differs('host', inputs.host, ANNOTATIONS.host, point.host);
    }
    const subsets = record.sides?.kind === 'subsets' ? record.sides : undefined;
    if (
      subsets &&
      inputs.stableSubset !== undefined &&
      inputs.stableSubset !== subsets.stableSubset
    )
      differs('stable-subset', inputs.stableSubset, ANNOTATIONS.stableSubset, subsets.stableSubset);
    if (
      subsets &&
      inputs.canarySubset !== undefined &&
      inputs.canarySubset !== subsets.canarySubset
    )
      differs('canary-subset', inputs.canarySubset, ANNOTATIONS.canarySubset, subsets.canarySubset);
    if (inputs.canaryHost !== undefined) {
      findings.push({
        subject: 'input "canary-host"',
        note: `is ${quote(inputs.canaryHost)}; the rollout in progress is between two subsets of host ${quote(point.host)}`,
      });
    }
  } else {
    if (inputs.stableHost !== undefined && !sameHost(inputs.stableHost, point.host, ns))
      differs('stable-host', inputs.stableHost, ANNOTATIONS.host, point.host);
    if (inputs.canaryHost !== undefined && !sameHost(inputs.canaryHost, point.canaryHost, ns))
      differs('canary-host', inputs.canaryHost, ANNOTATIONS.canaryHost, point.canaryHost);
    if (inputs.canarySubset !== undefined) {
      findings.push({
        subject: 'input "canary-subset"',
        note: `is ${quote(inputs.canarySubset)}; the rollout in progress is to host ${quote(point.canaryHost)}`,
      });
    }
  }
  const saved = point.dependents ?? [];
  const given = inputs.dependents ?? [];
  if (saved.length > 0 && given.length > 0 && !sameRefs(saved, given)) {
    findings.push({
      subject: 'input "dependents"',
      note:
        `names ${refs(given)}; annotation "${ANNOTATIONS.dependents}" says ${refs(saved)}: ` +
        `the caller routes on those stay until this rollout is promoted or rolled back`,
    });
  }
  return findings;
}

function sameRefs(a: readonly DependentRef[], b: readonly DependentRef[]): boolean {
  const keys = (list: readonly DependentRef[]) =>
    list.map((r) => `${r.namespace}/${r.name}`).sort();
  return isDeepStrictEqual(keys(a), keys(b));
}

function refs(list: readonly DependentRef[]): string {
  return list.map((r) => quote(`${r.namespace}/${r.name}`)).join(', ');
}

/**
 * Whether the saved original is one a rollout of `sides` starts from (`startsRollout`: the stage
 * edit can be applied to it), and whether the state records what such a rollout records.
 */
function originalFindings(
  original: HTTPRoute,
  record: StateRecord,
  sides: CanarySides,
  testers: TesterRecord | undefined,
): { findings: Finding[]; startsRollout: boolean } {
  const findings: Finding[] = [];
  const { point, mirror } = record;
  const subject = `the saved original (annotation "${ANNOTATIONS.originalRoute}")`;
  if (original.name !== point.routeName) {
    findings.push({
      subject,
      note: `is ${original.name === undefined ? 'unnamed' : `named ${quote(String(original.name))}`}, but annotation "${ANNOTATIONS.routeName}" says ${point.routeName === undefined ? 'nothing' : quote(point.routeName)}`,
    });
  }
  try {
    splitRoute(original, original, sides, 0);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    findings.push({
      subject,
      note: `is not a route a rollout from ${describeSides(sides)} starts from: its destinations are ${quote(describeDestinations(original))}`,
    });
    return { findings, startsRollout: false };
  }
  if (mirror !== undefined) findings.push(...mirrorFindings(original, mirror, sides, subject));
  const expected = testers ? [testerRouteName(original, point.routeIndex)] : [];
  const recorded = point.addedRoutes ?? [];
  if (!isDeepStrictEqual(recorded, expected)) {
    findings.push({
      subject: `annotation "${ANNOTATIONS.addedRoutes}"`,
      note:
        `names ${recorded.map(quote).join(', ') || 'nothing'}; ` +
        (testers
          ? `the tester route of this rollout is ${quote(expected[0])}`
          : `the state records no tester route (annotation "${ANNOTATIONS.testers}"), so the rollout inserted none`),
    });
  }
  return { findings, startsRollout: true };
}

/** A recorded mirror is always the canary destination, set on a route that did not mirror. */
function mirrorFindings(
  original: HTTPRoute,
  mirror: MirrorFields,
  sides: CanarySides,
  subject: string,
): Finding[] {
  const findings: Finding[] = [];
  const own = mirrorKeysOf(original);
  if (own.length > 0) {
    findings.push({
      subject,
      note: `mirrors already (${own.join(', ')}), yet annotation "${ANNOTATIONS.mirror}" records a mirror of the rollout: a stage never mirrors a route that mirrors`,
    });
  }
  const canary = canaryDestination(original, sides);
  if (!isDeepStrictEqual(mirror.mirror, canary)) {
    findings.push({
      subject: `annotation "${ANNOTATIONS.mirror}"`,
      note: `mirrors to ${shown(mirror.mirror)}; a rollout mirrors only to the canary, ${shown(canary)}`,
    });
  }
  const percent = mirror.mirrorPercentage.value;
  if (!(percent > 0 && percent <= 100)) {
    findings.push({
      subject: `annotation "${ANNOTATIONS.mirror}"`,
      note: `mirrors ${shown(percent)}%; a rollout mirrors more than 0 and at most 100%`,
    });
  }
  return findings;
}

/** The targeted route as a stage at `weight` writes it from `original`. */
function explainedRoute(
  original: HTTPRoute,
  sides: CanarySides,
  weight: number,
  mirror: MirrorFields | undefined,
): HTTPRoute {
  const split = splitRoute(original, original, sides, weight);
  // A recorded mirror on a route that mirrors already is a finding of its own.
  if (mirror === undefined || mirrorKeysOf(original).length > 0) return split;
  return setMirror(original, split, mirror, 'The route under rollout');
}

/**
 * The fields of the targeted route that neither the stage edit nor the saved original explain.
 * `promote` compares only what it takes from the original: destinations and mirrors.
 */
function routeFindings(
  found: { index: number; route: HTTPRoute },
  original: HTTPRoute,
  explained: HTTPRoute,
  purpose: CheckPurpose,
): Finding[] {
  const current = found.route;
  const compared = (a: HTTPRoute, b: HTTPRoute): string[] => {
    const keys =
      purpose === 'restore'
        ? [...Object.keys(a), ...Object.keys(b)]
        : ['route', ...mirrorKeysOf(a), ...mirrorKeysOf(b)];
    return [...new Set(keys)].filter((key) => !isDeepStrictEqual(a[key], b[key]));
  };
  const differences = compared(current, explained);
  if (differences.length === 0 || compared(current, original).length === 0) return [];
  const label = routeName(current, found.index);
  return differences.map((key) => ({
    subject: `route ${label}, field ${quote(key)}`,
    now: current[key],
    explained: explained[key],
  }));
}

/** Each route named in `added-routes` that is not exactly the tester route this rollout inserts. */
function addedRouteFindings(
  vs: VirtualService,
  target: HTTPRoute,
  original: HTTPRoute,
  record: StateRecord,
  sides: CanarySides,
  testers: TesterRecord | undefined,
): Finding[] {
  const { point } = record;
  if (testers === undefined) return [];
  const name = testerRouteName(original, point.routeIndex);
  if (!(point.addedRoutes ?? []).includes(name)) return [];
  const routes = (vs.spec.http ?? []).filter((r) => r.name === name);
  if (routes.length === 0) return [];
  const subject = `route ${quote(name)} (annotation "${ANNOTATIONS.addedRoutes}")`;
  if (routes.length > 1) {
    return [{ subject, note: `${routes.length} routes have this name; the rollout inserts one` }];
  }
  // Built at the last stage from the targeted route as it was then, without our mirror.
  const bases = [clearMirror(target, record.mirror), original];
  let rebuilt: HTTPRoute | undefined;
  try {
    for (const base of bases) {
      rebuilt = testerRoute(original, base, {
        name,
        match: testers.match,
        weight: testers.weight,
        sides,
        targetIndex: point.routeIndex,
      });
      if (isDeepStrictEqual(rebuilt, routes[0])) return [];
    }
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return [{ subject, note: `cannot be rebuilt from annotation "${ANNOTATIONS.testers}"` }];
  }
  return [
    {
      subject,
      now: routes[0],
      explained: rebuilt,
      by: `the tester route rebuilt from the saved original and annotation "${ANNOTATIONS.testers}"`,
    },
  ];
}
