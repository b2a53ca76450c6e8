import { stringify } from 'yaml';
import type { Secrets } from '../config/secrets.ts';
import { htmlBlock, htmlText as text } from '../escape/html.ts';
import { VERSION } from '../version.ts';
import { CHART_COLOURS } from './chart.ts';
import { latencyChart, successRateChart } from './html-charts.ts';
import { judgeSection } from './html-judge.ts';
import { checksSection, stagesSection, trafficSection } from './html-stages.ts';
import { HTML_STYLE } from './html-style.ts';
import { sideNames } from './report.ts';
import type { Outcome, SideNames, StageReport } from './report.ts';

const TITLES: Record<Outcome, string> = {
  passed: 'Canary stage passed',
  'rolled-back': 'Canary rolled back',
  promoted: 'Canary promoted',
  noop: 'Nothing to do',
  'dry-run': 'Dry run: nothing was changed',
};

const BADGES: Record<Outcome, string> = {
  passed: 'passed',
  'rolled-back': 'rolled back',
  promoted: 'promoted',
  noop: 'no-op',
  'dry-run': 'dry run',
};

/** Where the page points its reader: the JSON report written beside it. */
export interface HtmlReportOptions {
  /** File name of the JSON report of the same run, named in the footer. */
  jsonName?: string;
}

/**
 * The report as one self-contained HTML page: what happened and why, the weights, the judge's
 * evidence and verdict in words, charts of canary against stable (inline SVG), every check, and
 * in a dry run the planned change. Secrets are replaced in the report first; then every string
 * from it is escaped where it is placed (escape/html.ts). The page has no script, and its
 * Content-Security-Policy forbids scripts and every fetch, so even a mistake in escaping could
 * run nothing and send nothing anywhere.
 */
