import type { Settings } from '../config/settings.ts';
import { stopReason, UserError } from '../errors.ts';
import { applyStage } from '../istio/shaped-stage.ts';
import { metricsExistQuery } from '../metrics/promql.ts';
import { latencyAtPercentile } from '../metrics/thresholds.ts';
import type { CheckResult, PrometheusClient } from '../metrics/types.ts';
import type { StageReport } from '../report/report.ts';
import type { RolloutDeps } from './deps.ts';
import { stageEdit, writeStage, type StagePlan } from './group.ts';
import { restoreRoutes } from './restore.ts';
import { preflightStage } from './step-preflight.ts';
import { baseReport, canarySides } from './stage.ts';
import { userRoutesToCanary } from './traffic.ts';
import { untilAborted, watchWeight, type WatchPlan, type WatchResult } from './watch.ts';

/**
 * The `step` command: for each weight of the stage, set it, watch, and go on; on a breach,
 * restore the original route and report `rolled-back`.
 */
export async function runStep(settings: Settings, deps: RolloutDeps): Promise<StageReport> {
  const startedAt = deps.clock.now();
  const { plan, watch, prom } = await deps.logger.group('Preflight', () =>
    preflight(settings, deps),
  );
  const primary = plan.targets[0];
  const base = baseReport(settings, deps, primary, startedAt);
  const { stable, canary } = plan.pair;

  if (settings.dryRun) return dryRun(settings, deps, plan, base);

  const checks: CheckResult[] = [];
  let weightAfter = base.weightBefore;
  const watched: WatchResult[] = [];
  for (const weight of settings.weights) {
    const result = await deps.logger.group(
      `Stage: ${stable} ${100 - weight}% / ${canary} ${weight}%`,
      async () => {
        await writeStage(settings, deps, plan, weight);
        weightAfter = weight;
        logStage(settings, deps, plan, weight);
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
        return watchWeight(settings, deps, prom!, { ...watch!, weight, analysis });
      },
    );
    checks.push(...result.checks);
    watched.push(result);
    if (result.outcome !== 'passed') {
      return rollBackStage(
        settings,
        deps,
        plan,
        { ...base, checks, traffic: trafficOf(watched), breachWeight: weight },
        result,
      );
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
    traffic: trafficOf(watched),
  };
}

function dryRun(
  settings: Settings,
  deps: RolloutDeps,
  plan: StagePlan,
  base: Omit<StageReport, 'outcome' | 'weightAfter'>,
): StageReport {
  const { stable, canary } = plan.pair;
  const primary = plan.targets[0];
  const edit = stageEdit(settings, deps, plan, primary, settings.weights.at(-1)!, true);
  const after = applyStage(structuredClone(primary.vs), edit).vs;
  deps.logger.info(
    `Dry run: would set ${describeWeights(stable, canary, settings.weights)}; nothing was written.`,
  );
  return {
    ...base,
    outcome: 'dry-run',
    weightAfter: base.weightBefore,
    plan: { before: primary.vs.spec, after: after.spec },
  };
}

function logStage(settings: Settings, deps: RolloutDeps, plan: StagePlan, weight: number): void {
  const { stable, canary } = plan.pair;
  const others = plan.targets.slice(1).map((t) => `${t.routeLabel} of ${t.vs.metadata.name}`);
  deps.logger.info(
    `Weights set on route ${plan.targets[0].routeLabel}: ${stable} ${100 - weight}%, ${canary} ${weight}%.` +
      (others.length > 0 ? ` Same weights on route ${others.join(', ')}.` : ''),
  );
  if (settings.canaryMatch) {
    deps.logger.info(
      `Tester route: ${settings.canaryMatchWeight}% of the requests matching canary-match go to ${canary}.`,
    );
  }
  if (settings.mirrorPercent !== undefined) {
    deps.logger.info(
      `Mirroring ${settings.mirrorPercent}% of the route's requests to ${canary}; its answers are discarded.`,
    );
  }
}

/** Restores what this job wrote; a state it finds as it left it is its own, so it is not checked again. */
async function rollBackStage(
  settings: Settings,
  deps: RolloutDeps,
  plan: StagePlan,
  report: Omit<StageReport, 'outcome' | 'weightAfter'>,
  result: WatchResult,
): Promise<StageReport> {
  const decidedAt = result.decidedAt ?? deps.clock.now();
  const namespace = report.namespace;
  await deps.logger.group('Rollback', async () => {
    deps.logger.error(result.reason ?? 'The canary failed.');
    await restoreRoutes(deps, namespace, settings.virtualServices, { ledger: plan.ledger });
    const names = settings.virtualServices.map((n) => `${namespace}/${n}`).join(', ');
    deps.logger.info(`Original route of ${names} restored; rollout state removed.`);
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
  const stopped = stopReason(deps.signal);
  return {
    outcome: 'cancelled',
    checks: [],
    decidedAt: deps.clock.now(),
    reason: stopped ? `${stopped}.` : 'The job was cancelled while the weights were being set.',
  };
}

function describeWeights(stable: string, canary: string, weights: number[]): string {
  return weights.map((w) => `${stable} ${100 - w}% / ${canary} ${w}%`).join(', then ');
}

/** Everything checked before the first write. A failed preflight writes nothing. */
async function preflight(
  settings: Settings,
  deps: RolloutDeps,
): Promise<{ plan: StagePlan; watch?: Omit<WatchPlan, 'weight'>; prom?: PrometheusClient }> {
  const { plan, workloads } = await preflightStage(settings, deps);
  if (settings.durationMs === 0) return { plan };
  const prom = deps.prometheus(settings);
  const namespace = workloads.stable.namespace;
  const series = await untilAborted(prom.query(metricsExistQuery(namespace)), deps.signal);
  if (series.length === 0 || series.every((s) => s.value === 0)) {
    throw new UserError(
      `Prometheus at ${prom.endpoint} has no istio_requests_total series with reporter="destination" for namespace "${namespace}"; is it scraping the Istio sidecars?`,
    );
  }
  deps.logger.info(
    `Prometheus at ${prom.endpoint} answers and has Istio metrics for namespace ${namespace}.`,
  );
  return {
    plan,
    prom,
    watch: {
      canary: { namespace: workloads.canary.namespace, workloads: workloads.canary.deployments },
      stable: { namespace: workloads.stable.namespace, workloads: workloads.stable.deployments },
      names: { canary: plan.pair.canary, stable: plan.pair.stable },
      traffic: {
        mirrorPercent: settings.mirrorPercent,
        otherRoutes: [
          ...(settings.canaryMatch !== undefined ? ['the tester route of canary-match'] : []),
          ...plan.targets.flatMap((t) =>
            userRoutesToCanary(
              t.vs,
              t.routeIndex,
              t.state?.addedRoutes ?? [],
              canarySides(plan.pair, t),
            ),
          ),
        ],
      },
    },
  };
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

function trafficOf(watched: WatchResult[]): StageReport['traffic'] {
  const reports = watched.flatMap((w) => (w.traffic ? [w.traffic] : []));
  return reports.length > 0 ? reports : undefined;
}
