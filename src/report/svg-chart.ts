import { htmlText as text } from '../escape/html.ts';

/**
 * A line chart as inline SVG for the HTML report: no script, no external resource, every label
 * escaped. The marks carry `data-*` attributes naming what they show, so that a test (or a
 * person with the inspector) can tell a drawn point from decoration.
 */

/** How a point is drawn: judged, shown but not judged (warm-up), or the check that failed. */
export type DotKind = 'judged' | 'warm-up' | 'failed';

/** One measured value. */
export interface ChartDot {
  /** Position on the x axis, in the axis' unit (milliseconds of the watch). */
  x: number;
  y: number;
  kind: DotKind;
  /** The tooltip: what was measured, when. */
  title: string;
}

/** One line: its points in x order; undefined breaks the line where a check had no value. */
export interface ChartSeries {
  /** `canary` or `stable`: the mark's shape and the `data-series` attribute. */
  key: 'canary' | 'stable';
  colour: string;
  points: (ChartDot | undefined)[];
}

/** A shaded stretch of the x axis with a label at its top: one weight's watch. */
export interface ChartBand {
  from: number;
  to: number;
  label: string;
}

/** Everything the chart shows. */
export interface LineChartSpec {
  /** Read out by screen readers; the visible title is the page's heading. */
  label: string;
  yMin: number;
  yMax: number;
  yTicks: readonly number[];
  formatY: (value: number) => string;
  xMax: number;
  xTicks: readonly number[];
  formatX: (value: number) => string;
  bands: readonly ChartBand[];
  /** Drawn in order: the later series lies on top. */
  series: readonly ChartSeries[];
  /** A dashed horizontal limit (min-success-rate), when it lies within the axis. */
  guide?: { y: number; label: string };
}

