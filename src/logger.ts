/**
 * Where the core writes what a person reads. The GitHub entry maps it onto @actions/core, the CLI
 * onto stderr/stdout, tests onto an array. The core never prints directly.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  /** Runs `fn` inside a titled, collapsible section of the log (one per phase). */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

/** A logger that keeps every line; for tests and for callers that want to inspect output. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  info(message: string): void {
    this.lines.push(message);
  }
  warn(message: string): void {
    this.lines.push(`warning: ${message}`);
  }
  error(message: string): void {
    this.lines.push(`error: ${message}`);
  }
  debug(): void {}
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.lines.push(`## ${title}`);
    return fn();
  }
}
