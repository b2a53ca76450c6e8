import type { Settings } from '../config/settings.ts';
import { NotFoundError, UserError } from '../errors.ts';
import { canaryPercentOf, type CanarySides } from '../istio/split.ts';
import { foreignKeys, STATE_PREFIX, type RolloutState } from '../istio/state/format.ts';
import { quote } from '../istio/state/mismatch.ts';
import type { StateInputs } from '../istio/state/verify.ts';
import type { HTTPRoute, VirtualService } from '../istio/types.ts';
import type { Cluster } from '../kube/cluster.ts';
import type { Logger } from '../logger.ts';
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

/** What a rollout shifts between: two subsets of the target's host, or two hosts. */
export type SidePair =
  | { kind: 'subsets'; stable: string; canary: string }
  | { kind: 'hosts'; stable: string; canary: string };

/** The sides of the rollout in progress (its state wins), else of the inputs. */
export function sidePair(settings: Settings, state: RolloutState | undefined): SidePair {
  if (state?.canaryHost !== undefined) {
    return { kind: 'hosts', stable: state.host, canary: state.canaryHost };
  }
  if (state) return { kind: 'subsets', stable: state.stableSubset, canary: state.canarySubset };
  if (settings.stableHost !== undefined && settings.canaryHost !== undefined) {
    return { kind: 'hosts', stable: settings.stableHost, canary: settings.canaryHost };
  }
  return { kind: 'subsets', stable: settings.stableSubset!, canary: settings.canarySubset! };
}

/** The pair as the edits take it: the subsets of the target's host, or the two hosts. */
export function canarySides(pair: SidePair, target: Target): CanarySides {
  if (pair.kind === 'hosts') {
    return {
      kind: 'hosts',
      stableHost: target.host,
      canaryHost: pair.canary,
      namespace: target.namespace,
    };
  }
  return {
    kind: 'subsets',
    host: target.host,
    stableSubset: pair.stable,
    canarySubset: pair.canary,
    namespace: target.namespace,
  };
}

/** The canary's current share of `route`, for subsets or hosts. */
export function canaryShareOf(route: HTTPRoute, pair: SidePair, namespace: string): number {
  if (pair.kind === 'subsets') return canaryWeightOf(route, pair.canary);
  return canaryPercentOf(route, {
    kind: 'hosts',
    stableHost: pair.stable,
    canaryHost: pair.canary,
    namespace,
  });
}

/** The fields every report of a command shares, filled from what was resolved. */
export function baseReport(
  settings: Settings,
  deps: RolloutDeps,
  target: Target,
  startedAt: number,
): Omit<StageReport, 'outcome' | 'weightAfter'> {
  const hosts = target.state?.canaryHost !== undefined || settings.canaryHost !== undefined;
  const pair = hosts || settings.stableSubset ? sidePair(settings, target.state) : undefined;
  const stableSubset = pair?.stable ?? target.state?.stableSubset ?? settings.stableSubset;
  const canarySubset = pair?.canary ?? target.state?.canarySubset ?? settings.canarySubset;
  const weightBefore = pair
    ? canaryShareOf(target.route, pair, target.namespace)
    : canaryWeightOf(target.route, canarySubset);
  return {
    command: settings.command,
    namespace: target.namespace,
    virtualService: settings.virtualService,
    route: target.routeLabel,
    host: target.host,
    stableSubset,
    canarySubset,
    weightBefore,
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

/**
 * Reads a VirtualService the settings name (`name`, by default the first); a missing one is an
 * error naming the inputs.
 */
export async function readVirtualService(
  settings: Settings,
  cluster: Cluster,
  name = settings.virtualService,
): Promise<{ namespace: string; vs: VirtualService }> {
  const namespace = settings.namespace ?? cluster.defaultNamespace;
  const vs = await cluster.getVirtualService(namespace, name).catch((error: unknown) => {
    if (error instanceof NotFoundError) {
      throw new UserError(
        `VirtualService "${name}" was not found in namespace "${namespace}" (inputs "virtual-service" and "namespace").`,
      );
    }
    throw error;
  });
  return { namespace, vs };
}

/** What the inputs say about the rollout, for the check of a saved state (state/verify.ts). */
export function stateInputs(settings: Settings): StateInputs {
  const inputs: StateInputs = {};
  if (settings.route !== undefined) inputs.route = settings.route;
  if (settings.host !== undefined) inputs.host = settings.host;
  if (settings.stableSubset !== undefined) inputs.stableSubset = settings.stableSubset;
  if (settings.canarySubset !== undefined) inputs.canarySubset = settings.canarySubset;
  if (settings.stableHost !== undefined) inputs.stableHost = settings.stableHost;
  if (settings.canaryHost !== undefined) inputs.canaryHost = settings.canaryHost;
  if (settings.canaryMatch !== undefined) {
    inputs.testers = { match: settings.canaryMatch, weight: settings.canaryMatchWeight };
  }
  return inputs;
}

/**
 * Says which annotations under the prefix of `vs` this version does not know: they are left
 * alone, and a person should know they are there (another tool's, or a newer version's).
 */
export function reportForeignKeys(logger: Logger, vs: VirtualService): void {
  const keys = foreignKeys(vs.metadata.annotations);
  if (keys.length === 0) return;
  const name = `${vs.metadata.namespace ?? ''}/${vs.metadata.name}`;
  logger.info(
    `VirtualService ${quote(name)} has ${keys.length === 1 ? 'an annotation' : 'annotations'} ` +
      `under ${STATE_PREFIX} that this version does not know (${keys.map(quote).join(', ')}): ` +
      `left alone, neither read nor changed nor removed.`,
  );
}
