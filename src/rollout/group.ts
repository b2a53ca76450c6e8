/**
 * A rollout's whole footprint: the VirtualServices it moves together (`virtual-service` as a
 * list) and the caller routes it pins on dependents. They are written stage by stage and undone
 * together: when any write fails, everything already written is restored before the error goes on.
 */
import type { Settings } from '../config/settings.ts';
import { NotFoundError } from '../errors.ts';
import { ownerKey, pinCallers, type DependentSpec } from '../istio/dependents.ts';
import { applyStage, type StageEdit, type StageTarget } from '../istio/shaped-stage.ts';
import type { DependentRef } from '../istio/state/format.ts';
import type { VirtualService } from '../istio/types.ts';
import type { RolloutDeps } from './deps.ts';
import { recordWrite, restoreRoutes, type StateLedger } from './restore.ts';
import { hostWithSubsets, type SidePair, type Target } from './target.ts';
import { unchangedOrUndefined, updateVirtualService } from './update.ts';

/** A dependent of the `dependents` input, with where it lives and the host its subsets belong to. */
export interface ResolvedDependent {
  spec: DependentSpec;
  ref: DependentRef;
  /** The VirtualService as preflight read it, to check the caller route can be built. */
  current: VirtualService;
  /** The host whose DestinationRule defines its subsets, when that singles one out. */
  host?: string;
}

/** What every stage of the job writes, resolved once in preflight. */
export interface StagePlan {
  namespace: string;
  /** One per VirtualService, in input order; the first owns the dependents' caller routes. */
  targets: Target[];
  pair: SidePair;
  /** Pod labels of the canary's pods (Service selector plus subset labels): the callers to pin. */
  canaryPodLabels: Record<string, string>;
  dependents: ResolvedDependent[];
  /** What this job wrote so far; its own restores trust a state they find as it left it. */
  ledger: StateLedger;
}

/** Resolves the dependents' namespaces and hosts; reading each checks that it exists. */
export async function resolveDependents(
  settings: Settings,
  deps: RolloutDeps,
  namespace: string,
): Promise<ResolvedDependent[]> {
  const resolved: ResolvedDependent[] = [];
  for (const spec of settings.dependents) {
    const ref = { namespace: spec.namespace ?? namespace, name: spec.virtualService };
    const vs = await deps.cluster.getVirtualService(ref.namespace, ref.name).catch((e: unknown) => {
      if (e instanceof NotFoundError) {
        throw new NotFoundError(
          `Input "dependents": VirtualService "${ref.name}" was not found in namespace "${ref.namespace}".`,
        );
      }
      throw e;
    });
    const host =
      spec.route === undefined
        ? await hostWithSubsets(deps.cluster, vs, ref.namespace, spec.stableSubset)
        : undefined;
    resolved.push({ spec, ref, host, current: vs });
  }
  return resolved;
}

/**
 * Writes one stage: every VirtualService at `weight` (with the tester route and mirror the
 * settings ask for), then the caller routes of the dependents. The owner records the dependents
 * before they are pinned, so a crash in between leaves nothing a rollback cannot find. Any
 * failure restores everything, then throws. Each write is recorded in the plan's ledger.
 */
export async function writeStage(
  settings: Settings,
  deps: RolloutDeps,
  plan: StagePlan,
  weight: number,
): Promise<void> {
  const written: string[] = [];
  try {
    for (const [i, target] of plan.targets.entries()) {
      const name = target.vs.metadata.name;
      written.push(name);
      const edit = stageEdit(settings, deps, plan, target, weight, i === 0);
      const result = await updateVirtualService(
        deps.cluster,
        plan.namespace,
        name,
        deps.logger,
        (current) => applyStage(current, edit).vs,
      );
      recordWrite(plan.ledger, result.after);
    }
    await pinDependents(deps, plan);
  } catch (error) {
    deps.logger.error(
      `Writing the stage failed; restoring ${written.map((n) => `${plan.namespace}/${n}`).join(', ')} and the caller routes of dependents.`,
    );
    const restore = restoreRoutes(deps, plan.namespace, written, { ledger: plan.ledger });
    await restore.catch((restoreError: unknown) => {
      deps.logger.error(`Restoring after the failed write failed too: ${String(restoreError)}`);
    });
    throw error;
  }
}

/** The edit of one VirtualService at one stage; `owner` for the first, which records the dependents. */
export function stageEdit(
  settings: Settings,
  deps: RolloutDeps,
  plan: StagePlan,
  target: Target,
  weight: number,
  owner: boolean,
): StageEdit {
  const edit: StageEdit = {
    target: stageTarget(settings, plan.pair, target),
    weight,
    owner: deps.runId,
    now: deps.clock.now(),
  };
  if (settings.canaryMatch) {
    edit.testers = { match: settings.canaryMatch, weight: settings.canaryMatchWeight };
  }
  if (settings.mirrorPercent !== undefined) edit.mirrorPercent = settings.mirrorPercent;
  if (owner && plan.dependents.length > 0) edit.dependents = plan.dependents.map((d) => d.ref);
  return edit;
}

function stageTarget(settings: Settings, pair: SidePair, target: Target): StageTarget {
  if (pair.kind === 'hosts') {
    return {
      kind: 'hosts',
      route: settings.route,
      stableHost: pair.stable,
      canaryHost: pair.canary,
    };
  }
  return {
    kind: 'subsets',
    route: settings.route,
    host: target.host,
    stableSubset: pair.stable,
    canarySubset: pair.canary,
  };
}

async function pinDependents(deps: RolloutDeps, plan: StagePlan): Promise<void> {
  if (plan.dependents.length === 0) return;
  const owner = ownerKey(plan.targets[0].vs);
  for (const dependent of plan.dependents) {
    const result = await updateVirtualService(
      deps.cluster,
      dependent.ref.namespace,
      dependent.ref.name,
      deps.logger,
      (current) =>
        unchangedOrUndefined(
          current,
          pinCallers(current, {
            owner,
            dependent: dependent.spec,
            sourceLabels: plan.canaryPodLabels,
            host: dependent.host,
          }),
        ),
    );
    recordWrite(plan.ledger, result.after);
    deps.logger.info(
      `Callers with labels ${describeLabels(plan.canaryPodLabels)} pinned to subset ${dependent.spec.canarySubset} of VirtualService ${dependent.ref.namespace}/${dependent.ref.name}.`,
    );
  }
}

function describeLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
