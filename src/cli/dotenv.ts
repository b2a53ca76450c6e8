import { rename, rm, writeFile } from 'node:fs/promises';

/**
 * `ISTIO_CANARY_SUCCESS_RATE` for the output `success-rate`. The output `weight` shares its name
 * with the input's variable: a GitLab job that inherits this report (dotenv variables outrank the
 * job's own `variables:`) would take the earlier stage's weight, so jobs running the CLI must not
 * inherit it (`dependencies: []` or `needs: []`).
 */
export function dotenvName(output: string): string {
  return `ISTIO_CANARY_${output.toUpperCase().replace(/-/g, '_')}`;
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
