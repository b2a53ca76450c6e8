import * as core from '@actions/core';
import { parseSettings } from '../config/settings.ts';
import { restoreRoute } from '../rollout/rollback.ts';
import { createDeps, describe, STATE_FINISHED, STATE_RUN_ID, STATE_STARTED } from './main.ts';

/**
 * The action's post step: when main started but never finished (killed, runner lost the
 * process), restore the route of the rollout that this run owns. It only ever warns.
 */
export async function post(): Promise<void> {
  if (core.getState(STATE_STARTED) !== 'true' || core.getState(STATE_FINISHED) === 'true') return;
  const runId = core.getState(STATE_RUN_ID);
  try {
    const settings = parseSettings((name) => core.getInput(name));
    if (settings.command !== 'step' || settings.dryRun) return;
    const deps = createDeps(settings, new AbortController().signal, runId);
    const namespace = settings.namespace ?? deps.cluster.defaultNamespace;
    const { restored } = await restoreRoute(deps, namespace, settings.virtualService, runId);
    if (restored)
      core.warning(
        `The main step did not finish: restored the original route of ${namespace}/${settings.virtualService}.`,
      );
    else
      core.info(
        'The main step did not finish, but this run owns no rollout on the VirtualService: nothing to restore.',
      );
  } catch (error) {
    core.warning(
      `The post step could not restore the route: ${describe(error)}. Run the rollback command.`,
    );
  }
}
