import type { Secrets } from '../config/secrets.ts';
import { logLine } from '../escape/log.ts';
import type { Logger } from '../logger.ts';

/**
 * Plain lines for a terminal or a CI log; groups as headings. Every message is one line whatever
 * it embeds (see logLine: no line break, no terminal escape, nothing a CI runner would run as a
 * command), with `secrets` replaced by ***.
 */
export function terminalLogger(
  write: (text: string) => void,
  secrets: Secrets,
  debug = false,
): Logger {
  const line = (text: string): void => write(`${terminalText(text, secrets)}\n`);
  return {
    info: line,
    warn: (message) => line(`warning: ${message}`),
    error: (message) => line(`error: ${message}`),
    debug: (message) => {
      if (debug) line(`debug: ${message}`);
    },
    async group(title, fn) {
      line(`== ${title}`);
      return fn();
    },
  };
}

/** One line for the terminal: secrets replaced, then escaped (see logLine). */
export function terminalText(text: string, secrets: Secrets): string {
  return logLine(secrets.redact(text));
}
