import { stringify } from 'yaml';
import type { Secrets } from '../config/secrets.ts';
import {
  markdownCode as code,
  markdownFence as fence,
  markdownLines,
  markdownText as text,
} from '../escape/markdown.ts';
import type { CheckResult } from '../metrics/types.ts';
import { CHART_COLOURS, renderSuccessChart } from './chart.ts';
import { formatP, formatRatio } from '../analysis/sentence.ts';
import {
  checkLabel,
  formatCustom,
  formatDuration,
  formatE,
  formatErrorRatio,
  formatLatency,
  formatPercent,
  percentileLabel,
} from './log-line.ts';
import { sideNames } from './report.ts';
import type { AnalysisReport, Outcome, SideNames, StageReport } from './report.ts';

const HEADINGS: Record<Outcome, string> = {
  passed: '✅ Canary stage passed',
  'rolled-back': '❌ Canary rolled back',
  promoted: '🚀 Canary promoted',
  noop: '➖ Nothing to do',
  'dry-run': '📝 Dry run: nothing was changed',
};

/** The report files the step wrote, named at the end of the summary. */
export interface SummaryFiles {
  /** The HTML report's path on the runner (the `html-report` output). */
  htmlReport?: string;
}

/**
 * The job summary (GitHub-flavoured Markdown, for `GITHUB_STEP_SUMMARY`): what happened, why, the
 * checks, a chart of the success rates, and in a dry run the planned change. Secrets are replaced
 * in the report first, then every value is escaped where it is placed (markdown.ts): names,
 * reasons and messages from the cluster or Prometheus show as text, never as Markdown or HTML.
 */
export function renderSummary(
  unredacted: StageReport,
  secrets: Secrets,
  files: SummaryFiles = {},
): string {
  const report = secrets.redactDeep(unredacted);
  const names = sideNames(report);
  const sections = [
    `## ${HEADINGS[report.outcome]}: ${code(report.virtualService)} in ${code(report.namespace)}`,
    reasonBlock(report),
    detailsTable(report),
    analysisSection(report, names),
    trafficSection(report),
    checksSection(report, names),
    chartSection(report, names),
    planSection(report),
    filesSection(files, secrets),
  ];
  return `${sections.filter((s) => s !== undefined).join('\n\n')}\n`;
}

/** Whether the canary received the share of traffic its weight promised, per weight watched. */
function trafficSection(report: StageReport): string | undefined {
  if (!report.traffic || report.traffic.length === 0) return undefined;
  const rows = report.traffic.map((t) => [
    `${t.weight}%`,
    `${t.expectedPercent.toFixed(1)}%`,
    t.observedPercent === undefined ? 'n/a' : `${t.observedPercent.toFixed(1)}%`,
    String(t.requests),
    t.verdict === 'mismatch' ? '**mismatch**' : t.verdict,
    text(t.sentence),
  ]);
  const header = [
    'Weight',
    'Expected share',
    'Observed share',
    'Requests',
    'Verdict',
    'Explanation',
  ];
  return `### Traffic verification\n\n${table(header, rows)}`;
}

/** The reason stands first and stands out: it is what a person opening a failed job looks for. */
function reasonBlock(report: StageReport): string | undefined {
  if (report.reason === undefined || report.reason.trim() === '') return undefined;
  const label = report.outcome === 'rolled-back' ? 'Why it was rolled back' : 'Why';
  return `> **${label}:** ${text(report.reason)}`;
}

function detailsTable(report: StageReport): string {
  const rows: [string, string][] = [
    ['Command', code(report.command)],
    ['Route', `${code(report.route)} to host ${code(report.host)}`],
  ];
  if (report.stableSubset !== undefined || report.canarySubset !== undefined) {
    const stable = report.stableSubset === undefined ? 'n/a' : code(report.stableSubset);
    const canary = report.canarySubset === undefined ? 'n/a' : code(report.canarySubset);
    rows.push(['Subsets', `stable ${stable}, canary ${canary}`]);
  }
  rows.push(['Canary weight', weightChange(report)]);
  if (report.weights.length > 0) {
    rows.push(['Stage weights', report.weights.map((w) => `${w}%`).join(' → ')]);
  }
  rows.push(['Started', text(report.startedAt)], ['Finished', text(report.finishedAt)]);
  if (report.restoreSeconds !== undefined) {
    rows.push(['Route restored in', `${report.restoreSeconds.toFixed(1)} s after the breach`]);
  }
  return table(
    ['', ''],
    rows.map(([key, value]) => [`**${key}**`, value]),
  );
}

/** After a rollback, "0% → 0%" would hide that the canary ran: name the weight that breached. */
function weightChange(report: StageReport): string {
  const breached = report.breachWeight ?? report.checks.at(-1)?.weight;
  if (report.outcome === 'rolled-back' && breached !== undefined) {
    return `${report.weightBefore}% → ${breached}%, restored to ${report.weightAfter}%`;
  }
  return `${report.weightBefore}% → ${report.weightAfter}%`;
}

function checksSection(report: StageReport, names: SideNames): string | undefined {
  if (report.checks.length === 0) return undefined;
  const p = percentileLabel(report.latencyPercentile);
  const withCustom = report.checks.some((c) => c.custom.length > 0);
  const withAnalysis = report.checks.some((c) => c.analysis !== undefined);
  const header = [
    'Elapsed',
    'Weight',
    `Success ${names.canary}`,
    `Success ${names.stable}`,
    `${p} ${names.canary}`,
    `${p} ${names.stable}`,
    `Requests ${names.canary}`,
    `Requests ${names.stable}`,
    ...(withCustom ? ['Custom'] : []),
    ...(withAnalysis
      ? ['E errors / slow / SLO', 'p errors', `Error ratio ${names.canary}/${names.stable}`]
      : []),
    'Verdict',
    'Reasons',
  ];
  const rows = report.checks.map((check) => checkRow(check, withCustom, withAnalysis));
  return `### Checks\n\n${table(header.map(text), rows)}`;
}

