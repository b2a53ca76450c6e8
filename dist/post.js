import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  STATE_FINISHED,
  STATE_RUN_ID,
  STATE_STARTED,
  createDeps,
  describe,
  getInput,
  getState,
  info,
  warning
} from "./chunks/chunk-THASXI5D.js";
import {
  restoreRoute
} from "./chunks/chunk-5XUZ64YN.js";
import {
  parseSettings
} from "./chunks/chunk-LLZ3CGJU.js";
import "./chunks/chunk-7YP7M47S.js";

// src/github/post.ts
async function post() {
  if (getState(STATE_STARTED) !== "true" || getState(STATE_FINISHED) === "true") return;
  const runId = getState(STATE_RUN_ID);
  try {
    const settings = parseSettings((name) => getInput(name));
    if (settings.command !== "step" || settings.dryRun) return;
    const deps = createDeps(settings, new AbortController().signal, runId);
    const namespace = settings.namespace ?? deps.cluster.defaultNamespace;
    const { restored } = await restoreRoute(deps, namespace, settings.virtualService, runId);
    if (restored)
      warning(
        `The main step did not finish: restored the original route of ${namespace}/${settings.virtualService}.`
      );
    else
      info(
        "The main step did not finish, but this run owns no rollout on the VirtualService: nothing to restore."
      );
  } catch (error) {
    warning(
      `The post step could not restore the route: ${describe(error)}. Run the rollback command.`
    );
  }
}

// src/github/post-index.ts
await post();
