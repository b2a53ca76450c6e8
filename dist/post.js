import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  STATE_FINISHED,
  STATE_RUN_ID,
  STATE_STARTED,
  actionsLogger,
  createDeps,
  describe,
  failWith,
  getInput,
  getState,
  runSecrets
} from "./chunks/chunk-VQ6LX7GC.js";
import {
  checkRestorable,
  restoreRoutes,
  stateInputs
} from "./chunks/chunk-UNBSWFHG.js";
import {
  ExitGuard,
  parseSettings,
  protectStream
} from "./chunks/chunk-QDG3XEKM.js";
import {
  StateMismatchError
} from "./chunks/chunk-SEGWWIB7.js";

// src/github/post.ts
var POST_GRACE_MS = 3e4;
async function post() {
  protectStream(process.stdout);
  protectStream(process.stderr);
  const secrets = runSecrets();
  const logger = actionsLogger(secrets);
  const guard = new ExitGuard({
    controller: new AbortController(),
    warn: (line) => logger.warn(line),
    graceMs: POST_GRACE_MS
  }).install();
  await restoreIfUnfinished(secrets, logger);
  const code = await guard.finish(0);
  if (code !== 0) process.exitCode = code;
}
async function restoreIfUnfinished(secrets, logger) {
  if (getState(STATE_STARTED) !== "true" || getState(STATE_FINISHED) === "true") return;
  const runId = getState(STATE_RUN_ID);
  try {
    const settings = parseSettings((name) => getInput(name));
    if (settings.command !== "step" || settings.dryRun) return;
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
        `The main step did not finish: restored the original route of ${done.map((n) => `${namespace}/${n}`).join(", ")}.`
      );
    else
      logger.info(
        "The main step did not finish, but this run owns no rollout on the VirtualService: nothing to restore."
      );
  } catch (error) {
    if (error instanceof StateMismatchError) {
      failWith(error, logger, "The post step restored nothing. ");
      return;
    }
    logger.warn(
      `The post step could not restore the route: ${describe(error, logger)}. Run the rollback command.`
    );
  }
}

// src/github/post-index.ts
await post();
