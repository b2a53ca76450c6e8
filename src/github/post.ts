import * as core from '@actions/core';
import type { Secrets } from '../config/secrets.ts';
import { parseSettings } from '../config/settings.ts';
import { ExitGuard } from '../exit-guard.ts';
import { StateMismatchError } from '../istio/state/mismatch.ts';
import { checkRestorable, restoreRoutes } from '../rollout/restore.ts';
import { stateInputs } from '../rollout/stage.ts';
import { protectStream } from '../sink.ts';
import { actionsLogger, type ActionsLogger } from './logger.ts';
import {
  createDeps,
  describe,
  failWith,
  runSecrets,
  STATE_FINISHED,
  STATE_RUN_ID,
  STATE_STARTED,
} from './main.ts';

/** The post step's restore is bounded by its calls' deadlines; a stray error must not cut it. */
const POST_GRACE_MS = 30_000;

/**
 * The action's post step: when main started but never finished (killed, runner lost the
 * process), restore the routes of the rollout that this run owns, on every VirtualService it
 * names. The run id is easy to guess, so the owner alone proves nothing: each state must also
 * explain its object and the inputs. When one does not, nothing is written and the step fails,
 * so that a person looks; any other problem only warns. A closed stdout drops lines; an uncaught
 * error or a signal lets the restore go on for its grace, then the process exits non-zero.
 */
export async function post(): Promise<void> {
  protectStream(process.stdout);
  protectStream(process.stderr);
  const secrets = runSecrets();
  const logger = actionsLogger(secrets);
  const guard = new ExitGuard({
    controller: new AbortController(),
    warn: (line) => logger.warn(line),
    graceMs: POST_GRACE_MS,
  }).install();
  await restoreIfUnfinished(secrets, logger);
  const code = await guard.finish(0);
  if (code !== 0) process.exitCode = code;
}

async function restoreIfUnfinished(secrets: Secrets, logger: ActionsLogger): Promise<void> {
  if (core.getState(STATE_STARTED) !== 'true' || core.getState(STATE_FINISHED) === 'true') return;
  const runId = core.getState(STATE_RUN_ID);
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
