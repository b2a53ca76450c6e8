import type { CheckResult } from '../metrics/types.ts';
import { formatDuration } from './log-line.ts';
import type { SideNames } from './report.ts';

/**
 * Line colours, canary first: Mermaid's xychart has no legend, so the summary names the colours
 * beside the chart. Orange and blue stay apart for the common colour-vision deficiencies.
 */
export const CHART_COLOURS = { canary: '#e8590c', stable: '#1c7ed6' } as const;

/** One x position of the chart: a check where both sides had a success rate. */
export interface ChartPoint {
  elapsedMs: number;
  canary: number;
  stable: number;
}

/**
 * The checks that can be drawn. A Mermaid line needs a number at every x, and a check without a
 * success rate on either side is left out rather than given a carried-over value: the chart must
 * not show a measurement that was never made. The x labels are elapsed times, so a gap is visible.
 */
export function chartPoints(checks: readonly CheckResult[]): ChartPoint[] {
  const points: ChartPoint[] = [];
  for (const check of checks) {
    const canary = check.canary.successRate;
    const stable = check.stable.successRate;
    if (canary === undefined || stable === undefined) continue;
    if (!Number.isFinite(canary) || !Number.isFinite(stable)) continue;
    points.push({ elapsedMs: check.elapsedMs, canary, stable });
  }
  return points;
}

/**
 * A Mermaid `xychart-beta` of canary vs stable success rate over the watch, or undefined when
 * fewer than two checks had data on both sides (one point is not a line). The y axis runs from
 * one point below the lowest rate seen (whole percent, at least 0) to 100, so that a drop of a
 * few tenths is visible and the top of the scale is always "no errors".
 */
export function renderSuccessChart(
  checks: readonly CheckResult[],
  names: SideNames,
): string | undefined {
  const points = chartPoints(checks);
  if (points.length < 2) return undefined;
  const lowest = Math.min(...points.map((p) => Math.min(p.canary, p.stable)));
  const yMin = Math.max(0, Math.min(99, Math.floor(lowest - 1)));
  const title = `Success rate: ${names.canary} (canary) vs ${names.stable} (stable)`;
  return [
    '---',
    'config:',
    '  themeVariables:',
    '    xyChart:',
    `      plotColorPalette: "${CHART_COLOURS.canary}, ${CHART_COLOURS.stable}"`,
    '---',
    'xychart-beta',
    `  title ${quote(title)}`,
    `  x-axis ${quote('elapsed')} [${points.map((p) => quote(formatDuration(p.elapsedMs))).join(', ')}]`,
    `  y-axis ${quote('success %')} ${yMin} --> 100`,
    `  line [${points.map((p) => chartNumber(p.canary)).join(', ')}]`,
    `  line [${points.map((p) => chartNumber(p.stable)).join(', ')}]`,
  ].join('\n');
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
