import type { Settings } from '../config/settings.ts';
import { ANNOTATIONS, readRestorePoint, restoreOriginal } from '../istio/state.ts';
import type { VirtualService } from '../istio/types.ts';
import type { StageReport } from '../report/report.ts';
import type { RolloutDeps } from './deps.ts';
import { baseReport, canaryWeightOf, noRolloutReport, readVirtualService } from './stage.ts';
import { resolveTarget } from './target.ts';
import { updateVirtualService } from './update.ts';

/**
 * Puts the saved original route back, byte for byte, and removes every trace of the rollout.
 * Re-reads on conflict, so a concurrent edit elsewhere in the VirtualService survives.
 * With `owner`, restores only a rollout that this run started (the post step's rule).
 */
export async function restoreRoute(
  deps: RolloutDeps,
  namespace: string,
  name: string,
  owner?: string,
): Promise<{ restored: boolean; before: VirtualService; after: VirtualService }> {
  const result = await updateVirtualService(
    deps.cluster,
    namespace,
    name,
    deps.logger,
    (current) => {
      // Only what a restore needs is read strictly: a damaged weight or timestamp must not block it.
      const point = readRestorePoint(current);
      if (!point) return undefined;
      if (owner !== undefined && current.metadata.annotations?.[ANNOTATIONS.owner] !== owner)
        return undefined;
      return restoreOriginal(current, point);
    },
  );
  return { restored: result.written, before: result.before, after: result.after };
}

/** The `rollback` command: restore the original route, or a clean no-op when none is saved. */
export async function runRollback(settings: Settings, deps: RolloutDeps): Promise<StageReport> {
  const startedAt = deps.clock.now();
  const { namespace, vs } = await readVirtualService(settings, deps.cluster);
  if (!readRestorePoint(vs)) {
    deps.logger.info(
      `No rollout in progress on VirtualService ${namespace}/${settings.virtualService}: nothing to roll back.`,
    );
    const reason = 'No rollout in progress: the VirtualService carries no saved route.';
    return noRolloutReport('rollback', namespace, settings.virtualService, startedAt, deps, reason);
  }
  const target = await resolveTarget(settings, deps.cluster);
  const base = baseReport(settings, deps, target, startedAt);
  if (settings.dryRun) {
    const plan = restoreOriginal(structuredClone(target.vs), readRestorePoint(target.vs)!);
    return {
      ...base,
      outcome: 'dry-run',
      weightAfter: 0,
      plan: { before: target.vs.spec, after: plan.spec },
    };
  }
  const { restored, after } = await deps.logger.group('Rollback', async () => {
    const result = await restoreRoute(deps, namespace, settings.virtualService);
    deps.logger.info(
      result.restored
        ? `Restored the original route of ${namespace}/${settings.virtualService} and removed the rollout state.`
        : 'The rollout state disappeared before we wrote: someone else finished or rolled back this rollout.',
    );
    return result;
  });
  return {
    ...base,
    outcome: restored ? 'rolled-back' : 'noop',
    weightAfter: canaryWeightOf(after.spec.http?.[target.routeIndex] ?? {}, base.canarySubset),
    finishedAt: new Date(deps.clock.now()).toISOString(),
    reason: restored
      ? 'Rolled back on request: the original route is restored.'
      : 'Nothing left to roll back.',
  };
}
