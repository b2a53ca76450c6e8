import { existsSync, readFileSync, statSync } from 'node:fs';
import { UsageError } from './args.ts';

/**
 * True when a `--kubeconfig` value can only be a file path: one line shaped like a path (`/`,
 * `./`, `../`, `~/`; never the start of base64 of YAML), or one that is neither base64 nor
 * one-line YAML.
 */
export function isKubeconfigPath(value: string): boolean {
  const trimmed = value.trim();
  if (trimmed.includes('\n')) return false;
  const pathShaped = /^(\/|\.\.?\/|~\/)/.test(trimmed);
  const notContent = !/^[A-Za-z0-9+/=]+$/.test(trimmed) && !trimmed.includes(':');
  return pathShaped || notContent;
}

/**
 * `--kubeconfig` takes content like the action input, or, for a terminal user, a file path; a
 * path must name a readable file. Returns the content for the settings parser.
 */
export function kubeconfigInput(
  value: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (value === undefined || value.includes('\n')) return value;
  const trimmed = value.trim();
  const path = trimmed.startsWith('~/') ? `${env.HOME ?? ''}${trimmed.slice(1)}` : trimmed;
  if (existsSync(path) && statSync(path).isFile()) return readFileSync(path, 'utf8');
  if (isKubeconfigPath(trimmed)) {
    throw new UsageError(
      `--kubeconfig: no readable file "${path}"; give the path of a kubeconfig file, or its content as YAML or base64.`,
    );
  }
  return value;
}
