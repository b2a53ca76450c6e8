import * as core from '@actions/core';
import { callLimits } from '../config/deadlines.ts';
import { parseSettings, type Settings } from '../config/settings.ts';
import { inputSecrets, kubeconfigSecrets } from '../config/secrets.ts';
import { INPUTS } from '../config/inputs.ts';
import { UserError } from '../errors.ts';
import { ExitGuard } from '../exit-guard.ts';
import { createLiveDeps, createLiveRun } from '../live-deps.ts';
import { writeJsonReport } from '../report/json.ts';
import { outputsOf } from '../report/outputs.ts';
import type { StageReport } from '../report/report.ts';
import { renderSummary } from '../report/summary.ts';
import type { RolloutDeps } from '../rollout/deps.ts';
import { runCommand, succeeded } from '../rollout/run.ts';
import { protectStream } from '../sink.ts';
import { postCommitStatus } from './commit-status.ts';
import { actionsLogger } from './logger.ts';
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
  const guard = new ExitGuard({ controller, warn: (line) => core.warning(line) }).install();
  try {
    maskSecrets();
    const settings = parseSettings((name) => core.getInput(name));
    const limits = callLimits(process.env);
    const runId = githubRunId(process.env);
    core.saveState(STATE_RUN_ID, runId);
    core.saveState(STATE_STARTED, 'true');
    const live = createLiveRun({
      settings,
      logger: actionsLogger,
      signal: controller.signal,
      runId,
      limits,
    });
    guard.protect(live.protection);
    const report = await runCommand(settings, live.deps);
    await publish(settings, report);
    if (controller.signal.aborted) process.exitCode = 1;
  } catch (error) {
    core.setFailed(describe(error));
  } finally {
    core.saveState(STATE_FINISHED, 'true');
  }
  const code = await guard.finish(process.exitCode === undefined ? 0 : Number(process.exitCode));
  if (code !== 0) process.exitCode = code;
}

/** Cluster and Prometheus clients on the real clock, logging to the runner. */
export function createDeps(settings: Settings, signal: AbortSignal, runId: string): RolloutDeps {
  const limits = callLimits(process.env);
  return createLiveDeps({ settings, logger: actionsLogger, signal, runId, limits });
}

async function publish(settings: Settings, report: StageReport): Promise<void> {
  const reportPath = await writeJsonReport(report, process.env.RUNNER_TEMP || undefined);
  for (const [name, value] of Object.entries(outputsOf(report, reportPath)))
    core.setOutput(name, value);
  if (process.env.GITHUB_STEP_SUMMARY) {
    try {
      await core.summary.addRaw(renderSummary(report), true).write();
    } catch (error) {
      core.warning(`Could not write the job summary: ${describe(error)}`);
    }
  }
  if (settings.githubToken) await postStatus(settings.githubToken, report);
  if (!succeeded(report)) core.setFailed(report.reason ?? `The canary was rolled back.`);
}

async function postStatus(token: string, report: StageReport): Promise<void> {
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? '').split('/');
  const sha = process.env.GITHUB_SHA;
  if (!owner || !repo || !sha) {
    core.warning(
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
    logger: actionsLogger,
  });
}

/**
 * Masks the secret inputs and the credentials inside the kubeconfig (not its every line: masking
 * "kind: Config" or a cluster name would garble the whole log). Base64 content is masked whole.
 */
function maskSecrets(): void {
  const inputs = Object.fromEntries(
    INPUTS.filter((i) => i.secret).map((i) => [i.name, core.getInput(i.name)]),
  );
  const kubeconfig = inputs.kubeconfig || undefined;
  for (const secret of [...inputSecrets(inputs), ...kubeconfigSecrets(kubeconfig, process.env)])
    core.setSecret(secret);
}

/** A user error is its message; anything else keeps its stack in the debug log. */
export function describe(error: unknown): string {
  if (error instanceof UserError) return error.message;
  if (error instanceof Error) {
    core.debug(error.stack ?? error.message);
    return error.message;
  }
  return String(error);
}
