import type { Logger } from '../logger.ts';
import { redact } from '../config/secrets.ts';

/** Plain lines for a terminal or a CI log; groups as headings; secrets replaced with ***. */
export function terminalLogger(
  write: (text: string) => void,
  secrets: readonly string[],
  debug = false,
): Logger {
  const line = (text: string): void => write(`${redact(text, secrets)}\n`);
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
