import type { Settings } from '../config/settings.ts';
import { findTargetRoute, promoteRoute, withRoute } from '../istio/route.ts';
import { UserError } from '../errors.ts';
import { clearState, locateRoute, readState, savedRoute } from '../istio/state.ts';
import type { HTTPRoute, VirtualService } from '../istio/types.ts';
import type { StageReport } from '../report/report.ts';
import type { RolloutDeps } from './deps.ts';
import { baseReport, canaryWeightOf } from './stage.ts';
import { resolveTarget, resolveWorkloads } from './target.ts';
import { updateVirtualService } from './update.ts';

/**
 * The `promote` command: all traffic to the canary subset, written as one destination with the
 * original destination's fields, and the rollout state removed.
 */
export async function runPromote(settings: Settings, deps: RolloutDeps): Promise<StageReport> {
  const startedAt = deps.clock.now();
  const canary = settings.canarySubset!;
  const target = await deps.logger.group('Preflight', async () => {
    const resolved = await resolveTarget(settings, deps.cluster);
    if (resolved.state && resolved.state.canarySubset !== canary) {
      throw new UserError(
        `The rollout in progress on VirtualService "${settings.virtualService}" is to subset "${resolved.state.canarySubset}", not "${canary}" (input "canary-subset").`,
      );
    }
    const workloads = await resolveWorkloads(deps.cluster, settings, resolved, {
      stable: resolved.state?.stableSubset ?? settings.stableSubset!,
      canary,
    });
    if (workloads.canary.readyReplicas === 0) {
      throw new UserError(
        `The canary subset "${canary}" has no ready pods; promoting would send all traffic nowhere.`,
      );
    }
    return resolved;
  });
  const base = baseReport(settings, deps, target, startedAt);
  const edit = (current: VirtualService): VirtualService | undefined => {
    const state = readState(current);
    const { index, route } = state ? locateRoute(current, state) : findCurrent(current, settings);
    const original = state ? savedRoute(state) : route;
    const host = state?.host ?? target.host;
    const stableSubset = state?.stableSubset ?? settings.stableSubset!;
    const promoted = promoteRoute(original, {
      host,
      stableSubset,
      canarySubset: canary,
      current: route,
    });
    if (!state && JSON.stringify(promoted) === JSON.stringify(route)) return undefined;
    const next = withRoute(current, index, promoted);
    return state ? clearState(next) : next;
  };
  if (settings.dryRun) {
    const after = edit(structuredClone(target.vs)) ?? target.vs;
    return {
      ...base,
      outcome: 'dry-run',
      weightAfter: base.weightBefore,
      plan: { before: target.vs.spec, after: after.spec },
    };
  }
  const result = await deps.logger.group('Promote', async () => {
    const written = await updateVirtualService(
      deps.cluster,
      target.namespace,
      settings.virtualService,
      deps.logger,
      edit,
    );
    deps.logger.info(
      written.written
        ? `All traffic of route ${target.routeLabel} now goes to subset ${canary}; rollout state removed.`
        : `Route ${target.routeLabel} already sends all traffic to subset ${canary}: nothing to do.`,
    );
    return written;
  });
  return {
    ...base,
    outcome: result.written ? 'promoted' : 'noop',
    weightAfter: canaryWeightOf(result.after.spec.http![target.routeIndex], canary),
    finishedAt: new Date(deps.clock.now()).toISOString(),
  };
}

function findCurrent(vs: VirtualService, settings: Settings): { index: number; route: HTTPRoute } {
  return findTargetRoute(vs, {
    route: settings.route,
    host: settings.host,
    stableSubset: settings.stableSubset!,
  });
}
