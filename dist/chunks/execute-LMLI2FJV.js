import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  REPORT_SCHEMA,
  createLiveRun,
  jsonText,
  outputsOf,
  replaceAtomically,
  runCommand,
  succeeded,
  writeHtmlReport,
  writeJsonReport
} from "./chunk-UNBSWFHG.js";
import {
  ACTION_ONLY,
  EXIT_FAILED,
  EXIT_OK,
  inCliTerms,
  terminalLogger
} from "./chunk-QPKXIZZN.js";
import {
  UserError,
  errorLines,
  showControls,
  stackLines
} from "./chunk-SEGWWIB7.js";

// src/cli/execute.ts
import { hostname } from "node:os";

// src/cli/dotenv.ts
function dotenvName(output) {
  return `ISTIO_CANARY_OUTPUT_${output.toUpperCase().replace(/-/g, "_")}`;
}
function dotenvText(outputs, secrets) {
  const lines = Object.entries(outputs).map(
    ([name, value]) => `${dotenvName(name)}=${showControls(secrets.redact(value))}`
  );
  return `${lines.join("\n")}
`;
}
async function writeDotenv(path, outputs, secrets) {
  await replaceAtomically(path, dotenvText(outputs, secrets));
}

// src/cli/execute.ts
async function execute(parsed, io) {
  const { args, settings, secrets, limits } = parsed;
  const logger = terminalLogger(
    args.output === "json" ? io.stderr : io.stdout,
    secrets,
    Boolean(io.env.ISTIO_CANARY_DEBUG)
  );
  try {
    for (const name of ACTION_ONLY)
      if (args.inputs[name]) logger.warn(`--${name} is read by the GitHub Action only; ignored.`);
    settings.ignoredInputs = settings.ignoredInputs.map((m) => inCliTerms(m, args.sources));
    const live = createLiveRun({
      settings,
      logger,
      signal: io.signal,
      runId: cliRunId(io.env),
      secrets,
      limits
    });
    io.protect?.({ ...live.protection, redact: (text) => secrets.redact(text) });
    const report = await runCommand(settings, live.deps);
    return await finish(report, args, io, logger, secrets);
  } catch (error) {
    const [first = "", ...rest] = errorLines(error).map((line) => inCliTerms(line, args.sources));
    logger.error(first);
    for (const line of rest) logger.info(line);
    if (!(error instanceof UserError) && error instanceof Error && io.env.ISTIO_CANARY_DEBUG)
      for (const line of stackLines(error)) logger.debug(line);
    return EXIT_FAILED;
  }
}
async function finish(report, args, io, logger, secrets) {
  const reportPath = await writeJsonReport(report, {
    dir: io.env.ISTIO_CANARY_REPORT_DIR || void 0,
    secrets
  });
  const htmlPath = await writeHtmlBeside(report, reportPath, secrets, logger);
  const outputs = outputsOf(report, reportPath, htmlPath);
  if (args.dotenv) await writeDotenv(args.dotenv, outputs, secrets);
  if (htmlPath) logger.info(`HTML report: ${htmlPath}`);
  logger.info(
    `Result: ${report.outcome}${report.reason ? ` - ${report.reason}` : ""} (canary weight ${report.weightAfter}%; report ${reportPath}).`
  );
  if (args.output === "json") {
    const document = { schema: REPORT_SCHEMA, ...report, outputs };
    io.stdout(`${jsonText(secrets.redactDeep(document))}
`);
  }
  return succeeded(report) && !io.signal.aborted ? EXIT_OK : EXIT_FAILED;
}
async function writeHtmlBeside(report, jsonPath, secrets, logger) {
  try {
    return await writeHtmlReport(report, { jsonPath, secrets });
  } catch (error) {
    logger.warn(`Could not write the HTML report: ${errorLines(error).join(" ")}`);
    return "";
  }
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
