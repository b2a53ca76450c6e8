import { hostname } from 'node:os';
import { errorLines, stackLines, UserError } from '../errors.ts';
import { createLiveRun } from '../live-deps.ts';
import type { Logger } from '../logger.ts';
import { writeHtmlReport } from '../report/html-file.ts';
import { REPORT_SCHEMA, writeJsonReport } from '../report/json.ts';
import { outputsOf } from '../report/outputs.ts';
import type { StageReport } from '../report/report.ts';
import { runCommand, succeeded } from '../rollout/run.ts';
import type { ParsedArgs } from './args.ts';
import { writeDotenv } from './dotenv.ts';
import { ACTION_ONLY } from './help.ts';
import { terminalLogger } from './logger.ts';
import { EXIT_FAILED, EXIT_OK, type CliIo, type Invocation } from './io.ts';
import { inCliTerms } from './messages.ts';
import type { Secrets } from '../config/secrets.ts';
import { jsonText } from '../escape/json.ts';

/**
 * Runs a parsed invocation against the cluster: the log for people (stdout, or stderr under
 * --output json), the report, the dotenv file. Returns 0 for success, 1 for a rolled-back or
 * failed rollout; never throws.
 */
export async function execute(parsed: Invocation, io: CliIo): Promise<number> {
  const { args, settings, secrets, limits } = parsed;
  const logger = terminalLogger(
    args.output === 'json' ? io.stderr : io.stdout,
    secrets,
    Boolean(io.env.ISTIO_CANARY_DEBUG),
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
      limits,
    });
    io.protect?.({ ...live.protection, redact: (text) => secrets.redact(text) });
    const report = await runCommand(settings, live.deps);
    return await finish(report, args, io, logger, secrets);
  } catch (error) {
    const [first = '', ...rest] = errorLines(error).map((line) => inCliTerms(line, args.sources));
    logger.error(first);
    for (const line of rest) logger.info(line);
    if (!(error instanceof UserError) && error instanceof Error && io.env.ISTIO_CANARY_DEBUG)
      for (const line of stackLines(error)) logger.debug(line);
    return EXIT_FAILED;
  }
}

/** Writes the report file, the dotenv file and the result; the exit code follows the outcome. */
async function finish(
  report: StageReport,
  args: ParsedArgs,
  io: CliIo,
  logger: Logger,
  secrets: Secrets,
): Promise<number> {
  const reportPath = await writeJsonReport(report, {
    dir: io.env.ISTIO_CANARY_REPORT_DIR || undefined,
    secrets,
  });
  const htmlPath = await writeHtmlBeside(report, reportPath, secrets, logger);
  const outputs = outputsOf(report, reportPath, htmlPath);
  if (args.dotenv) await writeDotenv(args.dotenv, outputs, secrets);
  if (htmlPath) logger.info(`HTML report: ${htmlPath}`);
  logger.info(
    `Result: ${report.outcome}${report.reason ? ` - ${report.reason}` : ''} (canary weight ${report.weightAfter}%; report ${reportPath}).`,
  );
  if (args.output === 'json') {
    const document = { schema: REPORT_SCHEMA, ...report, outputs };
    io.stdout(`${jsonText(secrets.redactDeep(document))}\n`);
  }
  return succeeded(report) && !io.signal.aborted ? EXIT_OK : EXIT_FAILED;
}

/**
 * The HTML report beside the JSON one, or '' with a warning when it cannot be written: the page
 * is for people, and the rollout's outcome and the JSON report stand without it.
 */
async function writeHtmlBeside(
  report: StageReport,
  jsonPath: string,
  secrets: Secrets,
  logger: Logger,
): Promise<string> {
  try {
    return await writeHtmlReport(report, { jsonPath, secrets });
  } catch (error) {
    logger.warn(`Could not write the HTML report: ${errorLines(error).join(' ')}`);
    return '';
  }
}

/** Names the job in the rollout state: GitLab's pipeline and job when there, else host and pid. */
export function cliRunId(env: NodeJS.ProcessEnv): string {
  if (env.ISTIO_CANARY_RUN_ID) return env.ISTIO_CANARY_RUN_ID;
  if (env.GITLAB_CI)
    return `gitlab:${env.CI_PROJECT_PATH ?? 'project'}/${env.CI_PIPELINE_ID ?? '?'}/${env.CI_JOB_ID ?? '?'}`;
  return `cli:${hostname()}/${process.pid}`;
}
