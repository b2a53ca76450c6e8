import { htmlText as text } from '../escape/html.ts';
import type { CheckResult } from '../metrics/types.ts';
import {
  checkLabel,
  formatCustom,
  formatDuration,
  formatLatency,
  formatPercent,
  percentileLabel,
} from './log-line.ts';
import type { SideNames, StageReport } from './report.ts';
import { timeline, type WeightSegment } from './timeline.ts';

/** What became of one planned weight. */
export type StageState = 'passed' | 'set' | 'failed' | 'not-reached' | 'planned';

const STATE_WORDS: Record<StageState, string> = {
  passed: 'watched, passed',
  set: 'set, not watched',
  failed: 'breached',
  'not-reached': 'not reached',
  planned: 'planned',
};

/**
 * Each planned weight with what became of it. In a dry run every weight is only planned. After a
 * rollback the weights before the breach passed (or were set without a watch), the one in force
 * failed, and the later ones were never reached. Otherwise every weight was reached.
 */
export function stageStates(report: StageReport): { weight: number; state: StageState }[] {
  const watched = new Set(timeline(report.checks).segments.map((s) => s.weight));
  const reached = (weight: number): StageState => (watched.has(weight) ? 'passed' : 'set');
  if (report.outcome === 'dry-run')
    return report.weights.map((weight) => ({ weight, state: 'planned' }));
  if (report.outcome !== 'rolled-back')
    return report.weights.map((weight) => ({ weight, state: reached(weight) }));
  const breach = report.breachWeight ?? report.checks.at(-1)?.weight;
  const at = breach === undefined ? -1 : report.weights.indexOf(breach);
  return report.weights.map((weight, i) => {
    if (at === -1) return { weight, state: 'not-reached' };
    if (i < at) return { weight, state: reached(weight) };
    return { weight, state: i === at ? 'failed' : 'not-reached' };
  });
}

/** The weights as a row of steps, from the weight before to where the job left the route. */
export function stagesSection(report: StageReport, names: SideNames): string | undefined {
  if (report.weights.length === 0 && report.checks.length === 0) return undefined;
  const steps = [
    step('before', `${report.weightBefore}%`, 'before the job', 'restored'),
    ...stageStates(report).map(({ weight, state }) =>
      step(state, `${weight}%`, STATE_WORDS[state], state),
    ),
  ];
  if (report.outcome === 'rolled-back') {
    steps.push(step('restored', `${report.weightAfter}%`, 'route restored', 'restored'));
  }
  const segments = timeline(report.checks).segments;
  const parts = ['<section>', '<h2>Stages</h2>', `<ol class="stages">${steps.join('')}</ol>`];
  if (segments.length > 0) parts.push(segmentTable(segments, names));
  parts.push('</section>');
  return parts.join('\n');
}

function step(key: string, weight: string, words: string, css: string): string {
  return `<li data-stage="${text(key)}"><div class="stage ${css}"><strong>${text(weight)}</strong><span>${text(words)}</span></div></li>`;
}

/** Per watched weight: how long, how many checks, and each side's requests and errors summed. */
function segmentTable(segments: readonly WeightSegment[], names: SideNames): string {
  const rows = segments.map((segment) => {
    const canary = sums(segment.checks, 'canary');
    const stable = sums(segment.checks, 'stable');
    const failed = segment.checks.filter((c) => c.verdict === 'fail').length;
    return row([
      `${segment.weight}%`,
      formatDuration(segment.toMs - segment.fromMs),
      `${segment.checks.length}${failed > 0 ? ` (${failed} failed)` : ''}`,
      sideCell(canary),
      sideCell(stable),
    ]);
  });
  const header = headerRow([
    'Weight',
    'Watched',
    'Checks',
    `Canary ${names.canary}: requests, 5xx, success`,
    `Stable ${names.stable}: requests, 5xx, success`,
  ]);
  return table(header, rows);
}

