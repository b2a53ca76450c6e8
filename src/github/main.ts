import * as core from '@actions/core';
import { callLimits } from '../config/deadlines.ts';
import { parseSettings, type Settings } from '../config/settings.ts';
import { inputSecrets, kubeconfigSecrets, Secrets } from '../config/secrets.ts';
import { INPUTS } from '../config/inputs.ts';
import { errorLines, stackLines, UserError } from '../errors.ts';
import { ExitGuard } from '../exit-guard.ts';
import { createLiveDeps, createLiveRun } from '../live-deps.ts';
import { writeHtmlReport } from '../report/html-file.ts';
import { writeJsonReport } from '../report/json.ts';
import { outputsOf } from '../report/outputs.ts';
import type { StageReport } from '../report/report.ts';
import { renderSummary } from '../report/summary.ts';
import type { RolloutDeps } from '../rollout/deps.ts';
import { runCommand, succeeded } from '../rollout/run.ts';
import { protectStream } from '../sink.ts';
import { postCommitStatus } from './commit-status.ts';
import { actionsLogger, maskWithRunner, type ActionsLogger } from './logger.ts';
import { githubRunId } from './run-id.ts';

/** State keys shared with the post step. */
export const STATE_STARTED = 'main-started';
export const STATE_FINISHED = 'main-finished';
export const STATE_RUN_ID = 'run-id';

/**
 * The action's main step. Every failure ends in `setFailed`; user errors without a stack. A
 * closed stdout drops log lines; signals, uncaught errors and the step's deadline restore the
 * route before the process exits (see ExitGuard).
 */
export async function run(): Promise<void> {
  protectStream(process.stdout);
  protectStream(process.stderr);
  const controller = new AbortController();
  const secrets = runSecrets();
  const logger = actionsLogger(secrets);
  const guard = new ExitGuard({ controller, warn: (line) => logger.warn(line) }).install();
  try {
    const settings = parseSettings((name) => core.getInput(name));
    const limits = callLimits(process.env);
    const runId = githubRunId(process.env);
    core.saveState(STATE_RUN_ID, runId);
    core.saveState(STATE_STARTED, 'true');
    const live = createLiveRun({
      settings,
      logger,
      signal: controller.signal,
      runId,
      secrets,
      limits,
    });
    guard.protect({ ...live.protection, redact: (text) => secrets.redact(text) });
    const report = await runCommand(settings, live.deps);
    await publish(settings, report, secrets, logger);
    if (controller.signal.aborted) process.exitCode = 1;
  } catch (error) {
    failWith(error, logger);
  } finally {
    core.saveState(STATE_FINISHED, 'true');
  }
  const code = await guard.finish(process.exitCode === undefined ? 0 : Number(process.exitCode));
  if (code !== 0) process.exitCode = code;
}

/** Cluster and Prometheus clients on the real clock, logging to the runner. */
export function createDeps(options: {
  settings: Settings;
  signal: AbortSignal;
  runId: string;
  secrets: Secrets;
  logger: ActionsLogger;
}): RolloutDeps {
  return createLiveDeps({ ...options, limits: callLimits(process.env) });
}

/**
 * Every sink gets the secrets: the report file, the outputs, the summary and the commit status
 * redact with them (the runner masks only what it prints).
 */
async function publish(
  settings: Settings,
  report: StageReport,
  secrets: Secrets,
  logger: ActionsLogger,
): Promise<void> {
  const reportPath = await writeJsonReport(report, {
    dir: process.env.RUNNER_TEMP || undefined,
    secrets,
  });
  const htmlPath = await writeHtml(report, reportPath, secrets, logger);
  for (const [name, value] of Object.entries(outputsOf(report, reportPath, htmlPath)))
    core.setOutput(name, secrets.redact(value));
  if (process.env.GITHUB_STEP_SUMMARY) {
    try {
      const files = htmlPath ? { htmlReport: htmlPath } : {};
      await core.summary.addRaw(renderSummary(report, secrets, files), true).write();
    } catch (error) {
      logger.warn(`Could not write the job summary: ${describe(error, logger)}`);
    }
  }
  if (settings.githubToken) await postStatus(settings.githubToken, report, secrets, logger);
  if (!succeeded(report)) logger.fail(report.reason ?? `The canary was rolled back.`);
}

/**
 * The HTML report beside the JSON one, or '' with a warning: the page is for people, and the
 * step's outcome stands without it. The action uploads nothing; the summary says where it is.
 */
async function writeHtml(
  report: StageReport,
  jsonPath: string,
  secrets: Secrets,
  logger: ActionsLogger,
): Promise<string> {
  try {
    return await writeHtmlReport(report, { jsonPath, secrets });
  } catch (error) {
    logger.warn(`Could not write the HTML report: ${describe(error, logger)}`);
    return '';
  }
}

async function postStatus(
  token: string,
  report: StageReport,
  secrets: Secrets,
  logger: ActionsLogger,
): Promise<void> {
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? '').split('/');
  const sha = process.env.GITHUB_SHA;
  if (!owner || !repo || !sha) {
    logger.warn(
      'github-token is set but GITHUB_REPOSITORY or GITHUB_SHA is missing: no commit status posted.',
    );
    return;
  }
  const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
  await postCommitStatus({
    token,
    owner,
    repo,
    sha,
    report,
    baseUrl: process.env.GITHUB_API_URL,
    targetUrl: process.env.GITHUB_RUN_ID
      ? `${server}/${owner}/${repo}/actions/runs/${process.env.GITHUB_RUN_ID}`
      : undefined,
    logger,
    secrets,
  });
}

/**
 * The run's secrets, registered with the runner as they are found: the secret inputs, the
 * credentials inside the kubeconfig (base64 content whole), later an exec plugin's token.
 */
export function runSecrets(): Secrets {
  const secrets = new Secrets();
  maskWithRunner(secrets);
  const inputs = Object.fromEntries(
    INPUTS.filter((i) => i.secret).map((i) => [i.name, core.getInput(i.name)]),
  );
  secrets.add([
    ...inputSecrets(inputs),
    ...kubeconfigSecrets(inputs.kubeconfig || undefined, process.env),
  ]);
  return secrets;
}

/**
 * A user error is its message; anything else keeps its stack in the debug log. The lines of a
 * multi-line error are joined: for a sentence of ours around it (see failWith for the failure).
 */
export function describe(error: unknown, logger: ActionsLogger): string {
  if (error instanceof Error && !(error instanceof UserError)) {
    for (const line of stackLines(error)) logger.debug(line);
  }
  return errorLines(error).join(' ');
}

/**
 * Fails the step with `error`: its first line as the failure (one annotation), the rest of a
 * multi-line error (findings, commands to run by hand) as log lines below it.
 */
export function failWith(error: unknown, logger: ActionsLogger, prefix = ''): void {
  const [first = '', ...rest] = errorLines(error);
  describe(error, logger);
  logger.fail(`${prefix}${first}`);
  for (const line of rest) logger.info(line);
}
