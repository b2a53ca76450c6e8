import { stringify } from 'yaml';
import type { CheckResult } from '../metrics/types.ts';
import { CHART_COLOURS, renderSuccessChart } from './chart.ts';
import {
  formatCustom,
  formatDuration,
  formatLatency,
  formatPercent,
  percentileLabel,
  verdictLabel,
} from './log-line.ts';
import { sideNames } from './report.ts';
import type { Outcome, SideNames, StageReport } from './report.ts';

const HEADINGS: Record<Outcome, string> = {
  passed: '✅ Canary stage passed',
  'rolled-back': '❌ Canary rolled back',
  promoted: '🚀 Canary promoted',
  noop: '➖ Nothing to do',
  'dry-run': '📝 Dry run: nothing was changed',
};

/**
 * The job summary (GitHub-flavoured Markdown, for `GITHUB_STEP_SUMMARY`): what happened, why, the
 * checks, a chart of the success rates, and in a dry run the planned change.
 */
export function renderSummary(report: StageReport): string {
  const names = sideNames(report);
  const sections = [
    `## ${HEADINGS[report.outcome]}: ${code(report.virtualService)} in ${code(report.namespace)}`,
    reasonBlock(report),
    detailsTable(report),
    checksSection(report, names),
    chartSection(report, names),
    planSection(report),
  ];
  return `${sections.filter((s) => s !== undefined).join('\n\n')}\n`;
}

/** The reason stands first and stands out: it is what a person opening a failed job looks for. */
function reasonBlock(report: StageReport): string | undefined {
  if (report.reason === undefined || report.reason.trim() === '') return undefined;
  const label = report.outcome === 'rolled-back' ? 'Why it was rolled back' : 'Why';
  return `> **${label}:** ${inline(report.reason)}`;
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
  rows.push(['Started', cell(report.startedAt)], ['Finished', cell(report.finishedAt)]);
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
  const breached = report.checks.at(-1)?.weight;
  if (report.outcome === 'rolled-back' && breached !== undefined) {
    return `${report.weightBefore}% → ${breached}%, restored to ${report.weightAfter}%`;
  }
  return `${report.weightBefore}% → ${report.weightAfter}%`;
}

function checksSection(report: StageReport, names: SideNames): string | undefined {
  if (report.checks.length === 0) return undefined;
  const p = percentileLabel(report.latencyPercentile);
  const withCustom = report.checks.some((c) => c.custom.length > 0);
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
    'Verdict',
    'Reasons',
  ];
  const rows = report.checks.map((check) => checkRow(check, withCustom));
  return `### Checks\n\n${table(header.map(cell), rows)}`;
}

function checkRow(check: CheckResult, withCustom: boolean): string[] {
  const verdict =
    check.warmUp && check.verdict !== 'fail' ? 'WARM-UP' : verdictLabel(check.verdict);
  return [
    formatDuration(check.elapsedMs),
    `${check.weight}%`,
    formatPercent(check.canary.successRate),
    formatPercent(check.stable.successRate),
    formatLatency(check.canary.latencyMs),
    formatLatency(check.stable.latencyMs),
    String(check.canary.requests),
    String(check.stable.requests),
    ...(withCustom ? [cell(check.custom.map(formatCustom).join(', '))] : []),
    check.verdict === 'pass' ? verdict : `**${verdict}**`,
    cell(check.reasons.join('\n')),
  ];
}

function chartSection(report: StageReport, names: SideNames): string | undefined {
  const chart = renderSuccessChart(report.checks, names);
  if (chart === undefined) return undefined;
  const legend =
    `Orange (${CHART_COLOURS.canary}): canary ${code(names.canary)}; ` +
    `blue (${CHART_COLOURS.stable}): stable ${code(names.stable)}.`;
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

/** A Markdown table; every cell must already be escaped. */
function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Text safe inside a table cell: a `|` would start a new column and a line break would end the
 * row, and HTML in a metric name or message must show as text.
 */
export function cell(text: string): string {
  return escapeHtml(text)
    .replace(/\|/g, '\\|')
    .replace(/\r?\n|\r/g, '<br>');
}

/** Text safe in a paragraph or quote: one line, no HTML. */
function inline(text: string): string {
  return escapeHtml(text).replace(/\s*[\r\n]+\s*/g, ' ');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline code that survives backticks in the text, and `|` when it sits in a table. */
function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const ticks = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ')}${pad}${ticks}`;
}

/** A fenced block whose fence is longer than any backtick run inside it. */
function fence(lang: string, body: string): string {
  const longest = Math.max(2, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${lang}\n${body}\n${ticks}`;
}
