import type { Settings } from '../config/settings.ts';
import { NotFoundError, UserError } from '../errors.ts';
import { userView } from '../istio/added-routes.ts';
import { checkCallerRoutes, ownerKey } from '../istio/dependents.ts';
import { promoteStage } from '../istio/shaped-stage.ts';
import { promoteSplit } from '../istio/split.ts';
import { findHostTargetRoute } from '../istio/host-canary.ts';
import { assertNoMirrorToCanary } from '../istio/mirror.ts';
import { assertHttpRoutes } from '../istio/route-shape.ts';
import { findTargetRoute, withRoute } from '../istio/route.ts';
import type { DependentRef } from '../istio/state/format.ts';
import { readState } from '../istio/state/read.ts';
import { checkState, type StateInputs } from '../istio/state/verify.ts';
import type { DestinationRule, VirtualService } from '../istio/types.ts';
import type { StageReport } from '../report/report.ts';
import {
  planOldSubsetRemoval,
  removeOldSubset,
  type CleanupOutcome,
  type CleanupRequest,
} from './cleanup.ts';
import type { RolloutDeps } from './deps.ts';
import { unpinDependents } from './restore.ts';
import {
  baseReport,
  canarySides,
  noRolloutReport,
  readVirtualService,
  reportForeignKeys,
  stateInputs,
} from './stage.ts';
import { resolveSides, resolveTarget, sidePair, type SidePair, type Target } from './target.ts';
import { updateVirtualService } from './update.ts';

/**
 * The `promote` command: all traffic to the canary, written as one destination with the
 * original destination's fields, in every VirtualService named; the routes the rollout inserted
 * (tester routes, its mirror, the dependents' caller routes) and the rollout state removed.
 * With `cleanup`, the old subset then leaves the DestinationRule once nothing routes to it.
 */
export async function runPromote(settings: Settings, deps: RolloutDeps): Promise<StageReport> {
  const startedAt = deps.clock.now();
  const resolved = await deps.logger.group('Preflight', () =>
    preflight(settings, deps).catch(async (error: unknown) => {
      if (error instanceof UserError && (await alreadyPromoted(settings, deps))) return undefined;
      throw error;
    }),
  );
  if (!resolved) {
    const reason = `Already promoted: no rollout is in progress and the route sends all traffic to ${settings.canaryHost ?? settings.canarySubset}.`;
    deps.logger.info(reason);
    const namespace = settings.namespace ?? deps.cluster.defaultNamespace;
    return noRolloutReport('promote', namespace, settings.virtualService, startedAt, deps, reason);
  }
  const { targets } = resolved;
  const primary = targets[0];
  const pair = sidePair(settings, primary.state);
  const base = baseReport(settings, deps, primary, startedAt);
  const cleanup = cleanupRequest(settings, deps, resolved, pair);
  if (settings.dryRun) return dryRun(settings, deps, resolved, base, cleanup);
  const written = await deps.logger.group('Promote', async () => {
    let any = false;
    for (const target of targets) any = (await promoteOne(settings, deps, target, pair)) || any;
    return any;
  });
  const cleaned =
    cleanup &&
    (await deps.logger.group('Clean-up', () =>
      removeOldSubset(deps.cluster, deps.logger, cleanup),
    ));
  return {
    ...base,
    outcome: written ? 'promoted' : 'noop',
    weightAfter: written ? 100 : base.weightBefore,
    finishedAt: new Date(deps.clock.now()).toISOString(),
    ...cleanupReason(cleaned),
  };
}

/** What preflight resolved: the VirtualServices, and for subsets the DestinationRule. */
interface Resolved {
  targets: Target[];
  destinationRule?: DestinationRule;
}

/**
 * The plan of a dry run: the primary VirtualService's spec before and after; with `cleanup`,
 * the DestinationRule's too, side by side with it. Writes nothing.
 */
async function dryRun(
  settings: Settings,
  deps: RolloutDeps,
  resolved: Resolved,
  base: ReturnType<typeof baseReport>,
  cleanup: CleanupRequest | undefined,
): Promise<StageReport> {
  const promoted = resolved.targets.map(
    (target) => promoteEdit(structuredClone(target.vs), settings, target)?.vs ?? target.vs,
  );
  const before = resolved.targets[0].vs.spec;
  const report: StageReport = {
    ...base,
    outcome: 'dry-run',
    weightAfter: base.weightBefore,
    plan: { before, after: promoted[0].spec },
  };
  if (!cleanup) return report;
  const planned = await planOldSubsetRemoval(deps.cluster, cleanup, promoted);
  deps.logger.info(planned.outcome.sentence);
  return {
    ...report,
    reason: planned.outcome.sentence,
    plan: {
      before: { virtualService: before, destinationRule: planned.before.spec },
      after: { virtualService: promoted[0].spec, destinationRule: planned.after.spec },
    },
  };
}

/**
 * What `cleanup` removes: the old subset named by input "stable-subset" (a state that names
 * another was refused in preflight) of the DestinationRule preflight resolved. Host canaries
 * have no subsets: nothing.
 */
function cleanupRequest(
  settings: Settings,
  deps: RolloutDeps,
  resolved: Resolved,
  pair: SidePair,
): CleanupRequest | undefined {
  if (!settings.cleanup) return undefined;
  if (pair.kind === 'hosts' || !resolved.destinationRule) {
    deps.logger.info(
      'Input "cleanup": a host canary has no subsets to remove; nothing to clean up (Services and Deployments are left as they are).',
    );
    return undefined;
  }
  return {
    destinationRule: resolved.destinationRule,
    subset: settings.stableSubset ?? pair.stable,
    namespace: resolved.targets[0].namespace,
  };
}

