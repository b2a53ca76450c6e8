import { UserError } from '../errors.ts';
import { parseDuration } from './duration.ts';
import type { Settings } from './settings.ts';

/** One Kubernetes or Prometheus call, connect to last byte, retries included. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
/** How long a step may run past the watches it planned before it restores and fails. */
export const DEFAULT_STEP_GRACE_MS = 120_000;

/** The time limits of a run. */
export interface CallLimits {
  callTimeoutMs: number;
  stepGraceMs: number;
}

/**
 * Environment variables that change the limits. They are knobs for an unusual setup (a
 * Prometheus whose queries take longer than 30 s) and for tests, not inputs of every job.
 */
export const LIMIT_VARIABLES = {
  ISTIO_CANARY_CALL_TIMEOUT: `total time one Kubernetes or Prometheus call may take, retries included [default: ${DEFAULT_CALL_TIMEOUT_MS / 1000}s]`,
  ISTIO_CANARY_STEP_GRACE: `how long a step may run past its planned watches before it restores the route and fails [default: ${DEFAULT_STEP_GRACE_MS / 60_000}m]`,
};

const MAX_LIMIT_MS = 6 * 3_600_000;

/** Reads the limits from the environment; a bad value is a UserError naming the variable. */
export function callLimits(env: NodeJS.ProcessEnv): CallLimits {
  return {
    callTimeoutMs: limit(env, 'ISTIO_CANARY_CALL_TIMEOUT', DEFAULT_CALL_TIMEOUT_MS),
    stepGraceMs: limit(env, 'ISTIO_CANARY_STEP_GRACE', DEFAULT_STEP_GRACE_MS),
  };
}

function limit(
  env: NodeJS.ProcessEnv,
  name: keyof typeof LIMIT_VARIABLES,
  fallback: number,
): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  let ms: number;
  try {
    ms = parseDuration(name, text, MAX_LIMIT_MS);
  } catch {
    ms = 0;
  }
  if (ms <= 0) {
    throw new UserError(
      `${name} must be a duration above 0 and up to 6h, such as 30s or 2m; got "${text}".`,
    );
  }
  return ms;
}

/**
 * The whole step's deadline from its start: every weight's watch, plus the grace. Undefined for
 * the commands that watch nothing (they are bounded by their calls' deadlines) and a dry run.
 */
export function stepDeadlineMs(settings: Settings, limits: CallLimits): number | undefined {
  if (settings.command !== 'step' || settings.dryRun) return undefined;
  return settings.durationMs * settings.weights.length + limits.stepGraceMs;
}
