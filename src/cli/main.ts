import { accessSync, constants } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { systemClock } from '../clock.ts';
import { parseSettings, type Settings } from '../config/settings.ts';
import { UserError } from '../errors.ts';
import { createCluster } from '../kube/client.ts';
import type { Logger } from '../logger.ts';
import { createPrometheusClient } from '../metrics/prometheus.ts';
import { REPORT_SCHEMA, writeJsonReport } from '../report/json.ts';
import { outputsOf } from '../report/outputs.ts';
import type { StageReport } from '../report/report.ts';
import type { RolloutDeps } from '../rollout/deps.ts';
import { runCommand, succeeded } from '../rollout/run.ts';
import { parseArgs, UsageError, type ParsedArgs } from './args.ts';
import { writeDotenv } from './dotenv.ts';
import { ACTION_ONLY, helpText } from './help.ts';
import { kubeconfigInput } from './kubeconfig.ts';
import { terminalLogger } from './logger.ts';
import { inCliTerms } from './messages.ts';
import { cleanSecrets, inputSecrets, kubeconfigSecrets, redact } from './secrets.ts';

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

/** What the command line asked for, validated, with the secrets to hide from every line printed. */
interface Invocation {
  args: ParsedArgs;
  settings: Settings;
  secrets: string[];
}

/** Runs the CLI and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseInvocation(argv, io);
  if (typeof parsed === 'number') return parsed;
  const { args, settings, secrets } = parsed;
  const logger = terminalLogger(
    args.output === 'json' ? io.stderr : io.stdout,
    secrets,
    Boolean(io.env.ISTIO_CANARY_DEBUG),
  );
  try {
    for (const name of ACTION_ONLY)
      if (args.inputs[name]) logger.warn(`--${name} is read by the GitHub Action only; ignored.`);
    const report = await runCommand(settings, createCliDeps(settings, logger, io));
    return await finish(report, args, io, logger, secrets);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.error(inCliTerms(message, args.sources));
    if (!(error instanceof UserError) && error instanceof Error && io.env.ISTIO_CANARY_DEBUG)
      logger.debug(error.stack ?? '');
    return EXIT_FAILED;
  }
}

/**
 * Parses argv, the environment and the inputs. Returns the exit code when there is nothing to run
 * (help, version, a usage error: 2, printed to stderr and redacted) and touches no network.
 */
function parseInvocation(argv: readonly string[], io: CliIo): Invocation | number {
  let secrets: string[] = [];
  let args: ParsedArgs | undefined;
  try {
    args = parseArgs(argv, io.env);
    secrets = inputSecrets(args.inputs);
    if (args.version) {
      io.stdout(`${io.version}\n`);
      return EXIT_OK;
    }
    if (args.help) {
      io.stdout(helpText(io.version, args.command));
      return EXIT_OK;
    }
    const kubeconfig = kubeconfigInput(args.inputs.kubeconfig, io.env);
    secrets = cleanSecrets([...secrets, ...kubeconfigSecrets(kubeconfig, io.env)]);
    const settings = parseSettings((name) =>
      name === 'kubeconfig' ? kubeconfig : args!.inputs[name],
    );
    if (args.dotenv) checkWritable(args.dotenv);
    return { args, settings, secrets };
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof UserError)) {
      io.stderr(redact(`istio-canary: internal error: ${String(error)}\n`, secrets));
      return EXIT_FAILED;
    }
    const message = inCliTerms(error.message, args?.sources ?? {});
    io.stderr(
      redact(`istio-canary: ${message}\nRun istio-canary --help for the flags.\n`, secrets),
    );
    return EXIT_USAGE;
  }
}

/** Writes the report file, the dotenv file and the result; the exit code follows the outcome. */
async function finish(
  report: StageReport,
  args: ParsedArgs,
  io: CliIo,
  logger: Logger,
  secrets: readonly string[],
): Promise<number> {
  const reportPath = await writeJsonReport(report, io.env.ISTIO_CANARY_REPORT_DIR || undefined);
  const outputs = outputsOf(report, reportPath);
  if (args.dotenv) await writeDotenv(args.dotenv, outputs);
  logger.info(
    `Result: ${report.outcome}${report.reason ? ` - ${report.reason}` : ''} (canary weight ${report.weightAfter}%; report ${reportPath}).`,
  );
  if (args.output === 'json') {
    const document = { schema: REPORT_SCHEMA, ...report, outputs };
    io.stdout(`${redact(JSON.stringify(document, null, 2), secrets)}\n`);
  }
  return succeeded(report) && !io.signal.aborted ? EXIT_OK : EXIT_FAILED;
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

/** Fails before any change to the cluster when the dotenv file could not be written at the end. */
function checkWritable(path: string): void {
  const folder = dirname(resolve(path));
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new UsageError(
      `--dotenv ${path}: the folder ${folder} does not exist or is not writable.`,
    );
  }
}
