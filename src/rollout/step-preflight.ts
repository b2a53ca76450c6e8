/**
 * What the `step` command checks before its first write: the VirtualServices and their routes,
 * the workloads behind both sides, the dependents, and that every edit of the stage can be built.
 * A failed preflight writes nothing.
 */
import type { Settings } from '../config/settings.ts';
import { UserError } from '../errors.ts';
import { ownerKey, pinCallers } from '../istio/dependents.ts';
import { applyStage } from '../istio/shaped-stage.ts';
import type { RolloutState } from '../istio/state/format.ts';
import { renderQuery } from '../metrics/custom.ts';
import { assertSelector } from '../metrics/promql.ts';
import type { RolloutDeps } from './deps.ts';
import { resolveDependents, stageEdit, type StagePlan } from './group.ts';
import { reportForeignKeys } from './stage.ts';
import {
  resolveSides,
  resolveTarget,
  sidePair,
  type SubsetWorkloads,
  type Target,
  type Workloads,
} from './target.ts';

/** Resolves and checks everything a stage writes; throws a UserError naming what is wrong. */
export async function preflightStage(
  settings: Settings,
  deps: RolloutDeps,
): Promise<{ plan: StagePlan; workloads: Workloads }> {
  const targets: Target[] = [];
  for (const name of settings.virtualServices) {
    const target = await resolveTarget(settings, deps.cluster, name);
    if (target.state) assertSameRollout(target.state, settings, name);
    logTarget(deps, target);
    reportForeignKeys(deps.logger, target.vs);
    targets.push(target);
  }
  const primary = targets[0];
  const pair = sidePair(settings, undefined);
  const workloads = await resolveSides(deps.cluster, settings, primary, pair);
  requireReady(workloads.canary, 'canary');
  if (settings.weights.some((w) => w < 100)) requireReady(workloads.stable, 'stable');
  assertQueryable(settings, workloads);
  const where = workloads.destinationRule
    ? `DestinationRule ${workloads.destinationRule.metadata.name}: `
    : '';
  deps.logger.info(`${where}${describeSide(workloads.stable)}, ${describeSide(workloads.canary)}.`);
  const dependents = await resolveDependents(settings, deps, primary.namespace);
  const plan: StagePlan = {
    namespace: primary.namespace,
    targets,
    pair,
    canaryPodLabels: workloads.canary.podLabels,
    dependents,
    ledger: new Map(),
  };
  previewStage(settings, deps, plan);
  return { plan, workloads };
}

/**
 * Builds every edit of the stage on the objects as read, so that a tester match that cannot be
 * combined with the route's, a mirror of the user's, or a route name already taken is reported
 * before anything is written.
 */
function previewStage(settings: Settings, deps: RolloutDeps, plan: StagePlan): void {
  const weight = settings.weights[0] ?? 0;
  plan.targets.forEach((target, i) => {
    applyStage(
      structuredClone(target.vs),
      stageEdit(settings, deps, plan, target, weight, i === 0),
    );
  });
  if (plan.dependents.length === 0) return;
  const owner = ownerKey(plan.targets[0].vs);
  for (const dependent of plan.dependents) {
    pinCallers(dependent.current, {
      owner,
      dependent: dependent.spec,
      sourceLabels: plan.canaryPodLabels,
      host: dependent.host,
    });
  }
}

/**
 * Builds every query the watch will send, from the workloads as the cluster named them, so that a
 * name the queries cannot carry is refused before the first write (see assertSelector).
 */
function assertQueryable(settings: Settings, workloads: Workloads): void {
  const selector = (side: SubsetWorkloads) => ({
    namespace: side.namespace,
    workloads: side.deployments,
  });
  const canary = assertSelector(selector(workloads.canary), 'canary');
  const stable = assertSelector(selector(workloads.stable), 'stable');
  // A side without Deployments has nothing to query; the watch reports that as no data.
  if (canary.workloads.length === 0 || stable.workloads.length === 0) return;
  for (const metric of settings.metrics) {
    renderQuery(metric.query, {
      namespace: canary.namespace,
      canaryWorkloads: canary.workloads,
      stableWorkloads: stable.workloads,
      intervalMs: settings.intervalMs,
    });
  }
}

function logTarget(deps: RolloutDeps, target: Target): void {
  const { state } = target;
  deps.logger.info(
    `VirtualService ${target.namespace}/${target.vs.metadata.name}, route ${target.routeLabel}, host ${target.host}` +
      (state
        ? `: rollout in progress at ${state.weight}% (started ${state.startedAt}).`
        : ': no rollout in progress.'),
  );
}

function describeSide(side: SubsetWorkloads): string {
  return `${side.subset} = ${side.deployments.join(', ')} (${side.readyReplicas} ready)`;
}

/** Refuses a stage of another rollout than the one in progress. */
export function assertSameRollout(state: RolloutState, settings: Settings, name: string): void {
  const same =
    settings.canaryHost !== undefined
      ? state.canaryHost === settings.canaryHost
      : state.canaryHost === undefined &&
        state.stableSubset === settings.stableSubset &&
        state.canarySubset === settings.canarySubset;
  if (same) return;
  const from =
    state.canaryHost !== undefined
      ? `host "${state.host}" to host "${state.canaryHost}"`
      : `subset "${state.stableSubset}" to "${state.canarySubset}"`;
  const to = settings.canaryHost ?? settings.canarySubset;
  throw new UserError(
    `A rollout from ${from} (run ${state.owner}) is in progress on VirtualService "${name}"; promote or roll it back before starting one to "${to}".`,
  );
}

function requireReady(workloads: SubsetWorkloads, role: 'canary' | 'stable'): void {
  if (workloads.deployments.length === 0) {
    throw new UserError(
      `No Deployment in namespace "${workloads.namespace}" has the pod labels of the ${role} ${workloads.label} (the Service's selector${workloads.label.startsWith('subset') ? " plus the subset's labels" : ''}).`,
    );
  }
  if (workloads.readyReplicas === 0) {
    throw new UserError(
      `The ${role} ${workloads.label} has no ready pods (Deployments: ${workloads.deployments.join(', ')}); wait for the rollout of the Deployment before shifting traffic.`,
    );
  }
}
