import { formatP, formatRatio } from '../analysis/sentence.ts';
import { htmlText as text } from '../escape/html.ts';
import { formatE } from './log-line.ts';
import type { AnalysisReport, SideNames, StageReport } from './report.ts';
import { table } from './html-stages.ts';

const OUTCOME_WORDS: Record<AnalysisReport['outcome'], string> = {
  'shown-no-worse': 'shown no worse',
  inconclusive: 'inconclusive',
  'no-data': 'no data',
  'rolled-back': 'rolled back',
};

/**
 * The judge's verdict in words, then its evidence test by test: how far each e-value went
 * towards the level at which that test alone rolls back, and what that means. Under
 * `analysis: threshold` (no sequential judge), the count of checks within and outside the limits.
 */
export function judgeSection(report: StageReport, names: SideNames): string | undefined {
  if (report.analysis) return sequentialSection(report.analysis, names);
  if (report.checks.length === 0) return undefined;
  return thresholdSection(report);
}

function sequentialSection(a: AnalysisReport, names: SideNames): string {
  const e = a.evidence;
  const rows = [
    testRow(
      `Error rate of ${names.canary} against ${names.stable} (tolerated ratio ${formatRatio(a.maxErrorRatio)})`,
      e.eError,
      e.pError,
      a.alphaError,
    ),
  ];
  if (a.latencyBoundariesMs.length > 0) {
    const bounds = a.latencyBoundariesMs.map((b) => `${b} ms`).join(', ');
    rows.push(
      testRow(
        `Requests slower than ${bounds}, against ${names.stable}`,
        e.eLatency,
        e.pLatency,
        a.alphaLatency,
      ),
    );
  }
  if (a.alphaSlo > 0) {
    rows.push(
      testRow(
        `Success rate of ${names.canary} at least ${a.minSuccessRate}%`,
        e.eSlo,
        e.pSlo,
        a.alphaSlo,
      ),
    );
  }
  const header = `<tr>${['Test', 'Evidence (e-value)', 'Rolls back alone at', 'Towards that level', 'Anytime p-value', 'In words'].map((h) => `<th>${h}</th>`).join('')}</tr>`;
  const parts = [
    '<section>',
    `<h2>The judge's verdict <span class="badge ${a.outcome}">${text(OUTCOME_WORDS[a.outcome])}</span></h2>`,
    `<p class="conclusion">${text(a.sentence)}.</p>`,
    `<p>${text(method(a, names))}</p>`,
    table(header, rows),
    `<p class="small">${text(ratioWords(a, names))}</p>`,
    `<p class="small muted">${text(windowWords(a))}</p>`,
  ];
  if (a.degraded) {
    parts.push(
      `<p class="warning">Environment degraded: ${text(names.stable)} was below the minimum success rate too, so the judge held instead of blaming the canary.</p>`,
    );
  }
  parts.push('</section>');
  return parts.join('\n');
}

/** How the judge decides, in two sentences a person can check the table against. */
function method(a: AnalysisReport, names: SideNames): string {
  return (
    `Each test measures the evidence against "${names.canary} is no worse than ${names.stable}" as an e-value, which starts at 1 and which a canary that is no worse cannot be expected to grow. ` +
    `A test alone rolls back when its e-value reaches 1 divided by its share of alpha; together the tests roll back when their e-values, each weighted by its share, add up to 1. ` +
    `Alpha ${a.alpha} is the chance, at most, that a canary no worse than stable is ever rolled back, however often the judge looks.`
  );
}

function testRow(name: string, e: number, p: number, share: number): string {
  const limit = share > 0 ? 1 / share : Infinity;
  const progress = e > 1 && Number.isFinite(limit) ? Math.min(1, Math.log(e) / Math.log(limit)) : 0;
  const meter = `<span class="meter" title="${Math.round(progress * 100)}%"><i class="${progress >= 1 ? 'full' : ''}" style="width: ${(progress * 100).toFixed(1)}%"></i></span>`;
  const cells = [
    text(name),
    `<span class="num">${text(formatE(e))}</span>`,
    `<span class="num">${text(formatE(limit))}</span> <span class="muted small">(share ${share})</span>`,
    meter,
    `<span class="num">${text(formatP(p))}</span>`,
    text(evidenceWords(e, limit)),
  ];
  return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

/** An e-value in words, by how far (in log scale) it went towards the test's rollback level. */
export function evidenceWords(e: number, limit: number): string {
  if (!(e > 1)) return 'no evidence against the canary';
  if (e >= limit) return 'enough on its own to roll back';
  const progress = Math.log(e) / Math.log(limit);
  if (progress < 0.25) return 'little evidence against the canary';
  if (progress < 0.75) return 'some evidence, not enough to roll back';
  return 'strong evidence, close to the rollback level';
}

function ratioWords(a: AnalysisReport, names: SideNames): string {
  const e = a.evidence;
  const observed =
    e.ratio === undefined ? 'not measurable yet (no stable errors)' : `${formatRatio(e.ratio)}x`;
  const upper = e.ratioUpper === undefined ? 'unbounded' : `${formatRatio(e.ratioUpper)}x`;
  const confidence = `${Number((100 * (1 - 2 * a.alphaError)).toFixed(2))}%`;
  return `Error-rate ratio ${names.canary}/${names.stable}: ${observed}; ${confidence} confidence bounds ${formatRatio(e.ratioLower)}x to ${upper}. Shown no worse needs the upper bound below ${formatRatio(a.noWorseRatio)}x.`;
}

function windowWords(a: AnalysisReport): string {
  const warm = `${a.warmUpWindows} warm-up window${a.warmUpWindows === 1 ? '' : 's'}`;
  return `Windows judged: ${a.windows}, and ${warm} after a weight change shown but not judged.`;
}

function thresholdSection(report: StageReport): string {
  const count = (pred: (c: StageReport['checks'][number]) => boolean): number =>
    report.checks.filter(pred).length;
  const failed = count((c) => c.verdict === 'fail');
  const passed = count((c) => c.verdict === 'pass');
  const warmUp = count((c) => c.verdict !== 'fail' && Boolean(c.warmUp));
  const noData = count((c) => c.verdict === 'no-data' && !c.warmUp);
  const verdict =
    report.outcome === 'rolled-back'
      ? 'The checks failed the limits: rolled back.'
      : failed === 0
        ? 'Every judged check was within the limits.'
        : `${failed} check${failed === 1 ? '' : 's'} failed, within the failures tolerated.`;
  return [
    '<section>',
    "<h2>The judge's verdict</h2>",
    `<p class="conclusion">${text(verdict)}</p>`,
    `<p>${text(`Judged by thresholds: each check against min-success-rate, max-latency and the custom checks, failed checks counted against failure-limit. Checks passed: ${passed}; failed: ${failed}; without enough data: ${noData}; warm-up, shown but not judged: ${warmUp}.`)}</p>`,
    '</section>',
  ].join('\n');
}
