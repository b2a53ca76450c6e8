import type { Settings } from '../config/settings.ts';
import type { WriteFence } from '../kube/write-fence.ts';
import type { RolloutDeps } from './deps.ts';
import { recordWrite, restoreRoutes, type StateLedger } from './restore.ts';
import { stateInputs } from './stage.ts';

/**
 * The restore of last resort, for a step whose own flow did not finish: stops the step's writes
 * (a stage write in flight lands first, so nothing re-applies the canary behind the restore),
 * then restores every VirtualService of the step that this run owns. A state as this run wrote
 * it is its own and restored as is; any other is checked like a rollback's. Returns a line for
 * the log.
 */
export async function emergencyRestore(
  settings: Settings,
  deps: RolloutDeps,
  fence: WriteFence,
): Promise<string> {
  await fence.close();
  const namespace = settings.namespace ?? fence.unfenced.defaultNamespace;
  const names = settings.virtualServices;
  const restored = await restoreRoutes({ ...deps, cluster: fence.unfenced }, namespace, names, {
    owner: deps.runId,
    inputs: stateInputs(settings),
    ledger: ledgerOf(fence),
  });
  const done = names.filter((_, i) => restored[i]).map((name) => `${namespace}/${name}`);
  return done.length > 0
    ? `Original route of ${done.join(', ')} restored; rollout state removed.`
    : 'This run had no rollout left to restore.';
}

/** What the run wrote itself, as a restore's ledger. */
function ledgerOf(fence: WriteFence): StateLedger {
  const ledger: StateLedger = new Map();
  for (const vs of fence.written()) recordWrite(ledger, vs);
  return ledger;
}
