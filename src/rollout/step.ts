import type { Settings } from '../config/settings.ts';
import { UserError } from '../errors.ts';
import { findTargetRoute, setCanaryWeight, withRoute } from '../istio/route.ts';
import {
  locateRoute,
  readState,
  savedRoute,
  stageState,
  writeState,
  type RolloutState,
} from '../istio/state.ts';
import type { VirtualService } from '../istio/types.ts';
import { metricsExistQuery } from '../metrics/promql.ts';
import { latencyAtPercentile } from '../metrics/thresholds.ts';
import type { CheckResult, PrometheusClient } from '../metrics/types.ts';
import type { StageReport } from '../report/report.ts';
import type { RolloutDeps } from './deps.ts';
import { restoreRoute } from './rollback.ts';
import { baseReport } from './stage.ts';
import { resolveTarget, resolveWorkloads, type SubsetWorkloads, type Target } from './target.ts';
import { updateVirtualService } from './update.ts';
import { untilAborted, watchWeight, type WatchPlan, type WatchResult } from './watch.ts';

/**
 * The `step` command: for each weight of the stage, set it, watch, and go on; on a breach,
 * restore the original route and report `rolled-back`.
 */
export async function runStep(settings: Settings, deps: RolloutDeps): Promise<StageReport> {
  const startedAt = deps.clock.now();
  const stable = settings.stableSubset!;
  const canary = settings.canarySubset!;
  const { target, plans, prom } = await deps.logger.group('Preflight', () =>
    preflight(settings, deps),
  );
  const base = baseReport(settings, deps, target, startedAt);

  if (settings.dryRun) {
    const after = applyWeight(
      structuredClone(target.vs),
      settings,
      deps,
      target.host,
      settings.weights.at(-1)!,
    );
    deps.logger.info(
      `Dry run: would set ${describeWeights(stable, canary, settings.weights)}; nothing was written.`,
    );
    return {
      ...base,
      outcome: 'dry-run',
      weightAfter: base.weightBefore,
      plan: { before: target.vs.spec, after: after?.spec ?? target.vs.spec },
    };
  }

  const checks: CheckResult[] = [];
  let weightAfter = base.weightBefore;
  const watched: WatchResult[] = [];
  for (const weight of settings.weights) {
    const result = await deps.logger.group(
      `Stage: ${stable} ${100 - weight}% / ${canary} ${weight}%`,
      async () => {
        await updateVirtualService(
          deps.cluster,
          target.namespace,
          settings.virtualService,
          deps.logger,
          (current) => applyWeight(current, settings, deps, target.host, weight),
        );
        weightAfter = weight;
        deps.logger.info(
          `Weights set on route ${target.routeLabel}: ${stable} ${100 - weight}%, ${canary} ${weight}%.`,
        );
        if (deps.signal.aborted) return cancelledBeforeWatch(deps);
        if (settings.durationMs === 0) {
          deps.logger.info('duration is 0: not watching.');
          return { outcome: 'passed', checks: [] } satisfies WatchResult;
        }
        deps.logger.info(
          `Watching for ${settings.durationMs / 1000}s, a check every ${settings.intervalMs / 1000}s.`,
        );
        // The sequential judge's evidence carries over to the next weight of the same job.
        const analysis = watched.at(-1)?.analysis;
        return watchWeight(settings, deps, prom!, { ...plans!, weight, analysis });
      },
    );
    checks.push(...result.checks);
    watched.push(result);
    if (result.outcome !== 'passed') {
      return rollBackStage(settings, deps, { ...base, checks }, result);
    }
  }
  return {
    ...base,
    outcome: 'passed',
    weightAfter,
    checks,
    finishedAt: new Date(deps.clock.now()).toISOString(),
    canary: canarySummary(watched, settings.latencyPercentile),
    analysis: watched.at(-1)?.conclusion,
  };
}

async function rollBackStage(
  settings: Settings,
  deps: RolloutDeps,
  report: Omit<StageReport, 'outcome' | 'weightAfter'>,
  result: WatchResult,
): Promise<StageReport> {
  const decidedAt = result.decidedAt ?? deps.clock.now();
  const namespace = report.namespace;
  await deps.logger.group('Rollback', async () => {
    deps.logger.error(result.reason ?? 'The canary failed.');
    await restoreRoute(deps, namespace, settings.virtualService);
    deps.logger.info(
      `Original route of ${namespace}/${settings.virtualService} restored; rollout state removed.`,
    );
  });
  const restoreSeconds = (deps.clock.now() - decidedAt) / 1000;
  return {
    ...report,
    outcome: 'rolled-back',
    weightAfter: 0,
    reason: result.reason,
    analysis: result.conclusion,
    restoreSeconds,
    finishedAt: new Date(deps.clock.now()).toISOString(),
  };
}

function cancelledBeforeWatch(deps: RolloutDeps): WatchResult {
  return {
    outcome: 'cancelled',
    checks: [],
    decidedAt: deps.clock.now(),
    reason: 'The job was cancelled while the weights were being set.',
  };
}

/**
 * The edit of one stage, applied to a freshly read VirtualService: the first step saves the
 * original route; later steps and re-runs keep it. Pure: it reads only the object it is given.
 */
