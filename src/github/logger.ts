import * as core from '@actions/core';
import type { Secrets } from '../config/secrets.ts';
import { logLine } from '../escape/log.ts';
import type { Logger } from '../logger.ts';

/** The core's logger on the runner, and the run's failure message, which annotates it too. */
export interface ActionsLogger extends Logger {
  /** Marks the step failed with `message` (an error annotation and exit code 1). */
  fail(message: string): void;
}

/**
 * The core's logger on the runner: groups fold in the log, warnings and errors annotate the run.
 * Every message is one log line whatever it embeds (see logLine: no line break, no control
 * character, nothing the runner would run as a workflow command) with `secrets` replaced, also
 * where the runner's own masking does not reach (a secret written with control characters).
 */
export function actionsLogger(secrets: Secrets): ActionsLogger {
  const line = (message: string): string => logLine(secrets.redact(message));
  return {
    info: (message) => core.info(line(message)),
    warn: (message) => core.warning(line(message)),
    error: (message) => core.error(line(message)),
    debug: (message) => core.debug(line(message)),
    group: (title, fn) => core.group(line(title), fn),
    fail: (message) => core.setFailed(line(message)),
  };
}

/**
 * Registers every secret with the runner, which masks it in the log, now and as more are found
 * (an exec plugin's token). Not every line of a kubeconfig: masking "kind: Config" or a cluster
 * name would garble the whole log.
 */
export function maskWithRunner(secrets: Secrets): void {
  secrets.onAdd((secret) => core.setSecret(secret));
}
