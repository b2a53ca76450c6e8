import * as core from '@actions/core';
import { parseSettings } from '../config/settings.ts';
import { StateMismatchError } from '../istio/state/mismatch.ts';
import { checkRestorable, restoreRoutes } from '../rollout/restore.ts';
import { stateInputs } from '../rollout/stage.ts';
import { actionsLogger } from './logger.ts';
import {
  createDeps,
  describe,
  failWith,
  runSecrets,
  STATE_FINISHED,
  STATE_RUN_ID,
  STATE_STARTED,
} from './main.ts';

/**
 * The action's post step: when main started but never finished (killed, runner lost the
 * process), restore the routes of the rollout that this run owns, on every VirtualService it
 * names. The run id is easy to guess, so the owner alone proves nothing: each state must also
 * explain its object and the inputs. When one does not, nothing is written and the step fails,
 * so that a person looks; any other problem only warns.
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
    const options = { owner: runId, inputs: stateInputs(settings) };
    await checkRestorable(deps, namespace, names, options);
    const restored = await restoreRoutes(deps, namespace, names, options);
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
    if (error instanceof StateMismatchError) {
      failWith(error, logger, 'The post step restored nothing. ');
      return;
    }
    logger.warn(
      `The post step could not restore the route: ${describe(error, logger)}. Run the rollback command.`,
    );
  }
}
