import { existsSync, readFileSync } from 'node:fs';
import { writeFile, rename } from 'node:fs/promises';
import { hostname } from 'node:os';
import { systemClock } from '../clock.ts';
import { INPUTS } from '../config/inputs.ts';
import { parseSettings, type Settings } from '../config/settings.ts';
import { UserError } from '../errors.ts';
import { createCluster } from '../kube/client.ts';
import type { Logger } from '../logger.ts';
import { createPrometheusClient } from '../metrics/prometheus.ts';
import { writeJsonReport } from '../report/json.ts';
import { outputsOf } from '../report/outputs.ts';
import type { RolloutDeps } from '../rollout/deps.ts';
import { runCommand, succeeded } from '../rollout/run.ts';
import { parseArgs, UsageError, type ParsedArgs } from './args.ts';
import { helpText } from './help.ts';
import { redact, terminalLogger } from './logger.ts';

/** Where the CLI writes; the process's streams in production, buffers in tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  version: string;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Runs the CLI and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let args: ParsedArgs;
  let settings: Settings;
  try {
    args = parseArgs(argv, io.env);
    if (args.version) {
      io.stdout(`${io.version}\n`);
      return EXIT_OK;
    }
    if (args.help) {
      io.stdout(
        helpText(
          io.version,
          argv.find((a) => !a.startsWith('-')),
        ),
      );
      return EXIT_OK;
    }
    settings = parseSettings((name) =>
      name === 'kubeconfig' ? kubeconfigInput(args.inputs.kubeconfig) : args.inputs[name],
    );
  } catch (error) {
    if (error instanceof UsageError || error instanceof UserError) {
      io.stderr(`istio-canary: ${error.message}\nRun istio-canary --help for the flags.\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  const secrets = secretValues(args.inputs);
  const logger = terminalLogger(args.output === 'json' ? io.stderr : io.stdout, secrets);
  try {
    const report = await runCommand(settings, createCliDeps(settings, logger, io));
    const reportPath = await writeJsonReport(report, io.env.ISTIO_CANARY_REPORT_DIR || undefined);
    const outputs = outputsOf(report, reportPath);
    if (args.dotenv) await writeDotenv(args.dotenv, outputs);
    if (args.output === 'json')
      io.stdout(`${redact(JSON.stringify({ ...report, outputs }, null, 2), secrets)}\n`);
    else
      logger.info(
        `Result: ${report.outcome}${report.reason ? ` - ${report.reason}` : ''} (canary weight ${report.weightAfter}%; report ${reportPath}).`,
      );
    return succeeded(report) && !io.signal.aborted ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    logger.error(error instanceof Error ? error.message : String(error));
    if (!(error instanceof UserError) && error instanceof Error && io.env.ISTIO_CANARY_DEBUG)
      logger.debug(error.stack ?? '');
    return EXIT_FAILED;
  }
}

function createCliDeps(settings: Settings, logger: Logger, io: CliIo): RolloutDeps {
  const cluster = createCluster({
    kubeconfig: settings.kubeconfig,
    context: settings.context,
    clock: systemClock,
    logger,
  });
  return {
    cluster,
    clock: systemClock,
    logger,
    signal: io.signal,
    runId: cliRunId(io.env),
    prometheus: (s) =>
      createPrometheusClient({
        url: s.prometheus.url,
        headers: s.prometheus.headers,
        token: s.prometheus.token,
        cluster,
        clock: systemClock,
        logger,
        maxElapsedMs: Math.min(60_000, Math.max(10_000, 2 * s.intervalMs)),
      }),
  };
}

/** Names the job in the rollout state: GitLab's pipeline and job when there, else host and pid. */
export function cliRunId(env: NodeJS.ProcessEnv): string {
  if (env.ISTIO_CANARY_RUN_ID) return env.ISTIO_CANARY_RUN_ID;
  if (env.GITLAB_CI)
    return `gitlab:${env.CI_PROJECT_PATH ?? 'project'}/${env.CI_PIPELINE_ID ?? '?'}/${env.CI_JOB_ID ?? '?'}`;
  return `cli:${hostname()}/${process.pid}`;
}

/** `--kubeconfig` takes content like the action input, or, for a terminal user, a file path. */
function kubeconfigInput(value: string | undefined): string | undefined {
  if (value === undefined || value.includes('\n')) return value;
  const path = value.startsWith('~/') ? `${process.env.HOME ?? ''}${value.slice(1)}` : value;
  return existsSync(path) ? readFileSync(path, 'utf8') : value;
}

function secretValues(inputs: Record<string, string>): string[] {
  const values: string[] = [];
  for (const input of INPUTS.filter((i) => i.secret)) {
    const value = inputs[input.name];
    if (!value) continue;
    for (const line of value.split(/\r?\n/)) {
      const secret = (
        input.name === 'prometheus-headers' ? line.replace(/^[^:]*:\s*/, '') : line
      ).trim();
      if (secret.length >= 4) values.push(secret);
    }
  }
  return values;
}

/** Writes NAME=value lines (GitLab dotenv: keys upper case with underscores), atomically. */
async function writeDotenv(path: string, outputs: Record<string, string>): Promise<void> {
  const lines = Object.entries(outputs).map(
    ([name, value]) =>
      `ISTIO_CANARY_${name.toUpperCase().replace(/-/g, '_')}=${value.replace(/\n/g, ' ')}`,
  );
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${lines.join('\n')}\n`);
  await rename(temp, path);
}
