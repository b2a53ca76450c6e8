import type { Settings } from '../config/settings.ts';
import type { HTTPRoute } from '../istio/types.ts';
import type { StageReport } from '../report/report.ts';
import type { RolloutDeps } from './deps.ts';
import type { Target } from './target.ts';

/** The canary's current share of the route, in percent (0 when it has no destination there). */
export function canaryWeightOf(route: HTTPRoute, canarySubset: string | undefined): number {
  const destinations = route.route ?? [];
  const canary = destinations.filter(
    (d) => canarySubset !== undefined && d.destination.subset === canarySubset,
  );
  if (canary.length === 0) return 0;
  if (destinations.length === 1) return 100;
  return canary.reduce((sum, d) => sum + (d.weight ?? 0), 0);
}

/** The fields every report of a command shares, filled from what was resolved. */
export function baseReport(
  settings: Settings,
  deps: RolloutDeps,
  target: Target,
  startedAt: number,
): Omit<StageReport, 'outcome' | 'weightAfter'> {
  const stableSubset = target.state?.stableSubset ?? settings.stableSubset;
  const canarySubset = target.state?.canarySubset ?? settings.canarySubset;
  return {
    command: settings.command,
    namespace: target.namespace,
    virtualService: settings.virtualService,
    route: target.routeLabel,
    host: target.host,
    stableSubset,
    canarySubset,
    weightBefore: canaryWeightOf(target.route, canarySubset),
    weights: settings.weights,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(deps.clock.now()).toISOString(),
    checks: [],
  };
}
