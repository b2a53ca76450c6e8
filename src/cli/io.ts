import type { CallLimits } from '../config/deadlines.ts';
import type { Secrets } from '../config/secrets.ts';
import type { Settings } from '../config/settings.ts';
import type { ProtectedRun } from '../exit-guard.ts';
import type { ParsedArgs } from './args.ts';

/** Where the CLI writes; the process's streams in production, buffers in tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  version: string;
  /** Hands the run to the process's exit guard once it has a cluster client (absent in tests). */
  protect?: (run: ProtectedRun) => void;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** What the command line asked for, validated, with the secrets to hide from every line printed. */
export interface Invocation {
  args: ParsedArgs;
  settings: Settings;
  secrets: Secrets;
  /** Deadlines of the calls and of the step, from the environment. */
  limits: CallLimits;
}
