import { accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { callLimits } from '../config/deadlines.ts';
import { parseSettings } from '../config/settings.ts';
import { UserError } from '../errors.ts';
import { parseArgs, UsageError, type ParsedArgs } from './args.ts';
import { helpText } from './help.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type CliIo, type Invocation } from './io.ts';
import { kubeconfigInput } from './kubeconfig.ts';
import { inCliTerms } from './messages.ts';
import { inputSecrets, kubeconfigSecrets, Secrets } from '../config/secrets.ts';
import { terminalText } from './logger.ts';

export { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type CliIo, type Invocation } from './io.ts';

/** Runs the CLI and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseInvocation(argv, io);
  if (typeof parsed === 'number') return parsed;
  // Loaded only now: help, --version and usage errors answer without loading the Kubernetes client.
  const { execute } = await import('./execute.ts');
  return execute(parsed, io);
}

/**
 * Parses argv, the environment and the inputs. Returns the exit code when there is nothing to run
 * (help, version, a usage error: 2, printed to stderr and redacted) and touches no network.
 */
function parseInvocation(argv: readonly string[], io: CliIo): Invocation | number {
  const secrets = new Secrets();
  let args: ParsedArgs | undefined;
  try {
    args = parseArgs(argv, io.env);
    secrets.add(inputSecrets(args.inputs));
    if (args.version) {
      io.stdout(`${io.version}\n`);
      return EXIT_OK;
    }
    if (args.help) {
      io.stdout(helpText(io.version, args.command));
      return EXIT_OK;
    }
    const kubeconfig = kubeconfigInput(args.inputs.kubeconfig, io.env);
    secrets.add(kubeconfigSecrets(kubeconfig, io.env));
    const settings = parseSettings((name) =>
      name === 'kubeconfig' ? kubeconfig : args!.inputs[name],
    );
    if (args.dotenv) checkWritable(args.dotenv);
    return { args, settings, secrets, limits: callLimits(io.env) };
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof UserError)) {
      io.stderr(`istio-canary: internal error: ${terminalText(String(error), secrets)}\n`);
      return EXIT_FAILED;
    }
    const message = terminalText(inCliTerms(error.message, args?.sources ?? {}), secrets);
    io.stderr(`istio-canary: ${message}\nRun istio-canary --help for the flags.\n`);
    return EXIT_USAGE;
  }
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
