import type { Logger } from '../logger.ts';

/** Plain lines for a terminal or a CI log; groups as headings; secrets replaced with ***. */
export function terminalLogger(write: (text: string) => void, secrets: readonly string[]): Logger {
  const line = (text: string): void => write(`${redact(text, secrets)}\n`);
  return {
    info: line,
    warn: (message) => line(`warning: ${message}`),
    error: (message) => line(`error: ${message}`),
    debug: (message) => {
      if (process.env.ISTIO_CANARY_DEBUG) line(`debug: ${message}`);
    },
    async group(title, fn) {
      line(`== ${title}`);
      return fn();
    },
  };
}

/** Replaces every secret value with ***. */
export function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((out, secret) => out.split(secret).join('***'), text);
}