/** A clean-up that left the subset in place says so in the report; a done one only in the log. */
function cleanupReason(outcome: CleanupOutcome | undefined): { reason?: string } {
  if (!outcome || outcome.result === 'removed' || outcome.result === 'absent') return {};
  return { reason: outcome.sentence };
}

/**
 * Resolves every VirtualService, checks that each saved state explains its object and the
 * inputs (and the caller routes it pinned), and that the canary can take all the traffic.
 */
async function preflight(settings: Settings, deps: RolloutDeps): Promise<Resolved> {
  const targets: Target[] = [];
  for (const name of settings.virtualServices) {
    const target = await resolveTarget(settings, deps.cluster, name);
    reportForeignKeys(deps.logger, target.vs);
    assertPromotable(target, settings, name);
    await checkPromotable(deps, target, stateInputs(settings));
    targets.push(target);
  }
  const pair = sidePair(settings, targets[0].state);
  const workloads = await resolveSides(deps.cluster, settings, targets[0], pair);
  if (workloads.canary.readyReplicas === 0) {
    throw new UserError(
      `The canary ${workloads.canary.label} has no ready pods; promoting would send all traffic nowhere.`,
    );
  }
  return { targets, destinationRule: workloads.destinationRule };
}

function assertPromotable(target: Target, settings: Settings, name: string): void {
  const state = target.state;
  if (!state) return;
  const wanted = settings.canaryHost ?? settings.canarySubset;
  const actual = state.canaryHost ?? state.canarySubset;
  if (actual !== wanted) {
    const input = settings.canaryHost !== undefined ? 'canary-host' : 'canary-subset';
    throw new UserError(
      `The rollout in progress on VirtualService "${name}" is to ${state.canaryHost !== undefined ? 'host' : 'subset'} "${actual}", not "${wanted}" (input "${input}").`,
    );
  }
}

/** The checks of a promote from the state of `target`: the state, then its dependents' caller routes. */
async function checkPromotable(
  deps: RolloutDeps,
  target: Target,
  inputs: StateInputs,
): Promise<void> {
  if (!target.state) return;
  checkState(target.vs, 'promote', inputs);
  for (const ref of target.state.dependents ?? []) {
    const dependent = await deps.cluster
      .getVirtualService(ref.namespace, ref.name)
      .catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
    if (dependent) checkCallerRoutes(dependent, ownerKey(target.vs));
  }
}

/** Promotes one VirtualService, then removes the caller routes its rollout pinned. */
async function promoteOne(
  settings: Settings,
  deps: RolloutDeps,
  target: Target,
  pair: SidePair,
): Promise<boolean> {
  let dependents: DependentRef[] = [];
  const result = await updateVirtualService(
    deps.cluster,
    target.namespace,
    target.vs.metadata.name,
    deps.logger,
    (current) => {
      const promoted = promoteEdit(current, settings, target);
      dependents = promoted?.dependents ?? [];
      return promoted?.vs;
    },
  );
  const name = `${target.namespace}/${target.vs.metadata.name}`;
  deps.logger.info(
    result.written
      ? `All traffic of route ${target.routeLabel} of ${name} now goes to ${pair.canary}; rollout state removed.`
      : `Route ${target.routeLabel} of ${name} already sends all traffic to ${pair.canary}: nothing to do.`,
  );
  if (result.written) await unpinDependents(deps, result.before, dependents);
  return result.written;
}

/**
 * The promoted VirtualService: from the state when a rollout is in progress (see promoteStage),
 * else the targeted route of the user's routes sent to the canary. Undefined when nothing changes.
 */
function promoteEdit(
  current: VirtualService,
  settings: Settings,
  target: Target,
): { vs: VirtualService; dependents: DependentRef[] } | undefined {
  if (readState(current)) return promoteStage(current, stateInputs(settings));
  const sides = canarySides(sidePair(settings, undefined), target);
  const { view, toReal } = userView(current, []);
  const found =
    sides.kind === 'hosts'
      ? findHostTargetRoute(view, { route: settings.route, ...sides })
      : findTargetRoute(view, { route: settings.route, ...sides });
  const index = toReal(found.index);
  const where = `Route ${target.routeLabel} of VirtualService "${target.namespace}/${current.metadata.name}"`;
  assertNoMirrorToCanary(found.route, sides, where);
  const promoted = promoteSplit(found.route, found.route, sides);
  if (JSON.stringify(promoted) === JSON.stringify(found.route)) return undefined;
  return { vs: withRoute(current, index, promoted), dependents: [] };
}

/** False for a VirtualService whose http routes preflight refused: its error stands. */
function followsSchema(vs: VirtualService): boolean {
  try {
    assertHttpRoutes(vs);
    return true;
  } catch {
    return false;
  }
}

/**
 * A re-run of a promote that already finished: no rollout state on any VirtualService named, no
 * route left to the stable side, and some route sending everything to the canary. A no-op, not
 * an error, so that re-running a pipeline's promote job is safe.
 */
async function alreadyPromoted(settings: Settings, deps: RolloutDeps): Promise<boolean> {
  const canary = settings.canaryHost ?? settings.canarySubset;
  const stable = settings.stableHost ?? settings.stableSubset;
  const sideOf = (d: { destination: { host: string; subset?: string } }): string | undefined =>
    settings.canaryHost !== undefined ? d.destination.host : d.destination.subset;
  for (const name of settings.virtualServices) {
    const { vs } = await readVirtualService({ ...settings, virtualService: name }, deps.cluster);
    if (readState(vs) || !followsSchema(vs)) return false;
    const routes = (vs.spec.http ?? []).map((r) => r.route ?? []);
    if (routes.some((dests) => dests.some((d) => sideOf(d) === stable))) return false;
    if (!routes.some((dests) => dests.length > 0 && dests.every((d) => sideOf(d) === canary)))
      return false;
  }
  return true;
}
