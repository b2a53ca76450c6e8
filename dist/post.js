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
} from "./chunks/chunk-CSOBGGRG.js";
import {
  restoreRoutes
} from "./chunks/chunk-BJRCJVXL.js";
import {
  parseSettings
} from "./chunks/chunk-DVVOOAVP.js";
import "./chunks/chunk-6P75CZHU.js";

// src/github/post.ts
async function post() {
  if (getState(STATE_STARTED) !== "true" || getState(STATE_FINISHED) === "true") return;
  const runId = getState(STATE_RUN_ID);
  try {
    const settings = parseSettings((name) => getInput(name));
    if (settings.command !== "step" || settings.dryRun) return;
    const deps = createDeps(settings, new AbortController().signal, runId);
    const namespace = settings.namespace ?? deps.cluster.defaultNamespace;
    const names = settings.virtualServices;
    const restored = await restoreRoutes(deps, namespace, names, runId);
    const done = names.filter((_, i) => restored[i]);
    if (done.length > 0)
      warning(
        `The main step did not finish: restored the original route of ${done.map((n) => `${namespace}/${n}`).join(", ")}.`
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