export function renderHtmlReport(
  unredacted: StageReport,
  secrets: Secrets,
  options: HtmlReportOptions = {},
): string {
  const report = secrets.redactDeep(unredacted);
  const names = sideNames(report);
  const title = `${TITLES[report.outcome]}: ${report.virtualService} in ${report.namespace}`;
  const body = [
    headerOf(report),
    reasonOf(report),
    detailsOf(report),
    stagesSection(report, names),
    judgeSection(report, names),
    chartsSection(report, names),
    trafficSection(report),
    checksSection(report, names),
    planSection(report),
    footerOf(report, options),
  ].filter((part): part is string => part !== undefined);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${text(`istio-canary: ${title}`)}</title>`,
    `<style>${HTML_STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    ...body,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function headerOf(report: StageReport): string {
  const target =
    `VirtualService <code>${text(report.virtualService)}</code> in namespace <code>${text(report.namespace)}</code>, ` +
    `route <code>${text(report.route)}</code> to host <code>${text(report.host)}</code>`;
  return [
    `<header class="outcome ${report.outcome}">`,
    `<p class="kicker">istio-canary report · <code>${text(report.command)}</code></p>`,
    `<h1>${text(TITLES[report.outcome])} <span class="badge ${report.outcome}">${text(BADGES[report.outcome])}</span></h1>`,
    `<p class="muted">${target}</p>`,
    '</header>',
  ].join('\n');
}

/** The reason stands first and stands out: it is what a person opening a failed job looks for. */
function reasonOf(report: StageReport): string | undefined {
  if (report.reason === undefined || report.reason.trim() === '') return undefined;
  const rolledBack = report.outcome === 'rolled-back';
  const restored =
    rolledBack && report.restoreSeconds !== undefined
      ? `<p class="small">The original route was restored ${text(seconds(report.restoreSeconds))} after the breach was seen.</p>`
      : '';
  return [
    `<div class="callout${rolledBack ? '' : ' why'}">`,
    `<h2>${rolledBack ? 'Why it was rolled back' : 'Why'}</h2>`,
    `<p>${text(report.reason)}</p>`,
    restored,
    '</div>',
  ]
    .filter(Boolean)
    .join('\n');
}

function detailsOf(report: StageReport): string {
  const facts: [string, string][] = [
    ['Canary weight', weightChange(report)],
    ['Stable subset', code(report.stableSubset)],
    ['Canary subset', code(report.canarySubset)],
    ['Started', `<span class="num">${text(report.startedAt)}</span>`],
    ['Finished', `<span class="num">${text(report.finishedAt)}</span>`],
    ['Duration', text(durationOf(report))],
  ];
  const items = facts.map(([key, value]) => `<div><dt>${key}</dt><dd>${value}</dd></div>`);
  return ['<section>', '<dl class="facts">', ...items, '</dl>', '</section>'].join('\n');
}

function code(value: string | undefined): string {
  return value === undefined ? '<span class="muted">n/a</span>' : `<code>${text(value)}</code>`;
}

/** After a rollback, "0% → 0%" would hide that the canary ran: name the weight that breached. */
function weightChange(report: StageReport): string {
  const breached = report.breachWeight ?? report.checks.at(-1)?.weight;
  if (report.outcome === 'rolled-back' && breached !== undefined) {
    return `${report.weightBefore}% → ${breached}%, restored to ${report.weightAfter}%`;
  }
  return `${report.weightBefore}% → ${report.weightAfter}%`;
}

function durationOf(report: StageReport): string {
  const ms = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  if (!Number.isFinite(ms) || ms < 0) return 'n/a';
  return seconds(ms / 1000);
}

/** `24 ms`, `1.3 s`, `45 s`, `2 min`, `2 min 5 s`. */
export function seconds(value: number): string {
  if (!Number.isFinite(value) || value < 0) return 'n/a';
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 10) return `${value.toFixed(1)} s`;
  const whole = Math.round(value);
  if (whole < 60) return `${whole} s`;
  const rest = whole % 60;
  return `${Math.floor(whole / 60)} min${rest > 0 ? ` ${rest} s` : ''}`;
}

function chartsSection(report: StageReport, names: SideNames): string | undefined {
  const success = successRateChart(report, names);
  const latency = latencyChart(report, names);
  if (success === undefined && latency === undefined) return undefined;
  const parts = ['<section>', '<h2>Canary against stable over the watch</h2>', legend(names)];
  if (success !== undefined)
    parts.push('<h3>Success rate (responses that were not 5xx)</h3>', success);
  if (latency !== undefined) {
    const p = report.latencyPercentile ?? 99;
    parts.push(`<h3>Latency at the ${p}th percentile</h3>`, latency);
  }
  parts.push(
    '<p class="small muted">Each shaded stretch is one weight. Times are since the first weight was set; a check without requests on a side leaves a gap in that line.</p>',
    '</section>',
  );
  return parts.join('\n');
}

/** The charts' key: colour and shape for each side, and the marks of unjudged and failed checks. */
function legend(names: SideNames): string {
  const swatch = (shape: string): string =>
    `<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">${shape}</svg>`;
  const c = CHART_COLOURS;
  const items = [
    `${swatch(`<circle cx="8" cy="8" r="5" fill="${c.canary}"/>`)}canary <code>${text(names.canary)}</code>`,
    `${swatch(`<rect x="3" y="3" width="10" height="10" fill="${c.stable}"/>`)}stable <code>${text(names.stable)}</code>`,
    `${swatch(`<circle cx="8" cy="8" r="5" fill="#fff" stroke="${c.canary}" stroke-width="2"/>`)}hollow: warm-up window, shown, not judged`,
    `${swatch('<circle cx="8" cy="8" r="6" fill="none" stroke="#c92a2a" stroke-width="2.5"/>')}ringed: the check failed`,
  ];
  return `<ul class="legend">${items.map((item) => `<li>${item}</li>`).join('')}</ul>`;
}

function planSection(report: StageReport): string | undefined {
  if (report.plan === undefined) return undefined;
  const block = (label: string, value: unknown): string =>
    `<div><h3>${label}</h3><pre>${htmlBlock(stringify(value).trimEnd())}</pre></div>`;
  return [
    '<section>',
    '<h2>Planned change</h2>',
    '<div class="plan">',
    block('Before', report.plan.before),
    block('After', report.plan.after),
    '</div>',
    '</section>',
  ].join('\n');
}

function footerOf(report: StageReport, options: HtmlReportOptions): string {
  const json =
    options.jsonName === undefined
      ? ''
      : ` The same run, every number, for tools: <code>${text(options.jsonName)}</code>.`;
  return `<footer>Written by istio-canary ${text(VERSION)} at ${text(report.finishedAt)}.${json}</footer>`;
}
