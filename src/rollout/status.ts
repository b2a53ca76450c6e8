import type { Settings } from '../config/settings.ts';
import { StateMismatchError } from '../istio/state/mismatch.ts';
import { readState } from '../istio/state/read.ts';
import { checkState } from '../istio/state/verify.ts';
import type { VirtualService } from '../istio/types.ts';
import type { Logger } from '../logger.ts';
import type { StageReport } from '../report/report.ts';
import type { RolloutDeps } from './deps.ts';
import {
  baseReport,
  canaryShareOf,
  canaryWeightOf,
  noRolloutReport,
  readVirtualService,
  reportForeignKeys,
  sidePair,
  stateInputs,
} from './stage.ts';
import { resolveTarget } from './target.ts';

/** The `status` command: a read-only report of the rollout state. Writes nothing. */
export async function runStatus(settings: Settings, deps: RolloutDeps): Promise<StageReport> {
  const startedAt = deps.clock.now();
  const { namespace, vs } = await readVirtualService(settings, deps.cluster);
  reportForeignKeys(deps.logger, vs);
  const state = readState(vs);
  if (!state && !settings.stableSubset && !settings.stableHost) {
    deps.logger.info(
      `VirtualService ${namespace}/${settings.virtualService}: no rollout in progress.`,
    );
    return noRolloutReport(
      'status',
      namespace,
      settings.virtualService,
      startedAt,
      deps,
      'No rollout in progress.',
    );
  }
  const target = await resolveTarget(settings, deps.cluster);
  const base = baseReport(settings, deps, target, startedAt);
  const weight = state
    ? canaryShareOf(target.route, sidePair(settings, state), target.namespace)
    : canaryWeightOf(target.route, base.canarySubset);
  const destinations = (target.route.route ?? [])
    .map((d) => `${d.destination.subset ?? d.destination.host} ${d.weight ?? 100}%`)
    .join(', ');
  deps.logger.info(
    state
      ? `Rollout in progress on ${namespace}/${settings.virtualService} route ${target.routeLabel}: ${base.stableSubset} -> ${base.canarySubset} at ${state.weight}% (run ${state.owner}, started ${state.startedAt}, updated ${state.updatedAt}). Route now: ${destinations}.`
      : `No rollout in progress on ${namespace}/${settings.virtualService}; route ${target.routeLabel}: ${destinations}.`,
  );
  const explained = state ? explains(deps.logger, vs, settings) : true;
  return {
    ...base,
    outcome: 'noop',
    weightAfter: weight,
    reason: state
      ? `Rollout in progress at ${state.weight}%, owned by run ${state.owner}.` +
        (explained ? '' : ' Its state does not explain the VirtualService: see the log.')
      : 'No rollout in progress.',
  };
}

/**
 * Whether the state of `vs` would let a rollback act. Status writes nothing, so a state that
 * does not explain its object is a warning here, with what a rollback would say.
 */
function explains(logger: Logger, vs: VirtualService, settings: Settings): boolean {
  try {
    checkState(vs, 'restore', stateInputs(settings));
    return true;
  } catch (error) {
    if (!(error instanceof StateMismatchError)) throw error;
    logger.warn(`A rollback would refuse this state. ${error.message}`);
    return false;
  }
}
