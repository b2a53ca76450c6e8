/**
 * A rollout's whole footprint: the VirtualServices it moves together (`virtual-service` as a
 * list) and the caller routes it pins on dependents. They are written stage by stage and undone
 * together: when any write fails, everything already written is restored before the error goes on.
 */
import type { Settings } from '../config/settings.ts';
import { NotFoundError } from '../errors.ts';
import { ownerKey, pinCallers, unpinCallers, type DependentSpec } from '../istio/dependents.ts';
import { applyStage, type StageEdit, type StageTarget } from '../istio/shaped-stage.ts';
import { ANNOTATIONS, type DependentRef } from '../istio/state/format.ts';
import { readRestorePoint } from '../istio/state/read.ts';
import { restoreOriginal } from '../istio/state/write.ts';
import type { VirtualService } from '../istio/types.ts';
import type { RolloutDeps } from './deps.ts';
import { hostWithSubsets, type SidePair, type Target } from './target.ts';
import { updateVirtualService } from './update.ts';

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
 * failure restores everything, then throws.
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
      await updateVirtualService(
        deps.cluster,
        plan.namespace,
        name,
        deps.logger,
        (current) => applyStage(current, edit).vs,
      );
    }
    await pinDependents(deps, plan);
  } catch (error) {
    deps.logger.error(
      `Writing the stage failed; restoring ${written.map((n) => `${plan.namespace}/${n}`).join(', ')} and the caller routes of dependents.`,
    );
    await restoreRoutes(deps, plan.namespace, written).catch((restoreError: unknown) => {
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
    await updateVirtualService(
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
    deps.logger.info(
      `Callers with labels ${describeLabels(plan.canaryPodLabels)} pinned to subset ${dependent.spec.canarySubset} of VirtualService ${dependent.ref.namespace}/${dependent.ref.name}.`,
    );
  }
}

/**
 * Restores every VirtualService of `names` (see restoreRoute), each even when another failed;
 * the first error is thrown after all were tried. True for each one that had a rollout to undo.
 */
export async function restoreRoutes(
  deps: RolloutDeps,
  namespace: string,
  names: readonly string[],
  owner?: string,
): Promise<boolean[]> {
  const restored: boolean[] = [];
  let failure: Error | undefined;
  for (const name of names) {
    try {
      restored.push((await restoreRoute(deps, namespace, name, owner)).restored);
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error));
      restored.push(false);
      deps.logger.error(`Could not restore VirtualService ${namespace}/${name}: ${String(error)}`);
    }
  }
  if (failure !== undefined) throw failure;
  return restored;
}

/**
 * Puts the saved original route back, byte for byte, and removes every trace of the rollout:
 * the routes it inserted, its annotations, and the caller routes it pinned on dependents.
 * Re-reads on conflict, so a concurrent edit elsewhere in the VirtualService survives.
 * With `owner`, restores only a rollout that this run started (the post step's rule).
 */
export async function restoreRoute(
  deps: RolloutDeps,
  namespace: string,
  name: string,
  owner?: string,
): Promise<{ restored: boolean; before: VirtualService; after: VirtualService }> {
  const result = await updateVirtualService(
    deps.cluster,
    namespace,
    name,
    deps.logger,
    (current) => {
      // Only what a restore needs is read strictly: a damaged weight or timestamp must not block it.
      const point = readRestorePoint(current);
      if (!point) return undefined;
      if (owner !== undefined && current.metadata.annotations?.[ANNOTATIONS.owner] !== owner)
        return undefined;
      return restoreOriginal(current, point);
    },
  );
  if (result.written) {
    await unpinDependents(deps, result.before, readRestorePoint(result.before)?.dependents ?? []);
  }
  return { restored: result.written, before: result.before, after: result.after };
}

/**
 * Removes the caller routes `owner` pinned on `dependents`. A dependent that is gone has
 * nothing left to remove.
 */
export async function unpinDependents(
  deps: RolloutDeps,
  owner: VirtualService,
  dependents: readonly DependentRef[],
): Promise<void> {
  const key = ownerKey(owner);
  for (const ref of dependents) {
    try {
      await updateVirtualService(deps.cluster, ref.namespace, ref.name, deps.logger, (current) =>
        unchangedOrUndefined(current, unpinCallers(current, key)),
      );
      deps.logger.info(`Caller routes removed from VirtualService ${ref.namespace}/${ref.name}.`);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      deps.logger.warn(`Dependent VirtualService ${ref.namespace}/${ref.name} no longer exists.`);
    }
  }
}

/** `next`, or undefined when it equals `current`: no write for a change that changes nothing. */
function unchangedOrUndefined(
  current: VirtualService,
  next: VirtualService,
): VirtualService | undefined {
  const same =
    JSON.stringify(next.spec) === JSON.stringify(current.spec) &&
    JSON.stringify(next.metadata.annotations) === JSON.stringify(current.metadata.annotations);
  return same ? undefined : next;
}

function describeLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