function applyWeight(
  current: VirtualService,
  settings: Settings,
  deps: RolloutDeps,
  host: string,
  weight: number,
): VirtualService {
  const stableSubset = settings.stableSubset!;
  const canarySubset = settings.canarySubset!;
  const existing = readState(current);
  const found = existing
    ? { ...locateRoute(current, existing), host: existing.host }
    : findTargetRoute(current, { route: settings.route, host, stableSubset, canarySubset });
  const state = stageState(current, existing, {
    route: found.route,
    routeIndex: found.index,
    host: found.host,
    stableSubset,
    canarySubset,
    weight,
    owner: deps.runId,
    now: deps.clock.now(),
  });
  const route = setCanaryWeight(savedRoute(state), found.route, {
    host: state.host,
    stableSubset,
    canarySubset,
    weight,
  });
  return writeState(withRoute(current, found.index, route), state);
}

function assertSameRollout(state: RolloutState, settings: Settings): void {
  if (
    state.stableSubset !== settings.stableSubset ||
    state.canarySubset !== settings.canarySubset
  ) {
    throw new UserError(
      `A rollout from subset "${state.stableSubset}" to "${state.canarySubset}" (run ${state.owner}) is in progress on VirtualService "${settings.virtualService}"; promote or roll it back before starting one to "${settings.canarySubset}".`,
    );
  }
}

function describeWeights(stable: string, canary: string, weights: number[]): string {
  return weights.map((w) => `${stable} ${100 - w}% / ${canary} ${w}%`).join(', then ');
}

/** Everything checked before the first write. A failed preflight writes nothing. */
async function preflight(
  settings: Settings,
  deps: RolloutDeps,
): Promise<{ target: Target; plans?: Omit<WatchPlan, 'weight'>; prom?: PrometheusClient }> {
  const target = await resolveTarget(settings, deps.cluster);
  if (target.state) assertSameRollout(target.state, settings);
  const stable = settings.stableSubset!;
  const canary = settings.canarySubset!;
  deps.logger.info(
    `VirtualService ${target.namespace}/${settings.virtualService}, route ${target.routeLabel}, host ${target.host}` +
      (target.state
        ? `: rollout in progress at ${target.state.weight}% (started ${target.state.startedAt}).`
        : ': no rollout in progress.'),
  );
  const workloads = await resolveWorkloads(deps.cluster, settings, target, { stable, canary });
  requireReady(workloads.canary, 'canary');
  if (settings.weights.some((w) => w < 100)) requireReady(workloads.stable, 'stable');
  deps.logger.info(
    `DestinationRule ${workloads.destinationRule.metadata.name}: ${stable} = ${workloads.stable.deployments.join(', ')} (${workloads.stable.readyReplicas} ready), ${canary} = ${workloads.canary.deployments.join(', ')} (${workloads.canary.readyReplicas} ready).`,
  );
  if (settings.durationMs === 0) return { target };
  const prom = deps.prometheus(settings);
  const series = await untilAborted(
    prom.query(metricsExistQuery(workloads.stable.namespace)),
    deps.signal,
  );
  if (series.length === 0 || series.every((s) => s.value === 0)) {
    throw new UserError(
      `Prometheus at ${prom.endpoint} has no istio_requests_total series with reporter="destination" for namespace "${workloads.stable.namespace}"; is it scraping the Istio sidecars?`,
    );
  }
  deps.logger.info(
    `Prometheus at ${prom.endpoint} answers and has Istio metrics for namespace ${workloads.stable.namespace}.`,
  );
  return {
    target,
    prom,
    plans: {
      canary: { namespace: workloads.canary.namespace, workloads: workloads.canary.deployments },
      stable: { namespace: workloads.stable.namespace, workloads: workloads.stable.deployments },
      names: { canary, stable },
    },
  };
}

function requireReady(workloads: SubsetWorkloads, role: 'canary' | 'stable'): void {
  if (workloads.deployments.length === 0) {
    throw new UserError(
      `No Deployment in namespace "${workloads.namespace}" has the pod labels of the ${role} subset "${workloads.subset}" (the Service's selector plus the subset's labels).`,
    );
  }
  if (workloads.readyReplicas === 0) {
    throw new UserError(
      `The ${role} subset "${workloads.subset}" has no ready pods (Deployments: ${workloads.deployments.join(', ')}); wait for the rollout of the Deployment before shifting traffic.`,
    );
  }
}

/** The canary's success rate over every watch of the job, and its latency over the last one. */
function canarySummary(watched: WatchResult[], percentile: number): StageReport['canary'] {
  const totals = watched.flatMap((w) => (w.total ? [w.total.canary] : []));
  const requests = totals.reduce((sum, t) => sum + t.requests, 0);
  const errors = totals.reduce((sum, t) => sum + t.errors, 0);
  const last = totals.at(-1);
  return {
    requests,
    errors,
    successRate: requests > 0 ? (100 * (requests - errors)) / requests : undefined,
    latencyMs: last ? latencyAtPercentile(last.buckets, percentile) : undefined,
  };
}
