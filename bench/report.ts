/** The benchmark's tables in Markdown, and the goals of the issue checked against them. */
import type { Row } from './summary.ts';

/** Results of one scenario. */
export interface ScenarioResult {
  id: string;
  title: string;
  rows: Row[];
}

const pct = (x: number): string => `${(100 * x).toFixed(x < 0.1 && x > 0 ? 2 : 1)}%`;

function time(s: number): string {
  if (!Number.isFinite(s)) return 'never';
  return s < 120 ? `${s} s` : `${(s / 60).toFixed(1)} min`;
}

/** One Markdown table per scenario. */
export function scenarioTable(r: ScenarioResult): string {
  const head = [
    `### ${r.title}`,
    '',
    '| method | k | runs | rolled back (k = 1: false) | 95% CI | median time | p90 time | median excess errors | inconclusive | held (degraded) |',
    '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|',
  ];
  const lines = r.rows.map((row) =>
    [
      row.label,
      row.k,
      row.runs,
      pct(row.rollbackRate),
      `${pct(row.rollbackCi[0])} – ${pct(row.rollbackCi[1])}`,
      time(row.medianTimeS),
      time(row.p90TimeS),
      row.medianExcessErrors.toFixed(1),
      row.inconclusiveRate === undefined ? '—' : pct(row.inconclusiveRate),
      row.heldRate === undefined ? '—' : pct(row.heldRate),
    ].join(' | '),
  );
  return [...head, ...lines.map((l) => `| ${l} |`), ''].join('\n');
}

/** A goal of the issue and whether the measurement meets it. */
export interface Goal {
  goal: string;
  met: boolean;
  measured: string;
}

/** Checks the goals for the sequential method `ours` against Flagger threshold 5. */
export function goals(results: ScenarioResult[], ours: string): Goal[] {
  const find = (scenario: string, method: string, k: number): Row | undefined =>
    results
      .find((r) => r.id === scenario)
      ?.rows.find((row) => row.method === method && row.k === k);
  const falseRates = results.map((r) => ({ id: r.id, row: find(r.id, ours, 1) }));
  const worst = Math.max(...falseRates.map((f) => f.row?.rollbackRate ?? 1));
  const out: Goal[] = [
    {
      goal: 'false rollbacks <= 1% in every scenario',
      met: worst <= 0.01,
      measured: falseRates
        .map(
          (f) =>
            `${f.id} ${pct(f.row?.rollbackRate ?? NaN)} (CI upper ${pct(f.row?.rollbackCi[1] ?? NaN)})`,
        )
        .join('; '),
    },
  ];
  const o10 = find('baseline', ours, 10);
  const f10 = find('baseline', 'flagger-5', 10);
  if (o10 && f10) {
    out.push({
      goal: '10x at 100 rps / 10%: time to rollback and excess errors >= 10x lower than Flagger threshold 5',
      met:
        o10.medianTimeS * 10 <= f10.medianTimeS &&
        o10.medianExcessErrors * 10 <= f10.medianExcessErrors,
      measured: `median time ${time(o10.medianTimeS)} vs ${time(f10.medianTimeS)} (${(f10.medianTimeS / o10.medianTimeS).toFixed(1)}x); median excess errors ${o10.medianExcessErrors.toFixed(1)} vs ${f10.medianExcessErrors.toFixed(1)} (${(f10.medianExcessErrors / o10.medianExcessErrors).toFixed(1)}x)`,
    });
  }
  const o2 = find('baseline', ours, 2);
  const f2 = find('baseline', 'flagger-5', 2);
  const f2one = find('baseline', 'flagger-1', 2);
  if (o2 && f2 && f2one) {
    out.push({
      goal: '2x at 100 rps / 10%: detection at least Flagger threshold 5 with >= 40% fewer excess errors',
      met:
        o2.rollbackRate >= f2.rollbackRate && o2.medianExcessErrors <= 0.6 * f2.medianExcessErrors,
      measured: `detection ${pct(o2.rollbackRate)} vs ${pct(f2.rollbackRate)} (threshold 1: ${pct(f2one.rollbackRate)}); median excess errors ${o2.medianExcessErrors.toFixed(1)} vs ${f2.medianExcessErrors.toFixed(1)} (threshold 1: ${f2one.medianExcessErrors.toFixed(1)})`,
    });
  }
  return out;
}

/** The goals as a Markdown list. */
export function goalsMarkdown(list: Goal[], oursLabel: string): string {
  const lines = list.map((g) => `- ${g.met ? 'met' : 'NOT met'}: ${g.goal}. ${g.measured}.`);
  return [`### Goals (${oursLabel} against Flagger-style)`, '', ...lines, ''].join('\n');
}
