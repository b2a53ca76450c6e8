import { spawn } from 'node:child_process';
import type { KubeConfig } from '@kubernetes/client-node';
import { UserError } from '../errors.ts';

type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];
type User = ReturnType<KubeConfig['getUsers']>[number];

/** A kubeconfig user's `exec` section: the credential plugin (kubectl's ExecConfig). */
export interface ExecConfig {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  apiVersion?: string;
}

/** What the plugin prints: an ExecCredential, of which the status matters. */
interface ExecStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

/** What the plugin runner needs from its surroundings. */
export interface ExecPluginOptions {
  /** The environment to start from (the process's); our own inputs are taken out of it. */
  env: NodeJS.ProcessEnv;
  /** Told each credential a plugin returns, so that every sink redacts it. */
  onCredential: (secret: string) => void;
  /**
   * How long a plugin may run before it is killed: the deadline of the call that needs it, which
   * gives up on it at the same moment (default 30 s).
   */
  timeoutMs?: number;
}

const DEFAULT_PLUGIN_TIMEOUT_MS = 30_000;

/**
 * Variables a plugin never sees: our inputs as the runner passes them (`INPUT_*`: the kubeconfig,
 * prometheus-token, github-token, prometheus-headers), the CLI's (`ISTIO_CANARY_*`), and the
 * runner's token for its own services. The plugin gets everything else (cloud credentials, PATH,
 * HOME, the workflow's OIDC request variables) and its own `env` from the kubeconfig.
 */
const HIDDEN_VARIABLE = /^(INPUT_|ISTIO_CANARY_)|^ACTIONS_RUNTIME_TOKEN$/i;

/** The most a plugin may print: an ExecCredential is a few KiB. */
const MAX_OUTPUT_BYTES = 1 << 20;

/**
 * Makes `kc` run its exec credential plugins our way. @kubernetes/client-node 2.x starts them
 * with the whole process environment (our secret inputs included) and, when one fails, puts its
 * stderr or the start of its stdout (a token) in the error. Here each exec user is taken from
 * the library's own exec support and served by an authenticator that starts the plugin with
 * {@link pluginEnvironment}, describes failures in its own words and reports the credential.
 */
export function installExecPlugins(kc: KubeConfig, options: ExecPluginOptions): void {
  const plugins = new Map<string, ExecConfig>();
  const users = kc.getUsers().map((user): User => {
    const exec = execOf(user);
    if (!exec) return user;
    plugins.set(user.name, exec);
    const authProvider: unknown = user.exec ? user.authProvider : undefined;
    return { ...user, exec: undefined, authProvider };
  });
  if (plugins.size === 0) return;
  kc.loadFromOptions({
    clusters: kc.getClusters(),
    contexts: kc.getContexts(),
    users,
    currentContext: kc.getCurrentContext(),
  });
  kc.addAuthenticator(execAuthenticator(plugins, options));
}

/** The environment a plugin runs with: `env` without our inputs, then the kubeconfig's `env`. */
export function pluginEnvironment(env: NodeJS.ProcessEnv, exec: ExecConfig): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env))
    if (!HIDDEN_VARIABLE.test(name)) out[name] = value;
  for (const entry of exec.env ?? []) out[entry.name] = entry.value;
  // What kubectl tells a plugin; plugins read it to choose the ExecCredential version to print.
  out.KUBERNETES_EXEC_INFO = JSON.stringify({
    apiVersion: exec.apiVersion ?? 'client.authentication.k8s.io/v1beta1',
    kind: 'ExecCredential',
    spec: { interactive: false },
  });
  return out;
}

function execOf(user: User): ExecConfig | undefined {
  const exec: unknown =
    user.exec ?? (user.authProvider as { config?: { exec?: unknown } })?.config?.exec;
  return typeof exec === 'object' && exec !== null ? (exec as ExecConfig) : undefined;
}

