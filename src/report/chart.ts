import type { CheckResult } from '../metrics/types.ts';
import { formatDuration } from './log-line.ts';
import type { SideNames } from './report.ts';
import { timeline } from './timeline.ts';

/**
 * Series colours, canary first: Mermaid's xychart has no legend, so the summary names the colours
 * beside the chart. Orange and blue stay apart for the common colour-vision deficiencies.
 */
export const CHART_COLOURS = { canary: '#e8590c', stable: '#1c7ed6' } as const;

/** One x position of the chart: a check where both sides had a success rate. */
export interface ChartPoint {
  /** Milliseconds since the first weight's watch began (see timeline.ts). */
  atMs: number;
  weight: number;
  canary: number;
  stable: number;
  /** Shown but not judged: the first window after a weight change. */
  warmUp: boolean;
  failed: boolean;
  /** The first point drawn at its weight. */
  weightStart: boolean;
}

/**
 * The checks that can be drawn. A Mermaid series needs a number at every x, and a check without
 * a success rate on either side is left out rather than given a carried-over value: the chart
 * must not show a measurement that was never made. The x labels are times, so a gap is visible.
 */
export function chartPoints(checks: readonly CheckResult[]): ChartPoint[] {
  const points: ChartPoint[] = [];
  let lastWeight: number | undefined;
  for (const { check, atMs } of timeline(checks).points) {
    const canary = check.canary.successRate;
    const stable = check.stable.successRate;
    if (canary === undefined || stable === undefined) continue;
    if (!Number.isFinite(canary) || !Number.isFinite(stable)) continue;
    points.push({
      atMs,
      weight: check.weight,
      canary,
      stable,
      warmUp: Boolean(check.warmUp) && check.verdict !== 'fail',
      failed: check.verdict === 'fail',
      weightStart: check.weight !== lastWeight,
    });
    lastWeight = check.weight;
  }
  return points;
}

/**
 * A Mermaid `xychart-beta` of canary vs stable success rate over the watch, or undefined when
 * fewer than two checks had data on both sides (one point is not a line). The canary is drawn
 * as bars and stable as a line over them: xychart draws every line alike, so two equal lines
 * (both at 100%) would show as one, while a line across the tops of bars stays visible. An x
 * label names the time since the first weight was set, the weight where a new one starts, and
 * marks the warm-up windows (shown, not judged) and the failed checks. The y axis runs from one
 * point below the lowest rate seen (whole percent, at least 0) to 100, so that a drop of a few
 * tenths is visible and the top of the scale is always "no errors".
 */
export function renderSuccessChart(
  checks: readonly CheckResult[],
  names: SideNames,
): string | undefined {
  const points = chartPoints(checks);
  if (points.length < 2) return undefined;
  const lowest = Math.min(...points.map((p) => Math.min(p.canary, p.stable)));
  const yMin = Math.max(0, Math.min(99, Math.floor(lowest - 1)));
  const title = `Success rate: ${names.canary} (canary, bars) vs ${names.stable} (stable, line)`;
  return [
    '---',
    'config:',
    '  themeVariables:',
    '    xyChart:',
    `      plotColorPalette: "${CHART_COLOURS.canary}, ${CHART_COLOURS.stable}"`,
    '---',
    'xychart-beta',
    `  title ${quote(title)}`,
    `  x-axis ${quote('time watched')} [${points.map((p) => quote(pointLabel(p))).join(', ')}]`,
    `  y-axis ${quote('success %')} ${yMin} --> 100`,
    `  bar [${points.map((p) => chartNumber(p.canary)).join(', ')}]`,
    `  line [${points.map((p) => chartNumber(p.stable)).join(', ')}]`,
  ].join('\n');
}

/** `1m30s`, `2m (25%, warm-up)`, `2m30s (failed)`. */
export function pointLabel(point: ChartPoint): string {
  const notes = [
    ...(point.weightStart ? [`${point.weight}%`] : []),
    ...(point.warmUp ? ['warm-up'] : []),
    ...(point.failed ? ['failed'] : []),
  ];
  const time = formatDuration(point.atMs);
  return notes.length > 0 ? `${time} (${notes.join(', ')})` : time;
}

/**
 * A Mermaid string. xychart has no escape for a double quote inside a quoted text, a line break
 * ends the statement, and GitHub draws the labels with HTML; subset names can come from the
 * saved state on the cluster. So anything but letters, digits, spaces and plain punctuation
 * (`-_.,:%'()/+`) becomes `_`, and a double quote becomes a single one.
 */
export function quote(text: string): string {
  const plain = text.replace(/"/g, "'").replace(/[^\p{L}\p{N} \-_.,:%'()/+]/gu, '_');
  return `"${plain}"`;
}

/** Two decimals are more than a chart can show; no exponent, no trailing zeros. */
function chartNumber(value: number): string {
  return String(Math.round(value * 100) / 100);
}
