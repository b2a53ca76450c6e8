import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { INPUTS } from './inputs.ts';

/** Shorter values are not redacted: replacing two letters everywhere would garble the log. */
const MIN_SECRET_LENGTH = 4;

/** Kubeconfig keys whose values are credentials (token, password, client-key-data, ...). */
const CREDENTIAL_KEY = /token|password|secret|key-data/i;

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Values of the secret inputs as given: prometheus-token and github-token, and the value of each
 * `Name: value` header (and its credential after a scheme such as `Bearer `). The kubeconfig is
 * left to {@link kubeconfigSecrets}: its value may be a file path, which is no secret.
 * Available before the inputs are validated, so usage errors are redacted too.
 */
export function inputSecrets(inputs: Readonly<Record<string, string>>): string[] {
  const values: string[] = [];
  for (const input of INPUTS.filter((i) => i.secret)) {
    const value = inputs[input.name];
    if (!value) continue;
    if (input.name === 'kubeconfig') continue;
    if (input.name === 'prometheus-headers') values.push(...headerSecrets(value));
    else values.push(...value.split(/\r?\n/).map((line) => line.trim()));
  }
  return cleanSecrets(values);
}

function headerSecrets(value: string): string[] {
  return value.split(/\r?\n/).flatMap((line) => {
    const headerValue = line.replace(/^[^:]*:/, '').trim();
    return [headerValue, headerValue.replace(/^[A-Za-z]+\s+/, '')];
  });
}

/**
 * Credentials inside the kubeconfig the run uses: the content given (whole when base64, its
 * credential fields when YAML), else the files the client loads by default (KUBECONFIG's list,
 * ~/.kube/config, the in-cluster token). Unreadable or malformed files yield nothing; the
 * client reports those itself.
 */
export function kubeconfigSecrets(content: string | undefined, env: NodeJS.ProcessEnv): string[] {
  const values: string[] = [];
  const trimmed = content?.trim();
  if (trimmed !== undefined && !trimmed.includes('\n')) {
    values.push(trimmed);
    collectCredentials(parseQuietly(Buffer.from(trimmed, 'base64').toString('utf8')), values);
  } else if (trimmed !== undefined) collectCredentials(parseQuietly(trimmed), values);
  else {
    for (const path of defaultKubeconfigPaths(env))
      collectCredentials(parseQuietly(readOrEmpty(path)), values);
    values.push(readOrEmpty(SERVICE_ACCOUNT_TOKEN).trim());
  }
  return cleanSecrets(values);
}

/** Replaces every secret with ***, in the order given (see {@link cleanSecrets}). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

/** Distinct, long enough, longest first (so a secret containing another is replaced whole). */
export function cleanSecrets(values: readonly string[]): string[] {
  const all = new Set<string>();
  for (const value of values) {
    if (value.length < MIN_SECRET_LENGTH) continue;
    all.add(value);
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) all.add(escaped);
  }
  return [...all].sort((a, b) => b.length - a.length);
}

function defaultKubeconfigPaths(env: NodeJS.ProcessEnv): string[] {
  if (env.KUBECONFIG) return env.KUBECONFIG.split(delimiter).filter(Boolean);
  return env.HOME ? [join(env.HOME, '.kube', 'config')] : [];
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function parseQuietly(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}

/** Depth-first walk; bounded by the document, which YAML parsing already bounded. */
function collectCredentials(node: unknown, into: string[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collectCredentials(item, into);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if (typeof value === 'string' && CREDENTIAL_KEY.test(key)) into.push(value.trim());
    else collectCredentials(value, into);
  }
}
