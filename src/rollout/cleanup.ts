/**
 * `cleanup: true` after a promotion: the old subset leaves the DestinationRule once nothing
 * routes to it, the step the canary guides take before the old Deployment is deleted. The
 * Deployments themselves are never touched: deleting them is the user's decision. The traffic
 * has already moved when this runs, so nothing here fails the promotion: a subset that is still
 * routed to, or a write that does not go through, is reported and left as it is.
 *
 * A VirtualService in any namespace can route to the subset (a destination host names a Service
 * anywhere in the mesh), so the decision is made on every VirtualService of the cluster. When the
 * credentials may not list them across namespaces, the subset is kept: removing it on a partial
 * view could cut off another team's traffic, and the outcome says which permission is missing.
 */
import { ForbiddenError } from '../errors.ts';
import { removeSubset, subsetUses, type SubsetUse } from '../istio/cleanup.ts';
import { objectLabel } from '../istio/names.ts';
import type { DestinationRule, VirtualService } from '../istio/types.ts';
import type { Cluster } from '../kube/cluster.ts';
import type { Logger } from '../logger.ts';
import { updateDestinationRule } from './update.ts';

/** What to clean up: the old subset of the DestinationRule preflight resolved. */
export interface CleanupRequest {
  /** The DestinationRule as preflight read it; it is read again before the write. */
  destinationRule: DestinationRule;
  /** The old (stable) subset. */
  subset: string;
  /** Namespace of the rollout's VirtualServices. */
  namespace: string;
}

/**
 * How the clean-up ended: `removed` (or, in a dry run, would be), `absent` (already gone),
 * `kept` (a route still sends traffic to it, or the cluster's VirtualServices could not all be
 * read) or `failed` (a read or the write failed).
 */
export interface CleanupOutcome {
  result: 'removed' | 'absent' | 'kept' | 'failed';
  /** The outcome in one sentence, naming the subset, the DestinationRule and any route in the way. */
  sentence: string;
}

/** What a dry run shows: the outcome, and the DestinationRule before and after. */
export interface CleanupPlan {
  outcome: CleanupOutcome;
  before: DestinationRule;
  after: DestinationRule;
}

/** The decision on one version of the DestinationRule, given the VirtualServices that may route to it. */
interface Decision {
  result: 'removed' | 'absent' | 'kept';
  next?: DestinationRule;
  uses: SubsetUse[];
  /** Kept because the cluster's VirtualServices could not all be listed: why. */
  unchecked?: string;
}

/** Every VirtualService of the cluster, or why they could not all be listed. */
type Routing = { virtualServices: VirtualService[] } | { unchecked: string };

/**
 * Removes the old subset after the promotion was written: lists the VirtualServices of every
 * namespace, and when none routes to the subset any more writes the DestinationRule
 * without it (conditional PUT; on a conflict the same removal is applied to a fresh read). Logs
 * the outcome; never throws.
 */
export async function removeOldSubset(
  cluster: Cluster,
  logger: Logger,
  request: CleanupRequest,
): Promise<CleanupOutcome> {
  const { namespace, name } = ruleRef(request);
  try {
    const routing = await listRouting(cluster);
    let decision: Decision = { result: 'absent', uses: [] };
    await updateDestinationRule(cluster, namespace, name, logger, (current) => {
      decision = decide(current, request.subset, routing);
      return decision.next;
    });
    return report(logger, outcomeOf(decision, request, false));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return report(logger, {
      result: 'failed',
      sentence:
        `Clean-up did not finish: ${message}. The promotion stands; remove subset ` +
        `"${request.subset}" from ${label(request)} once nothing routes to it.`,
    });
  }
}

/**
 * The dry run of removeOldSubset: the VirtualServices as the promotion would leave them
 * (`promoted` replacing the ones it writes), the DestinationRule as it would be. Writes nothing.
 */