function execAuthenticator(
  plugins: ReadonlyMap<string, ExecConfig>,
  options: ExecPluginOptions,
): Authenticator {
  const cache = new Map<string, ExecStatus>();
  const credential = async (user: User): Promise<ExecStatus> => {
    const cached = cache.get(user.name);
    if (cached && !expired(cached)) return cached;
    const exec = plugins.get(user.name)!;
    const status = parseCredential(
      exec,
      await runPlugin(
        exec,
        pluginEnvironment(options.env, exec),
        options.timeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS,
      ),
    );
    for (const secret of [status.token, status.clientKeyData])
      if (secret) options.onCredential(secret);
    cache.set(user.name, status);
    return status;
  };
  return {
    isAuthProvider: (user) => plugins.has(user.name),
    async applyAuthentication(user, opts) {
      const status = await credential(user);
      const target = opts as { cert?: string; key?: string; headers?: Record<string, unknown> };
      if (status.clientCertificateData) target.cert = status.clientCertificateData;
      if (status.clientKeyData) target.key = status.clientKeyData;
      if (status.token)
        target.headers = { ...target.headers, Authorization: `Bearer ${status.token}` };
    },
  };
}

function expired(status: ExecStatus): boolean {
  if (!status.expirationTimestamp) return false;
  return !(Date.parse(status.expirationTimestamp) > Date.now());
}

/**
 * Runs the plugin without a terminal or stdin; resolves with its stdout when it exits 0. A plugin
 * still running after `timeoutMs` is killed, so that none outlives the call that gave up on it.
 */
function runPlugin(exec: ExecConfig, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  const name = `The kubeconfig's exec plugin "${exec.command}"`;
  const hidden =
    'its output is not shown, it may hold credentials; run the command by hand to see why';
  return new Promise((resolve, reject) => {
    const child = spawn(exec.command, exec.args ?? [], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    timer.unref();
    const chunks: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) child.kill();
      else chunks.push(chunk);
    });
    // Read and dropped: a plugin's complaints may quote the credential it could not finish.
    child.stderr.resume();
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(new UserError(`${name} could not be started (${error.code ?? 'error'}).`)),
    );
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new UserError(`${name} did not finish within ${timeoutMs / 1000}s and was stopped.`),
        );
      } else if (size > MAX_OUTPUT_BYTES) {
        reject(new UserError(`${name} printed more than ${MAX_OUTPUT_BYTES} bytes; ${hidden}.`));
      } else if (code !== 0) {
        const how = signal ? `was ended by ${signal}` : `exited with code ${code}`;
        reject(new UserError(`${name} ${how}; ${hidden}.`));
      } else resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** The credential in the plugin's output; errors never quote the output. */
function parseCredential(exec: ExecConfig, output: string): ExecStatus {
  const name = `The kubeconfig's exec plugin "${exec.command}"`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    throw new UserError(
      `${name} printed ${Buffer.byteLength(output)} bytes that are not an ExecCredential in JSON (not shown: they may hold credentials).`,
    );
  }
  const status = (parsed as { status?: unknown } | null)?.status;
  if (typeof status !== 'object' || status === null) {
    throw new UserError(`${name} printed JSON without the ExecCredential's "status".`);
  }
  const { token, clientCertificateData, clientKeyData, expirationTimestamp } = status as Record<
    string,
    unknown
  >;
  const text = (value: unknown): string | undefined =>
    typeof value === 'string' && value !== '' ? value : undefined;
  const result: ExecStatus = {
    token: text(token),
    clientCertificateData: text(clientCertificateData),
    clientKeyData: text(clientKeyData),
    expirationTimestamp: text(expirationTimestamp),
  };
  if (!result.token && !(result.clientCertificateData && result.clientKeyData)) {
    throw new UserError(
      `${name} printed an ExecCredential with neither status.token nor status.clientCertificateData and clientKeyData.`,
    );
  }
  return result;
}