const WIDTH = 760;
const HEIGHT = 280;
const MARGIN = { left: 60, right: 18, top: 30, bottom: 40 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const FAILED_COLOUR = '#c92a2a';

/** The chart's SVG element. */
export function renderLineChart(spec: LineChartSpec): string {
  const scale = scales(spec);
  const parts = [
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${text(spec.label)}" xmlns="http://www.w3.org/2000/svg">`,
    bandsOf(spec, scale),
    yAxisOf(spec, scale),
    xAxisOf(spec, scale),
    guideOf(spec, scale),
    ...spec.series.map((series) => seriesOf(series, scale)),
    '</svg>',
  ];
  return parts.filter((part) => part !== '').join('\n');
}

interface Scale {
  x: (value: number) => number;
  y: (value: number) => number;
}

function scales(spec: LineChartSpec): Scale {
  const xSpan = spec.xMax > 0 ? spec.xMax : 1;
  const ySpan = spec.yMax > spec.yMin ? spec.yMax - spec.yMin : 1;
  const clampY = (v: number): number => Math.min(spec.yMax, Math.max(spec.yMin, v));
  return {
    x: (v) => MARGIN.left + (Math.min(Math.max(v, 0), xSpan) / xSpan) * PLOT_W,
    y: (v) => MARGIN.top + PLOT_H - ((clampY(v) - spec.yMin) / ySpan) * PLOT_H,
  };
}

function bandsOf(spec: LineChartSpec, scale: Scale): string {
  return spec.bands
    .map((band, i) => {
      const x0 = scale.x(band.from);
      const x1 = scale.x(band.to);
      const fill = i % 2 === 0 ? 'band' : 'band band-alt';
      const labelX = x0 + 4;
      return (
        `<rect class="${fill}" x="${n(x0)}" y="${MARGIN.top}" width="${n(Math.max(0, x1 - x0))}" height="${PLOT_H}"/>` +
        `<text class="band-label" x="${n(labelX)}" y="${MARGIN.top - 8}">${text(band.label)}</text>` +
        (i > 0
          ? `<line class="band-edge" x1="${n(x0)}" y1="${MARGIN.top}" x2="${n(x0)}" y2="${MARGIN.top + PLOT_H}"/>`
          : '')
      );
    })
    .join('\n');
}

function yAxisOf(spec: LineChartSpec, scale: Scale): string {
  return spec.yTicks
    .map((tick) => {
      const y = n(scale.y(tick));
      return (
        `<line class="grid" x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + PLOT_W}" y2="${y}"/>` +
        `<text class="tick tick-y" x="${MARGIN.left - 8}" y="${y}">${text(spec.formatY(tick))}</text>`
      );
    })
    .join('\n');
}

function xAxisOf(spec: LineChartSpec, scale: Scale): string {
  const base = MARGIN.top + PLOT_H;
  const ticks = spec.xTicks.map((tick) => {
    const x = n(scale.x(tick));
    return (
      `<line class="axis" x1="${x}" y1="${base}" x2="${x}" y2="${base + 5}"/>` +
      `<text class="tick tick-x" x="${x}" y="${base + 20}">${text(spec.formatX(tick))}</text>`
    );
  });
  return [
    `<line class="axis" x1="${MARGIN.left}" y1="${base}" x2="${MARGIN.left + PLOT_W}" y2="${base}"/>`,
    ...ticks,
  ].join('\n');
}

function guideOf(spec: LineChartSpec, scale: Scale): string {
  const guide = spec.guide;
  if (!guide || guide.y < spec.yMin || guide.y > spec.yMax) return '';
  const y = n(scale.y(guide.y));
  return (
    `<line class="guide" x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + PLOT_W}" y2="${y}"/>` +
    `<text class="guide-label" x="${MARGIN.left + 6}" y="${n(scale.y(guide.y) + 15)}">${text(guide.label)}</text>`
  );
}

/**
 * A series: its line, broken where a value is missing, then its marks. Stable is drawn wide and
 * pale, the canary narrow on top of it, so that where both are equal (both at 100%) the canary's
 * line runs inside stable's and both stay visible. Canary marks are circles, smaller than
 * stable's squares, so that a canary point on a stable one leaves the square's corners showing:
 * the shapes tell the lines apart without colour. The failed check's ring goes on the canary.
 */
function seriesOf(series: ChartSeries, scale: Scale): string {
  const runs: ChartDot[][] = [[]];
  for (const dot of series.points) {
    if (dot === undefined) runs.push([]);
    else runs[runs.length - 1].push(dot);
  }
  const lines = runs
    .filter((run) => run.length >= 2)
    .map(
      (run) =>
        `<polyline class="line line-${series.key}" stroke="${series.colour}" points="${run.map((d) => `${n(scale.x(d.x))},${n(scale.y(d.y))}`).join(' ')}"/>`,
    );
  const marks = series.points
    .filter((dot): dot is ChartDot => dot !== undefined)
    .map((dot) => markOf(series, dot, scale));
  return [`<g data-series="${series.key}">`, ...lines, ...marks, '</g>'].join('\n');
}

function markOf(series: ChartSeries, dot: ChartDot, scale: Scale): string {
  const x = scale.x(dot.x);
  const y = scale.y(dot.y);
  const fill = dot.kind === 'warm-up' ? '#ffffff' : series.colour;
  const attrs = `data-point="${series.key}" data-kind="${dot.kind}" data-value="${n(dot.y)}" fill="${fill}" stroke="${series.colour}"`;
  const title = `<title>${text(dot.title)}</title>`;
  const shape =
    series.key === 'canary'
      ? `<circle class="mark" cx="${n(x)}" cy="${n(y)}" r="4" ${attrs}>${title}</circle>`
      : `<rect class="mark" x="${n(x - 5)}" y="${n(y - 5)}" width="10" height="10" ${attrs}>${title}</rect>`;
  if (dot.kind !== 'failed' || series.key !== 'canary') return shape;
  const ring = `<circle class="failed-ring" cx="${n(x)}" cy="${n(y)}" r="9" stroke="${FAILED_COLOUR}"/>`;
  return ring + shape;
}

/** Coordinates to a tenth of a pixel: enough for the eye, short in the file. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/**
 * Round tick values within `min` to `max`: a step of 1, 2 or 5 times a power of ten, chosen so
 * that there are at most `most` intervals.
 */
export function niceTicks(min: number, max: number, most = 5): number[] {
  if (!(max > min)) return [min];
  const step = niceStep((max - min) / most);
  const ticks: number[] = [];
  for (let i = Math.ceil(min / step - 1e-9); i * step <= max + step * 1e-9; i++) {
    ticks.push(Number((i * step).toPrecision(12)));
  }
  return ticks;
}

/**
 * Ticks from 0 to the first round value at or above `max`, at most `most` intervals: an axis
 * whose top is never below the highest point drawn.
 */
export function ticksCovering(max: number, most = 5): number[] {
  const top = max > 0 ? max : 1;
  const step = niceStep(top / most);
  const count = Math.ceil(top / step - 1e-9);
  return Array.from({ length: count + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw * (1 - 1e-9)) ?? 10 * power;
}

/** Time ticks on steps a clock reads easily (5 s, 30 s, 1 min, 5 min, ...), at most `most`. */
export function timeTicks(maxMs: number, most = 8): number[] {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400].map(
    (s) => s * 1000,
  );
  const span = Math.max(maxMs, 1000);
  const step =
    steps.find((s) => span / s <= most) ?? Math.ceil(span / most / 3_600_000) * 3_600_000;
  const ticks: number[] = [];
  for (let t = 0; t <= span + 1e-6; t += step) ticks.push(t);
  return ticks;
}
