/** The benchmark's tables in Markdown, and the simulation goals checked against them. */
import type { ScenarioResult } from './benchmark.ts';
import type { Row } from './summary.ts';

export const OURS = 'sequential-scrape';
export const ORACLE = 'oracle';

const pct = (x: number): string => `${(100 * x).toFixed(x < 0.1 && x > 0 ? 2 : 1)}%`;

function time(s: number): string {
  if (!Number.isFinite(s)) return 'never';
  return s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}

const points = (x: number): string => `${(100 * x).toFixed(x < 0.1 ? 2 : 1)} points`;

const num = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '—');

/** The oracle's row at the same k, if any. */
function oracleRow(rows: readonly Row[], k: number): Row | undefined {
  return rows.find((r) => r.method === ORACLE && r.k === k);
}

/** Excess errors and median time against the oracle's, as "1.3x, +4.2 s". */
export function regret(row: Row, oracle: Row | undefined): string {
  if (!oracle || row.method === ORACLE) return '—';
  const ratio = row.medianExcessErrors / oracle.medianExcessErrors;
  const extra = row.medianTimeS - oracle.medianTimeS;
  const sign = extra >= 0 ? '+' : '−';
  const times = Number.isFinite(extra) ? `${sign}${Math.abs(extra).toFixed(1)} s` : 'never';
  return `${Number.isFinite(ratio) ? ratio.toFixed(2) : '—'}x, ${times}`;
}

/** One Markdown table per scenario. */
export function scenarioTable(r: ScenarioResult): string {
  const head = [
    `### ${r.title}`,
    '',
    '| method | k | runs | rolled back (k = 1: false) | 95% CI | median time | p90 time | median excess errors | vs oracle (excess, time) | inconclusive | held (degraded) |',
    '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|',
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
      num(row.medianExcessErrors),
      regret(row, oracleRow(r.rows, row.k)),
      row.inconclusiveRate === undefined ? '—' : pct(row.inconclusiveRate),
      row.heldRate === undefined ? '—' : pct(row.heldRate),
    ].join(' | '),
  );
  return [...head, ...lines.map((l) => `| ${l} |`), ''].join('\n');
}

/** The e-process candidates of one scenario, one row each, against the oracle per k. */
export function candidatesTable(r: ScenarioResult, factors: readonly number[]): string {
  if (r.candidates.length === 0) return '';
  const alts = factors.filter((k) => k !== 1);
  const ids = [...new Set(r.candidates.map((c) => c.method))];
  const head = [
    `### E-process candidates, error ratio alone at alpha 0.01: ${r.title}`,
    '',
    `Median excess errors and, in brackets, over the oracle's; for k = ${alts[0]} also the share caught within the watch. Each candidate is an e-process by construction, so none is run on healthy canaries.`,
    '',
    `| e-process | ${alts.map((k) => `k = ${k}`).join(' | ')} | worst vs oracle |`,
    `|---|${alts.map(() => '---:').join('|')}|---:|`,
  ];
  const lines = ids.map((id) => {
    const rows = r.candidates.filter((c) => c.method === id);
    let worst = 0;
    const cells = alts.map((k, i) => {
      const row = rows.find((c) => c.k === k);
      const oracle = oracleRow(r.rows, k);
      if (!row || !oracle) return '—';
      const ratio = row.medianExcessErrors / oracle.medianExcessErrors;
      worst = Math.max(worst, ratio);
      const detected = i === 0 ? `${pct(row.rollbackRate)} caught, ` : '';
      return `${detected}${num(row.medianExcessErrors)} (${ratio.toFixed(2)}x)`;
    });
    const label = rows[0].label;
    return `| ${label} | ${cells.join(' | ')} | ${worst.toFixed(2)}x |`;
  });
  return [...head, ...lines, ''].join('\n');
}

/** A goal of the issue and whether the measurement meets it. */
export interface Goal {
  goal: string;
  met: boolean;
  measured: string;
}

