import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  REPORT_SCHEMA,
  createLiveDeps,
  outputsOf,
  runCommand,
  succeeded,
  writeJsonReport
} from "./chunk-BJRCJVXL.js";
import {
  ACTION_ONLY,
  EXIT_FAILED,
  EXIT_OK,
  inCliTerms
} from "./chunk-SHFKMMID.js";
import {
  UserError,
  redact
} from "./chunk-6P75CZHU.js";

// src/cli/execute.ts
import { hostname } from "node:os";

// src/cli/dotenv.ts
import { rename, rm, writeFile } from "node:fs/promises";
function dotenvName(output) {
  return `ISTIO_CANARY_OUTPUT_${output.toUpperCase().replace(/-/g, "_")}`;
}
function dotenvText(outputs) {
  const lines = Object.entries(outputs).map(
    ([name, value]) => `${dotenvName(name)}=${value.replace(/\r?\n/g, " ")}`
  );
  return `${lines.join("\n")}
`;
}
async function writeDotenv(path, outputs) {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temp, dotenvText(outputs));
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

// src/cli/logger.ts
function terminalLogger(write, secrets, debug = false) {
  const line = (text) => write(`${redact(text, secrets)}
`);
  return {
    info: line,
    warn: (message) => line(`warning: ${message}`),
    error: (message) => line(`error: ${message}`),
    debug: (message) => {
      if (debug) line(`debug: ${message}`);
    },
    async group(title, fn) {
      line(`== ${title}`);
      return fn();
    }
  };
}

// src/cli/execute.ts
async function execute(parsed, io) {
  const { args, settings, secrets } = parsed;
  const logger = terminalLogger(
    args.output === "json" ? io.stderr : io.stdout,
    secrets,
    Boolean(io.env.ISTIO_CANARY_DEBUG)
  );
  try {
    for (const name of ACTION_ONLY)
      if (args.inputs[name]) logger.warn(`--${name} is read by the GitHub Action only; ignored.`);
    const report = await runCommand(
      settings,
      createLiveDeps({ settings, logger, signal: io.signal, runId: cliRunId(io.env) })
    );
    return await finish(report, args, io, logger, secrets);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.error(inCliTerms(message, args.sources));
    if (!(error instanceof UserError) && error instanceof Error && io.env.ISTIO_CANARY_DEBUG)
      logger.debug(error.stack ?? "");
    return EXIT_FAILED;
  }
}
async function finish(report, args, io, logger, secrets) {
  const reportPath = await writeJsonReport(report, io.env.ISTIO_CANARY_REPORT_DIR || void 0);
  const outputs = outputsOf(report, reportPath);
  if (args.dotenv) await writeDotenv(args.dotenv, outputs);
  logger.info(
    `Result: ${report.outcome}${report.reason ? ` - ${report.reason}` : ""} (canary weight ${report.weightAfter}%; report ${reportPath}).`
  );
  if (args.output === "json") {
    const document = { schema: REPORT_SCHEMA, ...report, outputs };
    io.stdout(`${redact(JSON.stringify(document, null, 2), secrets)}
`);
  }
  return succeeded(report) && !io.signal.aborted ? EXIT_OK : EXIT_FAILED;
}
function cliRunId(env) {
  if (env.ISTIO_CANARY_RUN_ID) return env.ISTIO_CANARY_RUN_ID;
  if (env.GITLAB_CI)
    return `gitlab:${env.CI_PROJECT_PATH ?? "project"}/${env.CI_PIPELINE_ID ?? "?"}/${env.CI_JOB_ID ?? "?"}`;
  return `cli:${hostname()}/${process.pid}`;
}
export {
  cliRunId,
  execute
};
