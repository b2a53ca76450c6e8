import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { INPUTS } from './inputs.ts';

/** Shorter values are not redacted: replacing two letters everywhere would garble the log. */
const MIN_SECRET_LENGTH = 4;

/** Kubeconfig keys whose values are credentials (token, password, client-key-data, ...). */
const CREDENTIAL_KEY = /token|password|secret|key-data/i;

/** Kubeconfig keys naming a file that holds a token: the file's content is the secret. */
const TOKEN_FILE_KEY = /^token-?file$/i;

/** Names of exec plugin variables and flags whose values are credentials. */
const CREDENTIAL_NAME = /token|passw|pwd|secret|key|credential|auth/i;

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * The secrets of a run, which every sink replaces with `***`: stdout, stderr, the job summary,
 * the JSON report, the dotenv file, the commit status, the debug log. It can grow while the run
 * goes on (the token an exec plugin returns), and tells its listeners (the runner's masking).
 */
export class Secrets {
  #values: string[] = [];
  readonly #listeners: ((value: string) => void)[] = [];

  constructor(values: Iterable<string> = []) {
    this.add(values);
  }

  /** Adds secrets (short values are ignored; see {@link cleanSecrets}). */
  add(values: Iterable<string>): void {
    const fresh = cleanSecrets([...values]).filter((value) => !this.#values.includes(value));
    if (fresh.length === 0) return;
    this.#values = cleanSecrets([...this.#values, ...fresh]);
    for (const value of fresh) for (const listener of this.#listeners) listener(value);
  }

  /** Calls `listener` with every secret known now and every one added later. */
  onAdd(listener: (value: string) => void): void {
    this.#listeners.push(listener);
    for (const value of this.#values) listener(value);
  }

  /** Longest first. */
  get values(): readonly string[] {
    return this.#values;
  }

  /** The text with every secret replaced by `***`. */
  redact(text: string): string {
    return redact(text, this.#values);
  }

  /** A copy of `value` with every string in it (keys too) redacted. */
  redactDeep<T>(value: T): T {
    return redactValue(value, this.#values) as T;
  }
}

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
 * True when kubeconfig content is base64 (one line or wrapped) rather than YAML or JSON: only
 * base64 characters, and no colon, which every kubeconfig in YAML or JSON has.
 */
export function isBase64Kubeconfig(text: string): boolean {
  const trimmed = text.trim();
  return /^[A-Za-z0-9+/=\s]+$/.test(trimmed) && !trimmed.includes(':');
}

/**
 * Credentials inside the kubeconfig the run uses: the content given (whole, and the credentials
 * inside, when base64; its credentials when YAML or JSON), else the files the client loads by
 * default (KUBECONFIG's list, ~/.kube/config, the in-cluster token). Credentials are the values
 * of token, password and key fields, the content of token files, user:password in a server or
 * proxy URL, and an exec plugin's credential variables and arguments. Unreadable or malformed
 * files yield what can be read, and never print anything.
 */
export function kubeconfigSecrets(content: string | undefined, env: NodeJS.ProcessEnv): string[] {
  const values: string[] = [];
  const trimmed = content?.trim();
  if (trimmed !== undefined && isBase64Kubeconfig(trimmed)) {
    const compact = trimmed.replace(/\s+/g, '');
    values.push(trimmed, compact);
    collectCredentials(parseQuietly(Buffer.from(compact, 'base64').toString('utf8')), values);
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

/**
 * Distinct, long enough, longest first (so a secret containing another is replaced whole), with
 * the forms a secret takes when an answer quotes it: JSON-escaped and percent-encoded.
 */
export function cleanSecrets(values: readonly string[]): string[] {
  const all = new Set<string>();
  for (const value of values) {
    if (value.length < MIN_SECRET_LENGTH) continue;
    all.add(value);
    all.add(JSON.stringify(value).slice(1, -1));
    all.add(encodeURIComponent(value));
  }
  return [...all].sort((a, b) => b.length - a.length);
}

function redactValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return redact(value, secrets);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [redact(key, secrets), redactValue(item, secrets)]),
  );
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

/** Whatever parses, silently: the YAML library would print a warning quoting the line. */
function parseQuietly(text: string): unknown {
  try {
    return parseYaml(text, { logLevel: 'silent', merge: true });
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
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (typeof value === 'string') {
      if (TOKEN_FILE_KEY.test(key)) into.push(readOrEmpty(value).trim());
      else if (CREDENTIAL_KEY.test(key)) into.push(value.trim());
      else into.push(...urlCredentials(value));
    } else if (key === 'exec' && typeof value === 'object' && value !== null) {
      into.push(...execCredentials(value));
      collectCredentials(value, into);
    } else collectCredentials(value, into);
  }
}

/** `user:password` and `password` (as written and decoded) from `scheme://user:password@host`. */
export function urlCredentials(text: string): string[] {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@\s]+)@/i.exec(text.trim());
  if (!match) return [];
  const userinfo = match[1];
  const colon = userinfo.indexOf(':');
  // A lone user part is a token more often than a name (https://TOKEN@host).
  if (colon < 0) return [userinfo, safeDecode(userinfo)];
  const password = userinfo.slice(colon + 1);
  return [userinfo, password, safeDecode(password)];
}

/**
 * An exec plugin's credentials: the values of its variables named like credentials or shaped
 * like one, and its arguments that follow (or are joined to) a credential flag, or are shaped
 * like a credential. Other values (`--region eu-west-1`) stay readable in the log.
 */
export function execCredentials(exec: object): string[] {
  const found: string[] = [];
  const { env, args } = exec as { env?: unknown; args?: unknown };
  if (Array.isArray(env)) {
    for (const entry of env as { name?: unknown; value?: unknown }[]) {
      if (typeof entry?.value !== 'string') continue;
      const name = typeof entry.name === 'string' ? entry.name : '';
      if (CREDENTIAL_NAME.test(name) || looksLikeCredential(entry.value)) found.push(entry.value);
    }
  }
  if (Array.isArray(args)) {
    const list = args.filter((arg): arg is string => typeof arg === 'string');
    list.forEach((arg, i) => {
      const joined = /^--?([^=]+)=(.*)$/s.exec(arg);
      if (joined) {
        if (CREDENTIAL_NAME.test(joined[1]) || looksLikeCredential(joined[2]))
          found.push(joined[2]);
      } else if (/^--?[A-Za-z]/.test(arg)) {
        const next = list[i + 1];
        if (CREDENTIAL_NAME.test(arg) && next !== undefined && !next.startsWith('-'))
          found.push(next);
      } else if (looksLikeCredential(arg)) found.push(arg);
    });
  }
  return found;
}

/**
 * Shaped like a generated credential: 16 or more visible ASCII characters mixing upper case,
 * lower case and digits, or 32 or more hex digits. Names and regions are neither.
 */
export function looksLikeCredential(value: string): boolean {
  if (value.length < 16 || !/^[\x21-\x7e]+$/.test(value)) return false;
  if (/^[0-9a-f]{32,}$/i.test(value)) return true;
  return /[a-z]/.test(value) && /[A-Z]/.test(value) && /\d/.test(value);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
