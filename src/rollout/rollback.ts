import type { Settings } from '../config/settings.ts';
import { rollbackStage } from '../istio/shaped-stage.ts';
import { readRestorePoint, savedRoute } from '../istio/state/read.ts';
import type { StageReport } from '../report/report.ts';
import type { RolloutDeps } from './deps.ts';
import { checkRestorable, restoreRoutes } from './restore.ts';
import {
  baseReport,
  canaryWeightOf,
  noRolloutReport,
  readVirtualService,
  reportForeignKeys,
  stateInputs,
} from './stage.ts';
import { resolveTarget } from './target.ts';

/**
 * The `rollback` command: restore the original route of every VirtualService named (and the
 * dependents' caller routes), or a clean no-op when none carries a saved route. Every saved
 * state is checked against its object and the inputs first; when one does not explain its
 * object, nothing at all is written.
 */
export async function runRollback(settings: Settings, deps: RolloutDeps): Promise<StageReport> {
  const startedAt = deps.clock.now();
  const read = await Promise.all(
    settings.virtualServices.map((name) => readVirtualService(settings, deps.cluster, name)),
  );
  for (const { vs } of read) reportForeignKeys(deps.logger, vs);
  const namespace = read[0].namespace;
  const withState = read.filter(({ vs }) => readRestorePoint(vs) !== undefined);
  if (withState.length === 0) {
    deps.logger.info(
      `No rollout in progress on VirtualService ${names(namespace, settings.virtualServices)}: nothing to roll back.`,
    );
    const reason = 'No rollout in progress: the VirtualService carries no saved route.';
    return noRolloutReport('rollback', namespace, settings.virtualService, startedAt, deps, reason);
  }
  const inputs = stateInputs(settings);
  await checkRestorable(deps, namespace, settings.virtualServices, { inputs });
  const target = await resolveTarget(settings, deps.cluster, withState[0].vs.metadata.name);
  const base = baseReport(settings, deps, target, startedAt);
  if (settings.dryRun) {
    const plan = rollbackStage(structuredClone(target.vs), inputs)!.vs;
    return {
      ...base,
      outcome: 'dry-run',
      weightAfter: 0,
      plan: { before: target.vs.spec, after: plan.spec },
    };
  }
  const restored = await deps.logger.group('Rollback', async () => {
    const results = await restoreRoutes(deps, namespace, settings.virtualServices, { inputs });
    const done = settings.virtualServices.filter((_, i) => results[i]);
    deps.logger.info(
      done.length > 0
        ? `Restored the original route of ${names(namespace, done)} and removed the rollout state.`
        : 'The rollout state disappeared before we wrote: someone else finished or rolled back this rollout.',
    );
    return done.length > 0;
  });
  // After a restore the route is the saved original; its canary weight is what was restored.
  const original = savedRoute(readRestorePoint(target.vs)!);
  return {
    ...base,
    outcome: restored ? 'rolled-back' : 'noop',
    weightAfter: restored ? canaryWeightOf(original, base.canarySubset) : base.weightBefore,
    finishedAt: new Date(deps.clock.now()).toISOString(),
    reason: restored
      ? 'Rolled back on request: the original route is restored.'
      : 'Nothing left to roll back.',
  };
}

function names(namespace: string, list: readonly string[]): string {
  return list.map((name) => `${namespace}/${name}`).join(', ');
}