export async function planOldSubsetRemoval(
  cluster: Cluster,
  request: CleanupRequest,
  promoted: readonly VirtualService[],
): Promise<CleanupPlan> {
  const routing = await listRouting(cluster);
  const key = (vs: VirtualService) => `${vs.metadata.namespace ?? ''}/${vs.metadata.name}`;
  const replaced = new Map(promoted.map((vs) => [key(vs), vs]));
  const seen =
    'virtualServices' in routing
      ? { virtualServices: routing.virtualServices.map((vs) => replaced.get(key(vs)) ?? vs) }
      : routing;
  const before = request.destinationRule;
  const decision = decide(before, request.subset, seen);
  return {
    outcome: outcomeOf(decision, request, true),
    before,
    after: decision.next ?? before,
  };
}

/**
 * Every VirtualService of the cluster (any of them could route to the subset), or, when the
 * credentials may not list them across namespaces, why the clean-up cannot check.
 */
async function listRouting(cluster: Cluster): Promise<Routing> {
  try {
    return { virtualServices: await cluster.listAllVirtualServices() };
  } catch (error) {
    if (!(error instanceof ForbiddenError)) throw error;
    return {
      unchecked:
        'the credentials may not list VirtualServices in all namespaces, so a route in another ' +
        'namespace could still send traffic to it. Grant "list" on virtualservices ' +
        '(networking.istio.io) at the cluster scope (a ClusterRole with a ClusterRoleBinding, ' +
        'as examples/rbac.yaml shows) to let the clean-up check',
    };
  }
}

function decide(current: DestinationRule, subset: string, routing: Routing): Decision {
  if (!(current.spec.subsets ?? []).some((s) => s.name === subset)) {
    return { result: 'absent', uses: [] };
  }
  if ('unchecked' in routing) return { result: 'kept', uses: [], unchecked: routing.unchecked };
  const uses = subsetUses(current, subset, routing.virtualServices);
  if (uses.length > 0) return { result: 'kept', uses };
  return {
    result: 'removed',
    next: removeSubset(current, subset, routing.virtualServices).destinationRule,
    uses,
  };
}

function outcomeOf(decision: Decision, request: CleanupRequest, dryRun: boolean): CleanupOutcome {
  const subset = `subset "${request.subset}"`;
  const rule = label(request);
  switch (decision.result) {
    case 'removed':
      return {
        result: 'removed',
        sentence: dryRun
          ? `Clean-up would remove ${subset} from ${rule}: no VirtualService in any namespace routes to it after the promotion. Deployments are left as they are.`
          : `Removed ${subset} from ${rule}: no VirtualService in any namespace routes to it any more. Its Deployments are left running; delete them when you are ready.`,
      };
    case 'absent':
      return {
        result: 'absent',
        sentence: `${rule} has no ${subset} any more: nothing to clean up.`,
      };
    case 'kept': {
      if (decision.unchecked !== undefined) {
        return {
          result: 'kept',
          sentence:
            `${dryRun ? 'Clean-up would keep' : 'Kept'} ${subset} in ${rule}: ${decision.unchecked}. ` +
            'Remove the subset by hand once nothing routes to it.',
        };
      }
      const routes = decision.uses.map((u) => `${u.where} of VirtualService "${u.virtualService}"`);
      return {
        result: 'kept',
        sentence:
          `${dryRun ? 'Clean-up would keep' : 'Kept'} ${subset} in ${rule}: ${routes.join('; ')} ` +
          `still sends traffic to it. Change that route, then remove the subset.`,
      };
    }
  }
}

function report(logger: Logger, outcome: CleanupOutcome): CleanupOutcome {
  if (outcome.result === 'kept' || outcome.result === 'failed') logger.warn(outcome.sentence);
  else logger.info(outcome.sentence);
  return outcome;
}

/** Where the DestinationRule lives; an object read from the API server always says. */
function ruleRef(request: CleanupRequest): { namespace: string; name: string } {
  const { metadata } = request.destinationRule;
  return { namespace: metadata.namespace ?? request.namespace, name: metadata.name };
}

function label(request: CleanupRequest): string {
  return objectLabel('DestinationRule', ruleRef(request));
}
