import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseDocument, type YAMLError } from 'yaml';
import { UserError } from '../errors.ts';

/** The end of every message about kubeconfig content: why the line is not quoted. */
const NOT_SHOWN = 'the content is not shown, it may hold credentials';

/** YAML problems in our words; a parser's own message quotes the line, which may be a token. */
const PROBLEMS: Readonly<Record<string, string>> = {
  TAG_RESOLVE_FAILED: 'a YAML tag (such as !vault) that no kubeconfig reader resolves',
  DUPLICATE_KEY: 'a key given twice in one mapping',
  BAD_INDENT: 'indentation that does not line up',
  TAB_AS_INDENT: 'a tab used for indentation',
  MISSING_CHAR: 'a quote or bracket that is not closed',
  BAD_DQ_ESCAPE: 'an invalid escape in a double-quoted string',
  BAD_ALIAS: 'an alias to an anchor that does not exist',
  MULTIPLE_DOCS: 'more than one YAML document',
  RESOURCE_EXHAUSTION: 'more aliases than a kubeconfig needs',
  BLOCK_AS_IMPLICIT_KEY: 'a colon inside a value (quote a value that holds ": ")',
  MULTILINE_IMPLICIT_KEY: 'a key that runs over more than one line',
  UNEXPECTED_TOKEN: 'a character out of place',
};

/**
 * Loads kubeconfig content into `kc`. The text is parsed here, silently and with errors that give
 * at most a line and column, then handed to the client as JSON: the client's YAML parser would
 * quote the offending line in its message, and the YAML library would print it as a warning.
 * `source` names where the content came from (`Input "kubeconfig"`, a file path).
 */
export function loadKubeconfigText(kc: KubeConfig, text: string, source: string): void {
  const content = parseKubeconfigText(text, source);
  try {
    kc.loadFromString(JSON.stringify(content));
  } catch (error) {
    throw new UserError(`${source} ${shapeProblem(error)} (${NOT_SHOWN}).`);
  }
}

/** The kubeconfig as a plain object; a UserError in our words when it is not valid YAML. */
export function parseKubeconfigText(text: string, source: string): Record<string, unknown> {
  const doc = parseDocument(text, { merge: true, logLevel: 'silent' });
  const problem =
    doc.errors[0] ?? doc.warnings.find((warning) => warning.code === 'TAG_RESOLVE_FAILED');
  if (problem) {
    throw new UserError(`${source} is not valid YAML: ${describe(problem)} (${NOT_SHOWN}).`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch {
    throw new UserError(
      `${source} is not valid YAML: ${PROBLEMS.RESOURCE_EXHAUSTION} (${NOT_SHOWN}).`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(
      `${source} is not a kubeconfig: not a YAML mapping of clusters, users and contexts (${NOT_SHOWN}).`,
    );
  }
  return value as Record<string, unknown>;
}

/**
 * Why the default kubeconfig files did not load, in our words: the first of KUBECONFIG's files
 * (or ~/.kube/config) that is not valid YAML or not a kubeconfig, else a general sentence.
 */
export function defaultKubeconfigProblem(env: NodeJS.ProcessEnv): string {
  const paths = env.KUBECONFIG
    ? env.KUBECONFIG.split(delimiter).filter(Boolean)
    : env.HOME
      ? [join(env.HOME, '.kube', 'config')]
      : [];
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    try {
      loadKubeconfigText(new KubeConfig(), text, path);
    } catch (error) {
      if (error instanceof UserError) return error.message;
    }
  }
  return `the Kubernetes client could not read it (${NOT_SHOWN}).`;
}

function describe(problem: YAMLError): string {
  const what = PROBLEMS[problem.code] ?? 'a YAML syntax error';
  const at = problem.linePos?.[0];
  return at ? `${what} at line ${at.line}, column ${at.col}` : what;
}

/** The client's complaints about structure, which name fields only, restated. */
function shapeProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const missing = /^((?:clusters|users|contexts)\[\d+\](?:\.[a-z-]+)*) is missing$/.exec(message);
  if (missing) return `is not a kubeconfig: ${missing[1]} is missing`;
  const duplicate = /^Duplicate (cluster|user|context):/.exec(message);
  if (duplicate) return `is not a kubeconfig: two ${duplicate[1]}s have the same name`;
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    return 'names a token file that cannot be read';
  }
  return 'could not be read by the Kubernetes client';
}
