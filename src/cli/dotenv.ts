import { rename, rm, writeFile } from 'node:fs/promises';

/**
 * `ISTIO_CANARY_OUTPUT_SUCCESS_RATE` for the output `success-rate`. Prefixed so that no output
 * shares a name with an input's variable (`ISTIO_CANARY_WEIGHT`): GitLab lets an inherited dotenv
 * report outrank a job's own `variables:`, so a later stage that `needs:` an earlier one would
 * otherwise run at the earlier stage's weight.
 */
export function dotenvName(output: string): string {
  return `ISTIO_CANARY_OUTPUT_${output.toUpperCase().replace(/-/g, '_')}`;
}

/** The dotenv text: one NAME=value line per output; values on one line, as GitLab requires. */
export function dotenvText(outputs: Readonly<Record<string, string>>): string {
  const lines = Object.entries(outputs).map(
    ([name, value]) => `${dotenvName(name)}=${value.replace(/\r?\n/g, ' ')}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Writes the outputs to `path` atomically: a reader sees the old file or the whole new one. */
export async function writeDotenv(
  path: string,
  outputs: Readonly<Record<string, string>>,
): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temp, dotenvText(outputs));
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