function checkRow(check: CheckResult, withCustom: boolean, withAnalysis: boolean): string[] {
  const verdict = checkLabel(check);
  return [
    formatDuration(check.elapsedMs),
    `${check.weight}%`,
    formatPercent(check.canary.successRate),
    formatPercent(check.stable.successRate),
    formatLatency(check.canary.latencyMs),
    formatLatency(check.stable.latencyMs),
    String(check.canary.requests),
    String(check.stable.requests),
    ...(withCustom ? [text(check.custom.map(formatCustom).join(', '))] : []),
    ...(withAnalysis ? analysisCells(check) : []),
    check.verdict === 'pass' && verdict === 'PASS' ? verdict : `**${verdict}**`,
    markdownLines(check.reasons),
  ];
}

function analysisCells(check: CheckResult): string[] {
  const a = check.analysis;
  if (!a) return ['', '', ''];
  return [
    `${formatE(a.eError)} / ${formatE(a.eLatency)} / ${formatE(a.eSlo)}`,
    text(formatP(a.pError)),
    text(formatErrorRatio(a).replace('<=', '≤')),
  ];
}

/**
 * The sequential judge's conclusion: its sentence first, then each test's evidence, in words and
 * numbers a person can check against the method (docs/analysis.md).
 */
function analysisSection(report: StageReport, names: SideNames): string | undefined {
  const a = report.analysis;
  if (!a) return undefined;
  const e = a.evidence;
  const rows = [
    [
      `Error rate, ${code(names.canary)} vs ${code(names.stable)} (tolerated ratio ${formatRatio(a.maxErrorRatio)})`,
      formatE(e.eError),
      text(formatP(e.pError)),
      String(a.alphaError),
    ],
  ];
  if (a.latencyBoundariesMs.length > 0) {
    const bounds = a.latencyBoundariesMs.map((b) => `${b} ms`).join(', ');
    rows.push([
      `Requests slower than ${bounds}`,
      formatE(e.eLatency),
      text(formatP(e.pLatency)),
      String(a.alphaLatency),
    ]);
  }
  if (a.alphaSlo > 0) {
    rows.push([
      `Success rate of ${code(names.canary)} at least ${a.minSuccessRate}%`,
      formatE(e.eSlo),
      text(formatP(e.pSlo)),
      String(a.alphaSlo),
    ]);
  }
  const lines = [
    '### Sequential analysis',
    `> **Conclusion:** ${text(a.sentence)}.`,
    table(['Test', 'e-value', 'anytime p-value', 'alpha share'], rows),
    ratioLine(a, names),
    `Windows judged: ${a.windows} (${a.warmUpWindows} warm-up window${a.warmUpWindows === 1 ? '' : 's'} shown, not judged). Overall alpha ${a.alpha}: the chance that a canary no worse than stable is ever rolled back.`,
  ];
  if (a.degraded) {
    lines.push(
      `⚠️ **Environment degraded:** ${code(names.stable)} was below the minimum success rate too, so the judge held instead of blaming the canary.`,
    );
  }
  return lines.join('\n\n');
}

function ratioLine(a: AnalysisReport, names: SideNames): string {
  const e = a.evidence;
  const observed =
    e.ratio === undefined ? 'not measurable yet (no stable errors)' : `${formatRatio(e.ratio)}x`;
  const upper = e.ratioUpper === undefined ? 'unbounded' : `${formatRatio(e.ratioUpper)}x`;
  const confidence = `${Number((100 * (1 - 2 * a.alphaError)).toFixed(2))}%`;
  return `Error-rate ratio ${code(names.canary)}/${code(names.stable)}: ${observed}; ${confidence} confidence bounds ${formatRatio(e.ratioLower)}x to ${upper} (shown no worse needs the upper bound below ${formatRatio(a.noWorseRatio)}x).`;
}

function chartSection(report: StageReport, names: SideNames): string | undefined {
  const chart = renderSuccessChart(report.checks, names);
  if (chart === undefined) return undefined;
  const legend =
    `Orange bars (${CHART_COLOURS.canary}): canary ${code(names.canary)}; ` +
    `blue line (${CHART_COLOURS.stable}): stable ${code(names.stable)}. ` +
    'A label marked warm-up is the first window after a weight change (shown, not judged); failed marks a failed check.';
  return `### Success rate\n\n${fence('mermaid', chart)}\n\n${legend}`;
}

function planSection(report: StageReport): string | undefined {
  if (report.plan === undefined) return undefined;
  return [
    '### Planned change',
    '**Before**',
    fence('yaml', stringify(report.plan.before).trimEnd()),
    '**After**',
    fence('yaml', stringify(report.plan.after).trimEnd()),
  ].join('\n\n');
}

/**
 * Where the HTML report is. The step uploads nothing itself (an upload needs the workflow's
 * permission and retention choices), so the summary says where the file is and how to keep it.
 */
function filesSection(files: SummaryFiles, secrets: Secrets): string | undefined {
  if (files.htmlReport === undefined) return undefined;
  return [
    '### HTML report',
    `The report with charts of every check is on the runner at ${code(secrets.redact(files.htmlReport))} (output \`html-report\`). ` +
      'To open it from this run, add a step after this one with `actions/upload-artifact`, `if: always()` and `path: ${{ steps.<id>.outputs.html-report }}`.',
  ].join('\n\n');
}

/** A Markdown table; every cell must already be escaped. */
function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
