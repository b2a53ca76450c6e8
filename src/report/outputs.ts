import type { StageReport } from './report.ts';

/**
 * The step's outputs (action outputs, CLI dotenv), as strings; empty when there is no figure or
 * no file (the HTML report, when it could not be written).
 */
export function outputsOf(
  report: StageReport,
  reportPath: string,
  htmlReportPath = '',
): Record<string, string> {
  const fixed = (value: number | undefined, digits: number): string =>
    value === undefined || !Number.isFinite(value) ? '' : String(Number(value.toFixed(digits)));
  return {
    result: report.outcome,
    weight: String(report.weightAfter),
    'success-rate': fixed(report.canary?.successRate, 3),
    latency: fixed(report.canary?.latencyMs, 1),
    report: reportPath,
    'html-report': htmlReportPath,
  };
}
