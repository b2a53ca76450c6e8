import type { Settings } from '../config/settings.ts';
import type { WriteFence } from '../kube/write-fence.ts';
import type { RolloutDeps } from './deps.ts';
import { restoreRoutes } from './group.ts';

/**
 * The restore of last resort, for a step whose own flow did not finish: stops the step's writes
 * (a stage write in flight lands first, so nothing re-applies the canary behind the restore),
 * then restores every VirtualService of the step that this run owns. Returns a line for the log.
 */
export async function emergencyRestore(
  settings: Settings,
  deps: RolloutDeps,
  fence: WriteFence,
): Promise<string> {
  await fence.close();
  const namespace = settings.namespace ?? fence.unfenced.defaultNamespace;
  const names = settings.virtualServices;
  const restored = await restoreRoutes(
    { ...deps, cluster: fence.unfenced },
    namespace,
    names,
    deps.runId,
  );
  const done = names.filter((_, i) => restored[i]).map((name) => `${namespace}/${name}`);
  return done.length > 0
    ? `Original route of ${done.join(', ')} restored; rollout state removed.`
    : 'This run had no rollout left to restore.';
}
