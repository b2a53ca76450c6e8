/**
 * Undoing a rollout from its saved state: the VirtualServices it moved and the caller routes it
 * pinned on dependents. The state comes from the cluster, so every restore first checks that it
 * explains the object (istio/state/verify.ts); only a state this very job wrote, found as it left
 * it, is trusted without a check, so that a job can always take back its own stage.
 */
import { NotFoundError } from '../errors.ts';
import { checkCallerRoutes, ownerKey, unpinCallers } from '../istio/dependents.ts';
import { rollbackStage } from '../istio/shaped-stage.ts';
import { ANNOTATIONS, type DependentRef } from '../istio/state/format.ts';
import { combinedMismatch, StateMismatchError } from '../istio/state/mismatch.ts';
import { hasState, readRestorePoint, stateFingerprint } from '../istio/state/read.ts';
import type { StateInputs } from '../istio/state/verify.ts';
import type { VirtualService } from '../istio/types.ts';
import type { RolloutDeps } from './deps.ts';
import { unchangedOrUndefined, updateVirtualService } from './update.ts';

/**
 * What one job wrote, by `namespace/name`: the tool's annotations on each object right after the
 * job's last write to it (see stateFingerprint).
 */
export type StateLedger = Map<string, string>;

/** Records `vs`, as the API server returned it after a write of this job, in `ledger`. */
export function recordWrite(ledger: StateLedger, vs: VirtualService): void {
  ledger.set(keyOf(vs), stateFingerprint(vs));
}

function trusts(ledger: StateLedger | undefined, vs: VirtualService): boolean {
  return ledger?.get(keyOf(vs)) === stateFingerprint(vs);
}

function keyOf(vs: VirtualService): string {
  return `${vs.metadata.namespace ?? ''}/${vs.metadata.name}`;
}

/** How a restore decides what to act on. */
export interface RestoreOptions {
  /** Restore only a rollout that this run owns (the post step's rule). */
  owner?: string;
  /** The inputs of the command; each one given must agree with the state. */
  inputs?: StateInputs;
  /** What this job wrote itself: a state found as the job left it is restored unchecked. */
  ledger?: StateLedger;
}

/**
 * Checks, writing nothing, that every state a restore of `names` would act on explains its
 * object: each VirtualService's own state and the caller routes it recorded on its dependents.
 * One StateMismatchError for all that do not, so that a rollback writes nothing at all rather
 * than half of the rollout.
 */
export async function checkRestorable(
  deps: RolloutDeps,
  namespace: string,
  names: readonly string[],
  options: RestoreOptions = {},
): Promise<void> {
  const failed: StateMismatchError[] = [];
  const attempt = (check: () => void): void => {
    try {
      check();
    } catch (error) {
      if (!(error instanceof StateMismatchError)) throw error;
      failed.push(error);
    }
  };
  for (const name of names) {
    const vs = await deps.cluster.getVirtualService(namespace, name);
    if (!actsOn(vs, options)) continue;
    attempt(() => rollbackStage(vs, options.inputs));
    for (const ref of readRestorePoint(vs)?.dependents ?? []) {
      const dependent = await getIfExists(deps, ref);
      if (dependent) attempt(() => checkCallerRoutes(dependent, ownerKey(vs)));
    }
  }
  if (failed.length > 0) throw combinedMismatch(failed);
}

/** Whether a restore with `options` acts on `vs`: it has a rollout state, of the owner asked for. */
function actsOn(vs: VirtualService, options: RestoreOptions): boolean {
  if (!hasState(vs)) return false;
  return (
    options.owner === undefined || vs.metadata.annotations?.[ANNOTATIONS.owner] === options.owner
  );
}

async function getIfExists(
  deps: RolloutDeps,
  ref: DependentRef,
): Promise<VirtualService | undefined> {
  try {
    return await deps.cluster.getVirtualService(ref.namespace, ref.name);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
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
  options: RestoreOptions = {},
): Promise<boolean[]> {
  const restored: boolean[] = [];
  let failure: Error | undefined;
  for (const name of names) {
    try {
      restored.push((await restoreRoute(deps, namespace, name, options)).restored);
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
 * the routes it inserted, its annotations, and the caller routes it pinned on dependents, once
 * the state explains the object (on every read, conflicts included). Re-reads on conflict, so
 * a concurrent edit elsewhere in the VirtualService survives.
 */
export async function restoreRoute(
  deps: RolloutDeps,
  namespace: string,
  name: string,
  options: RestoreOptions = {},
): Promise<{ restored: boolean; before: VirtualService; after: VirtualService }> {
  let dependents: DependentRef[] = [];
  const result = await updateVirtualService(
    deps.cluster,
    namespace,
    name,
    deps.logger,
    (current) => {
      if (!actsOn(current, options)) return undefined;
      const undone = rollbackStage(current, options.inputs, trusts(options.ledger, current));
      dependents = undone?.dependents ?? [];
      return undone?.vs;
    },
  );
  if (result.written) await unpinDependents(deps, result.before, dependents, options.ledger);
  return { restored: result.written, before: result.before, after: result.after };
}

/**
 * Removes the caller routes `owner` pinned on `dependents`, each once it is checked to be one
 * (unless `ledger` shows this job left the record so). A dependent that is gone has nothing
 * left to remove.
 */
export async function unpinDependents(
  deps: RolloutDeps,
  owner: VirtualService,
  dependents: readonly DependentRef[],
  ledger?: StateLedger,
): Promise<void> {
  const key = ownerKey(owner);
  for (const ref of dependents) {
    try {
      await updateVirtualService(deps.cluster, ref.namespace, ref.name, deps.logger, (current) =>
        unchangedOrUndefined(
          current,
          unpinCallers(current, key, { trusted: trusts(ledger, current) }),
        ),
      );
      deps.logger.info(`Caller routes removed from VirtualService ${ref.namespace}/${ref.name}.`);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      deps.logger.warn(`Dependent VirtualService ${ref.namespace}/${ref.name} no longer exists.`);
    }
  }
}
