import * as core from '@actions/core';
import { parseSettings } from '../config/settings.ts';
import { restoreRoutes } from '../rollout/group.ts';
import { actionsLogger } from './logger.ts';
import {
  createDeps,
  describe,
  runSecrets,
  STATE_FINISHED,
  STATE_RUN_ID,
  STATE_STARTED,
} from './main.ts';

/**
 * The action's post step: when main started but never finished (killed, runner lost the
 * process), restore the routes of the rollout that this run owns, on every VirtualService it
 * names. It only ever warns.
 */
export async function post(): Promise<void> {
  if (core.getState(STATE_STARTED) !== 'true' || core.getState(STATE_FINISHED) === 'true') return;
  const runId = core.getState(STATE_RUN_ID);
  const secrets = runSecrets();
  const logger = actionsLogger(secrets);
  try {
    const settings = parseSettings((name) => core.getInput(name));
    if (settings.command !== 'step' || settings.dryRun) return;
    const signal = new AbortController().signal;
    const deps = createDeps({ settings, signal, runId, secrets, logger });
    const namespace = settings.namespace ?? deps.cluster.defaultNamespace;
    const names = settings.virtualServices;
    const restored = await restoreRoutes(deps, namespace, names, runId);
    const done = names.filter((_, i) => restored[i]);
    if (done.length > 0)
      logger.warn(
        `The main step did not finish: restored the original route of ${done.map((n) => `${namespace}/${n}`).join(', ')}.`,
      );
    else
      logger.info(
        'The main step did not finish, but this run owns no rollout on the VirtualService: nothing to restore.',
      );
  } catch (error) {
    logger.warn(
      `The post step could not restore the route: ${describe(error, logger)}. Run the rollback command.`,
    );
  }
}
