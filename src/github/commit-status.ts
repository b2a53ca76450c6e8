import { getOctokit } from '@actions/github';
import type { Secrets } from '../config/secrets.ts';
import { plainText } from '../escape/plain.ts';
import type { Logger } from '../logger.ts';
import { formatLatency, formatPercent, percentileLabel } from '../report/log-line.ts';
import { latestFigures, sideNames } from '../report/report.ts';
import type { StageReport } from '../report/report.ts';

/** GitHub rejects a commit status description longer than this. */
export const MAX_DESCRIPTION_LENGTH = 140;

/** A status post must not hold up the rollout's result for long. */
const DEFAULT_TIMEOUT_MS = 10_000;

/** What `postCommitStatus` needs; `baseUrl` is `GITHUB_API_URL` (GHES, tests). */
export interface CommitStatusOptions {
  token: string;
  owner: string;
  repo: string;
  sha: string;
  report: StageReport;
  /** Where the status links to, usually the workflow run. */
  targetUrl?: string;
  /** The REST API root; github.com's when absent. */
  baseUrl?: string;
  logger: Logger;
  /** Replaced in the description: it may quote an error that echoed a header or token. */
  secrets: Secrets;
  /** Gives up on GitHub after this long; 10 s when absent. */
  timeoutMs?: number;
}

/** The commit status fields derived from a report. */
export interface CommitStatus {
  context: string;
  state: 'success' | 'failure';
  description: string;
}

/**
 * Posts one commit status for the stage. It never throws: the rollout has already happened and its
 * result must not depend on GitHub's API, so any failure is logged as a warning.
 */
export async function postCommitStatus(opts: CommitStatusOptions): Promise<void> {
  const status = commitStatusFor(opts.report, opts.secrets);
  const where = `${opts.owner}/${opts.repo}@${opts.sha.slice(0, 12)}`;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    const octokit = getOctokit(opts.token, opts.baseUrl ? { baseUrl: opts.baseUrl } : {});
    await octokit.rest.repos.createCommitStatus({
      owner: opts.owner,
      repo: opts.repo,
      sha: opts.sha,
      state: status.state,
      context: status.context,
      description: status.description,
      ...(opts.targetUrl ? { target_url: opts.targetUrl } : {}),
      request: { signal: AbortSignal.timeout(timeoutMs) },
    });
    opts.logger.info(`Commit status ${status.context} on ${where}: ${status.state}`);
  } catch (error) {
    opts.logger.warn(
      `Could not post the commit status ${status.context} on ${where}: ${describeError(error, timeoutMs)}`,
    );
  }
}

/**
 * Context, state and description for a report; pure, so the wording is easy to test. Secrets
 * are replaced first, then the text made plain (see plainText), then cut to GitHub's limit.
 */
export function commitStatusFor(unredacted: StageReport, secrets: Secrets): CommitStatus {
  const report = secrets.redactDeep(unredacted);
  return {
    context: plainText(`istio-canary/${report.namespace}/${report.virtualService}`),
    state: report.outcome === 'rolled-back' ? 'failure' : 'success',
    description: truncate(plainText(describeOutcome(report)), MAX_DESCRIPTION_LENGTH),
  };
}

function describeOutcome(report: StageReport): string {
  const names = sideNames(report);
  switch (report.outcome) {
    case 'passed':
      return `Passed at ${report.weightAfter}%: ${keyFigures(report)}`;
    case 'rolled-back':
      if (report.command === 'rollback') return 'Rolled back on request: original route restored';
      return `Rolled back from ${breachWeight(report)}%: ${report.reason ?? keyFigures(report)}`;
    case 'promoted':
      return `Promoted: all traffic to ${names.canary}`;
    case 'noop':
      return `No change: ${report.reason ?? 'nothing to do'}`;
    case 'dry-run':
      return `Dry run: would set ${names.canary} from ${report.weightBefore}% to ${report.weightAfter}%`;
  }
}

/** The canary's latest success rate, latency and request count, as far as they were measured. */
function keyFigures(report: StageReport): string {
  const figures = latestFigures(report);
  if (figures.successRate === undefined) return 'no canary traffic measured';
  const parts = [`${sideNames(report).canary} success ${formatPercent(figures.successRate)}`];
  if (figures.latencyMs !== undefined) {
    parts.push(`${percentileLabel(report.latencyPercentile)} ${formatLatency(figures.latencyMs)}`);
  }
  if (figures.requests !== undefined) parts.push(`${figures.requests} req`);
  return parts.join(', ');
}

/**
 * The weight in force when the breach was seen. A rollback after a metrics failure or a cancel
 * has no check at that weight, so the last check's weight would name an earlier stage or none
 * (and then "0%"): the report's own record comes first.
 */
function breachWeight(report: StageReport): number {
  return report.breachWeight ?? report.checks.at(-1)?.weight ?? report.weightBefore;
}

/**
 * Cuts `text` to `max` characters, the last being an ellipsis. Counts code points, so an emoji or
 * a non-Latin character is never split in half.
 */
export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s*[\r\n]+\s*/g, ' ');
  const chars = Array.from(oneLine);
  if (chars.length <= max) return oneLine;
  return `${chars
    .slice(0, max - 1)
    .join('')
    .trimEnd()}…`;
}

/**
 * The HTTP status and GitHub's message, with a hint for the usual token problems. Octokit reports
 * a network failure or a timeout as status 500 too; only an error that carries a response is an
 * answer from GitHub.
 */
function describeError(error: unknown, timeoutMs: number): string {
  const message = error instanceof Error ? error.message : String(error);
  const status = answeredStatus(error);
  if (status === undefined) {
    if (/abort|timeout/i.test(message)) return `no answer within ${timeoutMs} ms`;
    return message;
  }
  const head = `HTTP ${status}: ${message}`;
  if (status === 401) return `${head} (is github-token valid?)`;
  if (status === 403 || status === 404) {
    return `${head} (github-token needs the "statuses: write" permission on this repository)`;
  }
  return head;
}

function answeredStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if (!('response' in error) || error.response === undefined || error.response === null) {
    return undefined;
  }
  return 'status' in error && typeof error.status === 'number' ? error.status : undefined;
}
