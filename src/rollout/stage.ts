import type { Settings } from '../config/settings.ts';
import { NotFoundError, UserError } from '../errors.ts';
import type { HTTPRoute, VirtualService } from '../istio/types.ts';
import type { Cluster } from '../kube/cluster.ts';
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

/** The report of a command that found no rollout to act on. */
export function noRolloutReport(
  command: StageReport['command'],
  namespace: string,
  virtualService: string,
  startedAt: number,
  deps: RolloutDeps,
  reason: string,
): StageReport {
  return {
    command,
    outcome: 'noop',
    namespace,
    virtualService,
    route: '',
    host: '',
    weightBefore: 0,
    weightAfter: 0,
    weights: [],
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(deps.clock.now()).toISOString(),
    checks: [],
    reason,
  };
}

/** Reads the VirtualService the settings name; a missing one is an error naming the inputs. */
export async function readVirtualService(
  settings: Settings,
  cluster: Cluster,
): Promise<{ namespace: string; vs: VirtualService }> {
  const namespace = settings.namespace ?? cluster.defaultNamespace;
  const vs = await cluster
    .getVirtualService(namespace, settings.virtualService)
    .catch((error: unknown) => {
      if (error instanceof NotFoundError) {
        throw new UserError(
          `VirtualService "${settings.virtualService}" was not found in namespace "${namespace}" (inputs "virtual-service" and "namespace").`,
        );
      }
      throw error;
    });
  return { namespace, vs };
}
