import * as core from '@actions/core';
import { parseSettings } from '../config/settings.ts';
import { ExitGuard } from '../exit-guard.ts';
import { restoreRoutes } from '../rollout/group.ts';
import { protectStream } from '../sink.ts';
import { createDeps, describe, STATE_FINISHED, STATE_RUN_ID, STATE_STARTED } from './main.ts';

/** The post step's restore is bounded by its calls' deadlines; a stray error must not cut it. */
const POST_GRACE_MS = 30_000;

/**
 * The action's post step: when main started but never finished (killed, runner lost the
 * process), restore the routes of the rollout that this run owns, on every VirtualService it
 * names. It only ever warns. A closed stdout drops lines; an uncaught error or a signal lets the
 * restore go on for its grace, then the process exits non-zero.
 */
export async function post(): Promise<void> {
  protectStream(process.stdout);
  protectStream(process.stderr);
  const guard = new ExitGuard({
    controller: new AbortController(),
    warn: (line) => core.warning(line),
    graceMs: POST_GRACE_MS,
  }).install();
  await restoreIfUnfinished();
  const code = await guard.finish(0);
  if (code !== 0) process.exitCode = code;
}

async function restoreIfUnfinished(): Promise<void> {
  if (core.getState(STATE_STARTED) !== 'true' || core.getState(STATE_FINISHED) === 'true') return;
  const runId = core.getState(STATE_RUN_ID);
  try {
    const settings = parseSettings((name) => core.getInput(name));
    if (settings.command !== 'step' || settings.dryRun) return;
    const deps = createDeps(settings, new AbortController().signal, runId);
    const namespace = settings.namespace ?? deps.cluster.defaultNamespace;
    const names = settings.virtualServices;
    const restored = await restoreRoutes(deps, namespace, names, runId);
    const done = names.filter((_, i) => restored[i]);
    if (done.length > 0)
      core.warning(
        `The main step did not finish: restored the original route of ${done.map((n) => `${namespace}/${n}`).join(', ')}.`,
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