/** The simulation goals for `ours`, at the baseline with 15 s scrapes. */
export function goals(results: ScenarioResult[], ours = OURS): Goal[] {
  const find = (scenario: string, method: string, k: number): Row | undefined =>
    results
      .find((r) => r.id === scenario)
      ?.rows.find((row) => row.method === method && row.k === k);
  const out: Goal[] = [falseRollbackGoal(results, ours)];
  const o10 = find('baseline', ours, 10);
  const or10 = find('baseline', ORACLE, 10);
  const f10 = find('baseline', 'flagger-5', 10);
  if (o10 && or10 && f10) {
    const vsOracle = o10.medianExcessErrors / or10.medianExcessErrors;
    const vsFlagger = f10.medianExcessErrors / o10.medianExcessErrors;
    out.push({
      goal: "10x regression: excess errors at most 1.5x the oracle's",
      met: vsOracle <= 1.5,
      measured: `${num(o10.medianExcessErrors)} vs the oracle's ${num(or10.medianExcessErrors)}: ${vsOracle.toFixed(2)}x (${margin(vsOracle, 1.5, 'at most')}); median time ${time(o10.medianTimeS)} vs ${time(or10.medianTimeS)}`,
    });
    out.push({
      goal: '10x regression: at least 10x fewer excess errors than Flagger threshold 5',
      met: vsFlagger >= 10,
      measured: `${num(o10.medianExcessErrors)} vs ${num(f10.medianExcessErrors)}: ${vsFlagger.toFixed(1)}x fewer (${margin(vsFlagger, 10, 'at least')}); median time ${time(o10.medianTimeS)} vs ${time(f10.medianTimeS)}`,
    });
  }
  const o2 = find('baseline', ours, 2);
  const or2 = find('baseline', ORACLE, 2);
  const f2 = find('baseline', 'flagger-5', 2);
  if (o2 && f2) {
    const fewer = 1 - o2.medianExcessErrors / f2.medianExcessErrors;
    const detectionOk = o2.rollbackRate >= f2.rollbackRate;
    out.push({
      goal: '2x regression: at least 40% fewer excess errors than Flagger threshold 5, at no lower detection rate',
      met: fewer >= 0.4 && detectionOk,
      measured: `${num(o2.medianExcessErrors)} vs ${num(f2.medianExcessErrors)}: ${pct(fewer)} fewer (${margin(fewer, 0.4, 'at least', points)}); detection ${pct(o2.rollbackRate)} vs ${pct(f2.rollbackRate)}${or2 ? `; the oracle: ${num(or2.medianExcessErrors)} (${pct(1 - or2.medianExcessErrors / f2.medianExcessErrors)} fewer), detection ${pct(or2.rollbackRate)}` : ''}`,
    });
  }
  const preview = previewGoal(results, ours);
  if (preview) out.push(preview);
  return out;
}

/**
 * The real loop's 10x case (200 rps, canary 10%, 1 s scrapes) in simulation: a preview of what
 * the end-to-end benchmark measures on the real loop, not that measurement.
 */
function previewGoal(results: ScenarioResult[], ours: string): Goal | undefined {
  const rows = results.find((r) => r.id === 'sandbox-200')?.rows;
  const o = rows?.find((row) => row.method === ours && row.k === 10);
  const oracle = rows?.find((row) => row.method === ORACLE && row.k === 10);
  if (!o || !oracle) return undefined;
  return {
    goal: 'simulated preview of the real loop, 200 rps, 1 s scrapes, 10x: restored within 7 s with at most 7 canary errors served (medians)',
    met: o.medianTimeS <= 7 && o.medianCanaryErrors <= 7,
    measured: `median ${time(o.medianTimeS)} (${margin(o.medianTimeS, 7, 'at most', (x) => `${x.toFixed(1)} s`)}), ${num(o.medianCanaryErrors)} canary errors (${margin(o.medianCanaryErrors, 7, 'at most', num)}); the oracle ${time(oracle.medianTimeS)}, ${num(oracle.medianCanaryErrors)}`,
  };
}

function falseRollbackGoal(results: ScenarioResult[], ours: string): Goal {
  const rates = results.map((r) => ({
    id: r.id,
    row: r.rows.find((row) => row.method === ours && row.k === 1),
  }));
  const worst = Math.max(...rates.map((f) => f.row?.rollbackRate ?? 1));
  return {
    goal: 'false rollbacks at most 1% in every scenario',
    met: worst <= 0.01,
    measured:
      rates
        .map(
          (f) =>
            `${f.id} ${pct(f.row?.rollbackRate ?? NaN)} (95% CI up to ${pct(f.row?.rollbackCi[1] ?? NaN)})`,
        )
        .join('; ') + `; worst ${pct(worst)} (${margin(worst, 0.01, 'at most', points)})`,
  };
}

/** "0.12 to spare" or "short by 0.30", against a limit of the given direction. */
function margin(
  value: number,
  limit: number,
  direction: 'at least' | 'at most',
  fmt: (x: number) => string = (x) => x.toFixed(2),
): string {
  const slack = direction === 'at least' ? value - limit : limit - value;
  return slack >= 0 ? `${fmt(slack)} to spare` : `short by ${fmt(-slack)}`;
}

/** The goals as a Markdown list. */
export function goalsMarkdown(list: Goal[], oursLabel: string): string {
  const lines = list.map((g) => `- ${g.met ? 'met' : 'NOT met'}: ${g.goal}. ${g.measured}.`);
  return [
    `### Simulation goals (${oursLabel}; the baseline at 15 s scrapes unless said)`,
    '',
    ...lines,
    '',
  ].join('\n');
}
