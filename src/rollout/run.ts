import type { Settings } from '../config/settings.ts';
import type { StageReport } from '../report/report.ts';
import type { RolloutDeps } from './deps.ts';
import { runPromote } from './promote.ts';
import { runRollback } from './rollback.ts';
import { runStatus } from './status.ts';
import { runStep } from './step.ts';

/**
 * Runs the command the settings name, after a warning for each input given that has no effect
 * for it. A breach is a `rolled-back` report, not an exception.
 */
export function runCommand(settings: Settings, deps: RolloutDeps): Promise<StageReport> {
  for (const warning of settings.ignoredInputs) deps.logger.warn(warning);
  switch (settings.command) {
    case 'step':
      return runStep(settings, deps);
    case 'promote':
      return runPromote(settings, deps);
    case 'rollback':
      return runRollback(settings, deps);
    case 'status':
      return runStatus(settings, deps);
  }
}

/** Exit code 0 only for a passed step, a promote, a rollback or a no-op (and a dry run). */
export function succeeded(report: StageReport): boolean {
  return report.command === 'rollback' || report.outcome !== 'rolled-back';
}
