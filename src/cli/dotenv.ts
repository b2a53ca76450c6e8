import type { Secrets } from '../config/secrets.ts';
import { showControls } from '../escape/control.ts';
import { replaceAtomically } from '../private-file.ts';

/**
 * `ISTIO_CANARY_OUTPUT_SUCCESS_RATE` for the output `success-rate`. Prefixed so that no output
 * shares a name with an input's variable (`ISTIO_CANARY_WEIGHT`): GitLab lets an inherited dotenv
 * report outrank a job's own `variables:`, so a later stage that `needs:` an earlier one would
 * otherwise run at the earlier stage's weight.
 */
export function dotenvName(output: string): string {
  return `ISTIO_CANARY_OUTPUT_${output.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * The dotenv text: one NAME=value line per output, secrets replaced, each value on one line as
 * GitLab requires (a line break or other control character is written as an escape).
 */
export function dotenvText(outputs: Readonly<Record<string, string>>, secrets: Secrets): string {
  const lines = Object.entries(outputs).map(
    ([name, value]) => `${dotenvName(name)}=${showControls(secrets.redact(value))}`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * Writes the outputs to `path` atomically (a reader sees the old file or the whole new one),
 * private to the user, never writing through a link planted at a guessable temporary name.
 */
export async function writeDotenv(
  path: string,
  outputs: Readonly<Record<string, string>>,
  secrets: Secrets,
): Promise<void> {
  await replaceAtomically(path, dotenvText(outputs, secrets));
}