function sums(
  checks: readonly CheckResult[],
  side: 'canary' | 'stable',
): { requests: number; errors: number } {
  let requests = 0;
  let errors = 0;
  for (const check of checks) {
    requests += check[side].requests;
    errors += check[side].errors;
  }
  return { requests, errors };
}

function sideCell({ requests, errors }: { requests: number; errors: number }): string {
  const rate = requests > 0 ? formatPercent(100 * (1 - errors / requests)) : 'n/a';
  return `${requests} requests, ${errors} 5xx, ${rate}`;
}

const TRAFFIC_WORDS: Record<NonNullable<StageReport['traffic']>[number]['verdict'], string> = {
  ok: 'consistent',
  'low-evidence': 'too few requests to tell',
  mismatch: 'mismatch',
};

/** Whether the canary received the share of traffic its weight promised, per weight watched. */
export function trafficSection(report: StageReport): string | undefined {
  if (!report.traffic || report.traffic.length === 0) return undefined;
  const rows = report.traffic.map((t) =>
    row(
      [
        `${t.weight}%`,
        `${t.expectedPercent.toFixed(1)}%`,
        t.observedPercent === undefined ? 'n/a' : `${t.observedPercent.toFixed(1)}%`,
        String(t.requests),
        TRAFFIC_WORDS[t.verdict],
        t.sentence,
      ],
      t.verdict === 'mismatch' ? 'failed' : '',
    ),
  );
  const header = headerRow([
    'Weight',
    'Expected share',
    'Observed share',
    'Requests',
    'Verdict',
    'In words',
  ]);
  return ['<section>', '<h2>Traffic verification</h2>', table(header, rows), '</section>'].join(
    '\n',
  );
}

/** Every check, as the log printed it, with the warm-up and failed ones set apart. */
export function checksSection(report: StageReport, names: SideNames): string | undefined {
  if (report.checks.length === 0) return undefined;
  const p = percentileLabel(report.latencyPercentile);
  const withCustom = report.checks.some((c) => c.custom.length > 0);
  const header = headerRow([
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
  ]);
  const rows = report.checks.map((check) => checkRow(check, withCustom));
  return ['<section>', '<h2>Checks</h2>', table(header, rows), '</section>'].join('\n');
}

function checkRow(check: CheckResult, withCustom: boolean): string {
  const label = checkLabel(check);
  const css = check.verdict === 'fail' ? 'failed' : check.warmUp ? 'warm-up' : '';
  const verdictCss = check.verdict === 'fail' ? 'fail' : label === 'PASS' ? 'pass' : 'other';
  const cells = [
    cell(formatDuration(check.elapsedMs), 'r'),
    cell(`${check.weight}%`, 'r'),
    cell(formatPercent(check.canary.successRate), 'r'),
    cell(formatPercent(check.stable.successRate), 'r'),
    cell(formatLatency(check.canary.latencyMs), 'r'),
    cell(formatLatency(check.stable.latencyMs), 'r'),
    cell(String(check.canary.requests), 'r'),
    cell(String(check.stable.requests), 'r'),
    ...(withCustom ? [cell(check.custom.map(formatCustom).join(', '))] : []),
    `<td><span class="verdict ${verdictCss}">${text(label)}</span></td>`,
    `<td>${check.reasons.map(text).join('<br>')}</td>`,
  ];
  return `<tr${css ? ` class="${css}"` : ''}>${cells.join('')}</tr>`;
}

function cell(value: string, css = ''): string {
  return `<td${css ? ` class="${css}"` : ''}>${text(value)}</td>`;
}

function row(values: readonly string[], css = ''): string {
  return `<tr${css ? ` class="${css}"` : ''}>${values.map((v) => cell(v)).join('')}</tr>`;
}

function headerRow(values: readonly string[]): string {
  return `<tr>${values.map((v) => `<th>${text(v)}</th>`).join('')}</tr>`;
}

/** A table in a scrolling box: a wide table scrolls inside the page instead of widening it. */
export function table(header: string, rows: readonly string[]): string {
  return `<div class="table-wrap"><table><thead>${header}</thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}
