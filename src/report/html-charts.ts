import type { CheckResult, VersionStats } from '../metrics/types.ts';
import { CHART_COLOURS } from './chart.ts';
import { formatDuration, formatLatency, formatPercent, percentileLabel } from './log-line.ts';
import type { SideNames, StageReport } from './report.ts';
import {
  niceTicks,
  renderLineChart,
  ticksCovering,
  timeTicks,
  type ChartDot,
  type ChartSeries,
  type DotKind,
} from './svg-chart.ts';
import { timeline, type TimelinePoint } from './timeline.ts';

/** What one chart plots of a side's figures, and how a value reads. */
interface Measure {
  name: string;
  value: (stats: VersionStats) => number | undefined;
  format: (value: number) => string;
  /** An axis label: round values, shown without the rounding rules of measured ones. */
  formatTick: (value: number) => string;
}

/**
 * The success-rate chart: canary against stable at every check, over the whole job, the weights
 * as shaded stretches, min-success-rate as a dashed line when the judge used one. The y axis
 * runs from one point below the lowest value shown to 100, as in the job summary's chart.
 * Undefined when no check has a success rate.
 */
export function successRateChart(report: StageReport, names: SideNames): string | undefined {
  const measure: Measure = {
    name: 'success',
    value: (s) => s.successRate,
    format: formatPercent,
    formatTick: (v) => `${Number(v.toFixed(2))}%`,
  };
  const limit = report.analysis?.minSuccessRate;
  const values = allValues(report.checks, measure);
  if (values.length === 0) return undefined;
  const floor = Math.min(...values, limit && limit > 0 ? limit : 100);
  const ticks = ticksFrom(Math.max(0, Math.min(99, Math.floor(floor - 1))), 100);
  return chart(report, names, measure, {
    label: `Success rate over the watch: ${names.canary} (canary) against ${names.stable} (stable)`,
    yMin: ticks[0],
    yMax: 100,
    yTicks: ticks,
    guide: limit && limit > 0 ? { y: limit, label: `minimum ${limit}%` } : undefined,
  });
}

/**
 * The latency chart: canary against stable at the report's percentile, from 0 to a little above
 * the highest value. Undefined when no check has a latency.
 */
export function latencyChart(report: StageReport, names: SideNames): string | undefined {
  const measure: Measure = {
    name: percentileLabel(report.latencyPercentile),
    value: (s) => s.latencyMs,
    format: formatLatency,
    formatTick: formatLatency,
  };
  const values = allValues(report.checks, measure);
  if (values.length === 0) return undefined;
  const ticks = ticksCovering(Math.max(...values) * 1.05);
  return chart(report, names, measure, {
    label: `${measure.name} latency over the watch: ${names.canary} (canary) against ${names.stable} (stable)`,
    yMin: 0,
    yMax: ticks[ticks.length - 1],
    yTicks: ticks,
  });
}

/** Round ticks up to `max`, the lowest at or below `min`: the axis starts at a labelled value. */
function ticksFrom(min: number, max: number): number[] {
  const ticks = niceTicks(min, max);
  if (ticks.length < 2 || ticks[0] <= min) return ticks;
  const step = ticks[1] - ticks[0];
  return [Math.max(0, Number((ticks[0] - step).toPrecision(12))), ...ticks];
}

interface AxisChoice {
  label: string;
  yMin: number;
  yMax: number;
  yTicks?: number[];
  guide?: { y: number; label: string };
}

function chart(report: StageReport, names: SideNames, measure: Measure, axis: AxisChoice): string {
  const { points, segments } = timeline(report.checks);
  const xMax = Math.max(1000, ...points.map((p) => p.atMs));
  // Stable first: the canary's line and marks lie on top.
  const series: ChartSeries[] = [
    seriesOf('stable', names.stable, CHART_COLOURS.stable, points, measure),
    seriesOf('canary', names.canary, CHART_COLOURS.canary, points, measure),
  ];
  return renderLineChart({
    label: axis.label,
    yMin: axis.yMin,
    yMax: axis.yMax,
    yTicks: axis.yTicks ?? niceTicks(axis.yMin, axis.yMax),
    formatY: measure.formatTick,
    xMax,
    xTicks: timeTicks(xMax),
    formatX: formatDuration,
    bands: segments.map((s) => ({ from: s.fromMs, to: s.toMs, label: `${s.weight}%` })),
    series,
    guide: axis.guide,
  });
}

function seriesOf(
  key: 'canary' | 'stable',
  name: string,
  colour: string,
  points: readonly TimelinePoint[],
  measure: Measure,
): ChartSeries {
  return {
    key,
    colour,
    points: points.map(({ check, atMs }): ChartDot | undefined => {
      const value = measure.value(check[key]);
      if (value === undefined || !Number.isFinite(value)) return undefined;
      const kind = dotKind(check);
      const note = kind === 'warm-up' ? ' (warm-up: shown, not judged)' : '';
      return {
        x: atMs,
        y: value,
        kind,
        title: `${formatDuration(check.elapsedMs)} at ${check.weight}%: ${name} ${measure.name} ${measure.format(value)}${note}`,
      };
    }),
  };
}

/** A failed check is marked as failed even in a warm-up window (the fast path judges those). */
export function dotKind(check: CheckResult): DotKind {
  if (check.verdict === 'fail') return 'failed';
  if (check.warmUp) return 'warm-up';
  return 'judged';
}

function allValues(checks: readonly CheckResult[], measure: Measure): number[] {
  return checks
    .flatMap((c) => [measure.value(c.canary), measure.value(c.stable)])
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
}
