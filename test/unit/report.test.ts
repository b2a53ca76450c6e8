import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CheckResult } from '../../src/metrics/types.ts';
import { chartPoints, renderSuccessChart } from '../../src/report/chart.ts';
import { REPORT_SCHEMA, reportStamp, writeJsonReport } from '../../src/report/json.ts';
import {
  formatCheckLine,
  formatDuration,
  formatLatency,
  formatPercent,
} from '../../src/report/log-line.ts';
import { latestFigures } from '../../src/report/report.ts';
import { renderSummary } from '../../src/report/summary.ts';
import { Secrets } from '../../src/config/secrets.ts';
import { checkResult, stageReport } from '../fixtures/reports.ts';

const check = checkResult;
const report = stageReport;
const NO_SECRETS = new Secrets();

const noData = (elapsedMs: number): CheckResult =>
  check({
    elapsedMs,
    verdict: 'no-data',
    canary: { requests: 0, errors: 0 },
    stable: { requests: 50, errors: 0, successRate: 100, latencyMs: 12 },
    reasons: ['only 0 canary requests, 20 needed'],
  });

void describe('formatDuration', () => {
  void it('spells seconds, minutes and hours compactly', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(-5), '0s');
    assert.equal(formatDuration(45_000), '45s');
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(120_000), '2m');
    assert.equal(formatDuration(3_720_000), '1h2m');
    assert.equal(formatDuration(7_200_000), '2h');
    assert.equal(formatDuration(89_600), '1m30s');
  });
});

void describe('number formats', () => {
  void it('never rounds a success rate up to 100%', () => {
    assert.equal(formatPercent(99.96), '99.9%');
    assert.equal(formatPercent(100), '100%');
    assert.equal(formatPercent(5), '5.0%');
    assert.equal(formatPercent(undefined), 'n/a');
  });
  void it('scales latency', () => {
    assert.equal(formatLatency(4.54), '4.5ms');
    assert.equal(formatLatency(84.2), '84ms');
    assert.equal(formatLatency(1250), '1.25s');
    assert.equal(formatLatency(undefined), 'n/a');
  });
});

void describe('formatCheckLine', () => {
  void it('prints one aligned line with the subset names', () => {
    const line = formatCheckLine(check(), {
      names: { canary: 'v2', stable: 'v1' },
      percentile: 99,
    });
    assert.equal(
      line,
      '[ 1m30s] w=10%  success v2 99.6% | v1 99.9%  p99 v2  84ms | v1  80ms  req   312 |  2790  PASS',
    );
  });

  void it('keeps columns aligned across weights, missing data and failures', () => {
    const names = { canary: 'v2', stable: 'v1' };
    const pass = formatCheckLine(check({ elapsedMs: 30_000, weight: 5 }), { names });
    const failed = formatCheckLine(
      check({
        weight: 50,
        verdict: 'fail',
        canary: { requests: 1200, errors: 40, successRate: 96.67, latencyMs: 312 },
        reasons: ['canary success rate 96.6% is below 99%', 'second\nline'],
      }),
      { names, percentile: 99.9 },
    );
    const empty = formatCheckLine(noData(120_000), { names });
    assert.equal(pass.indexOf('success'), failed.indexOf('success'));
    assert.equal(pass.indexOf('req'), empty.indexOf('req'));
    assert.match(failed, /p99\.9 v2 312ms/);
    assert.match(failed, /FAIL {2}canary success rate 96\.6% is below 99%; second line$/);
    assert.match(empty, /success v2 {3}n\/a \| v1 {2}100%/);
    assert.match(empty, /NO DATA/);
    assert.doesNotMatch(failed, /\n/);
  });

  void it('falls back to canary/stable and shows custom values', () => {
    const line = formatCheckLine(
      check({
        custom: [
          { name: 'queue_depth', value: 12.5, verdict: 'pass' },
          { name: 'x', verdict: 'no-data' },
        ],
      }),
    );
    assert.match(line, /success canary 99\.6% \| stable 99\.9%/);
    assert.match(line, /queue_depth=12\.5 x=n\/a {2}PASS$/);
  });
});

void describe('renderSuccessChart', () => {
  void it('draws canary as bars and stable as a line, leaving out checks without data', () => {
    const checks = [
      check({ elapsedMs: 30_000, canary: { requests: 100, errors: 0, successRate: 100 } }),
      noData(60_000),
      check({ elapsedMs: 90_000, canary: { requests: 100, errors: 2, successRate: 97.456 } }),
    ];
    assert.equal(
      renderSuccessChart(checks, { canary: 'v2', stable: 'v"1' }),
      [
        '---',
        'config:',
        '  themeVariables:',
        '    xyChart:',
        '      plotColorPalette: "#e8590c, #1c7ed6"',
        '---',
        'xychart-beta',
        `  title "Success rate: v2 (canary, bars) vs v'1 (stable, line)"`,
        '  x-axis "time watched" ["30s (10%)", "1m30s"]',
        '  y-axis "success %" 96 --> 100',
        '  bar [100, 97.46]',
        '  line [99.9, 99.9]',
      ].join('\n'),
    );
  });

  void it('keeps the canary visible where both sides are at 100%', () => {
    const perfect = check({
      canary: { requests: 10, errors: 0, successRate: 100 },
      stable: { requests: 10, errors: 0, successRate: 100 },
    });
    const chart = renderSuccessChart([perfect, { ...perfect, elapsedMs: 120_000 }], {
      canary: 'a',
      stable: 'b',
    })!;
    // xychart draws every line alike: two equal lines are one. A bar under a line is not.
    const series = chart.split('\n').filter((line) => /^ {2}(line|bar) \[/.test(line));
    assert.deepEqual(series, ['  bar [100, 100]', '  line [100, 100]']);
  });

  void it('marks the warm-up window (shown, not judged), the failed check and each new weight', () => {
    const checks = [
      check({ elapsedMs: 30_000, warmUp: true, verdict: 'no-data' }),
      check({ elapsedMs: 60_000 }),
      check({ elapsedMs: 30_000, weight: 25, warmUp: true, verdict: 'no-data' }),
      check({ elapsedMs: 60_000, weight: 25, verdict: 'fail' }),
    ];
    const chart = renderSuccessChart(checks, { canary: 'v2', stable: 'v1' })!;
    assert.match(
      chart,
      /x-axis "time watched" \["30s \(10%, warm-up\)", "1m", "1m30s \(25%, warm-up\)", "2m \(failed\)"\]/,
    );
    assert.deepEqual(
      chartPoints(checks).map((p) => p.atMs),
      [30_000, 60_000, 90_000, 120_000],
      'a later weight continues the time axis',
    );
  });

  void it('needs two points with data on both sides', () => {
    assert.equal(
      renderSuccessChart([check(), noData(60_000)], { canary: 'a', stable: 'b' }),
      undefined,
    );
    assert.equal(chartPoints([noData(1), noData(2)]).length, 0);
  });

  void it('keeps the y axis below 100 when nothing failed', () => {
    const perfect = check({
      canary: { requests: 10, errors: 0, successRate: 100 },
      stable: { requests: 10, errors: 0, successRate: 100 },
    });
    const chart = renderSuccessChart([perfect, { ...perfect, elapsedMs: 120_000 }], {
      canary: 'a',
      stable: 'b',
    });
    assert.match(chart ?? '', /y-axis "success %" 99 --> 100/);
  });
});

void describe('renderSummary', () => {
  const failing = check({
    elapsedMs: 120_000,
    verdict: 'fail',
    canary: { requests: 400, errors: 20, successRate: 95, latencyMs: 90 },
    reasons: ['canary success rate 95.0% is below 99%'],
  });

  void it('puts the rollback reason first and lists every check', () => {
    const text = renderSummary(
      report({
        outcome: 'rolled-back',
        weightAfter: 0,
        weights: [10, 25],
        reason: 'The canary v2 answered 95.0% of requests without a 5xx, below the 99% required.',
        checks: [check({ elapsedMs: 60_000 }), failing],
        restoreSeconds: 1.25,
        latencyPercentile: 95,
      }),
      NO_SECRETS,
    );
    const lines = text.split('\n');
    assert.equal(lines[0], '## ❌ Canary rolled back: `reviews` in `shop`');
    assert.equal(
      lines[2],
      '> **Why it was rolled back:** The canary v2 answered 95.0% of requests without a 5xx, below the 99% required.',
    );
    assert.ok(text.includes('| **Canary weight** | 0% → 10%, restored to 0% |'));
    assert.ok(text.includes('| **Stage weights** | 10% → 25% |'));
    assert.ok(text.includes('| **Route restored in** | 1.3 s after the breach |'));
    assert.ok(
      text.includes(
        '| Elapsed | Weight | Success v2 | Success v1 | p95 v2 | p95 v1 | Requests v2 | Requests v1 | Verdict | Reasons |',
      ),
    );
    assert.ok(text.includes('| 1m | 10% | 99.6% | 99.9% | 84ms | 80ms | 312 | 2790 | PASS |  |'));
    assert.ok(
      text.includes(
        '| 2m | 10% | 95.0% | 99.9% | 90ms | 80ms | 400 | 2790 | **FAIL** | canary success rate 95.0% is below 99% |',
      ),
    );
    assert.ok(text.includes('```mermaid\n---\nconfig:'));
    assert.ok(text.includes('  bar [99.68, 95]'));
    assert.ok(text.includes('  line [99.9, 99.9]'));
    assert.ok(text.endsWith('\n'));
  });

  void it('names the HTML report on the runner, redacted, and says how to keep it', () => {
    const secrets = new Secrets(['s3cr3t-path']);
    const text = renderSummary(report(), secrets, {
      htmlReport: '/runner/s3cr3t-path/istio-canary-report-x.html',
    });
    assert.ok(
      text.includes(
        '### HTML report\n\nThe report with charts of every check is on the runner at `/runner/***/istio-canary-report-x.html`',
      ),
      text,
    );
    assert.ok(text.includes('actions/upload-artifact'));
    assert.ok(!renderSummary(report(), secrets).includes('HTML report'), 'no file, no section');
  });

  void it('leaves the chart out without two checks with data', () => {
    const text = renderSummary(report({ checks: [check(), noData(120_000)] }), NO_SECRETS);
    assert.ok(!text.includes('mermaid'));
    assert.ok(text.includes('| **NO DATA** | only 0 canary requests, 20 needed |'));
    assert.ok(!text.includes('Why'));
  });

  void it('escapes pipes, line breaks and HTML in cells', () => {
    const text = renderSummary(
      report({
        route: 'api|v2',
        checks: [
          check({
            verdict: 'fail',
            custom: [{ name: 'errors|5xx', value: 3, verdict: 'fail' }],
            reasons: ['first | reason', 'second'],
          }),
        ],
      }),
      NO_SECRETS,
    );
    assert.ok(text.includes('| errors\\|5xx=3 | **FAIL** | first \\| reason<br>second |'));
    assert.ok(text.includes('`api\\|v2`'));
  });

  void it('shows a dry run plan as YAML before and after', () => {
    const text = renderSummary(
      report({
        outcome: 'dry-run',
        plan: {
          before: { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
          after: {
            route: [
              { destination: { host: 'reviews', subset: 'v1' }, weight: 90 },
              { destination: { host: 'reviews', subset: 'v2' }, weight: 10 },
            ],
          },
        },
      }),
      NO_SECRETS,
    );
    assert.ok(text.startsWith('## 📝 Dry run: nothing was changed'));
    assert.ok(
      text.includes(
        '**Before**\n\n```yaml\nroute:\n  - destination:\n      host: reviews\n      subset: v1\n```',
      ),
    );
    assert.ok(text.includes('**After**\n\n```yaml\nroute:\n'));
    assert.ok(text.includes('      subset: v2\n    weight: 10\n```'));
  });

  void it('states why a no-op did nothing', () => {
    const text = renderSummary(
      report({ command: 'rollback', outcome: 'noop', reason: 'No rollout is in progress.' }),
      NO_SECRETS,
    );
    assert.ok(text.startsWith('## ➖ Nothing to do'));
    assert.ok(text.includes('> **Why:** No rollout is in progress.'));
    assert.ok(!text.includes('### Checks'));
  });
});

void describe('latestFigures', () => {
  void it('takes the last measured values, skipping a final no-data check', () => {
    const figures = latestFigures(report({ checks: [check(), noData(120_000)] }));
    assert.deepEqual(figures, { successRate: 99.68, requests: 312, latencyMs: 84.2 });
  });
});

void describe('writeJsonReport', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'istio-canary-report-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('writes a parseable report named after its end time, with no temporary file left', async () => {
    const written = report({ checks: [check()] });
    const path = await writeJsonReport(written, { dir: join(dir, 'nested'), secrets: NO_SECRETS });
    assert.equal(path, join(dir, 'nested', 'istio-canary-report-20250102T030905123Z.json'));
    const text = await readFile(path, 'utf8');
    assert.ok(text.startsWith('{\n  "schema"'));
    assert.deepEqual(JSON.parse(text), { schema: REPORT_SCHEMA, ...written });
    assert.deepEqual(await readdir(join(dir, 'nested')), [
      'istio-canary-report-20250102T030905123Z.json',
    ]);
  });

  void it('never overwrites an earlier report of the same moment', async () => {
    const first = await writeJsonReport(report({ outcome: 'passed' }), {
      dir,
      secrets: NO_SECRETS,
    });
    const second = await writeJsonReport(report({ outcome: 'promoted' }), {
      dir,
      secrets: NO_SECRETS,
    });
    assert.notEqual(first, second);
    assert.ok(second.endsWith('istio-canary-report-20250102T030905123Z-2.json'));
    assert.equal(JSON.parse(await readFile(first, 'utf8')).outcome, 'passed');
    assert.equal(JSON.parse(await readFile(second, 'utf8')).outcome, 'promoted');
    assert.equal((await readdir(dir)).filter((name) => name.endsWith('.tmp')).length, 0);
  });

  void it('stamps with the current time when finishedAt is not a date', () => {
    assert.equal(
      reportStamp('not a date', () => Date.UTC(2024, 11, 31, 23, 59, 58, 7)),
      '20241231T235958007Z',
    );
  });
});

const evidence = {
  eError: 3.14,
  pError: 0.004,
  eLatency: 0.9,
  pLatency: 1,
  eSlo: 0.21,
  pSlo: 1,
  ratio: 3.1,
  ratioLower: 1.4,
  ratioUpper: 7.6,
};

const judged = (overrides: Partial<CheckResult> = {}): CheckResult =>
  check({
    analysis: {
      decision: 'continue',
      ...evidence,
      degraded: false,
      sentence: "v2 errors 3.1x v1's (1 of 312 vs 3 of 2790) so far, p = 0.004: watching",
    },
    ...overrides,
  });

const analysisReport = {
  outcome: 'rolled-back' as const,
  sentence: "v2 errors 3.1x v1's (31 of 1000 vs 90 of 9000), p < 0.001: rolled back",
  alpha: 0.01,
  alphaError: 0.005,
  alphaLatency: 0.0025,
  alphaSlo: 0.0025,
  maxErrorRatio: 1,
  minSuccessRate: 99,
  noWorseRatio: 2,
  latencyBoundariesMs: [100, 250],
  windows: 4,
  warmUpWindows: 1,
  degraded: false,
  evidence: { ...evidence, pError: 0.0004, ratioUpper: undefined },
};

void describe('sequential analysis in the reports', () => {
  void it('adds the e-values, the anytime p-value and the ratio bound to the log line', () => {
    const line = formatCheckLine(judged(), { names: { canary: 'v2', stable: 'v1' } });
    assert.equal(
      line,
      '[ 1m30s] w=10%  success v2 99.6% | v1 99.9%  p99 v2  84ms | v1  80ms  req   312 |  2790  E err 3.1 slow 0.9 slo 0.21 p=0.004 ratio 3.1x (<= 7.6x)  PASS',
    );
    const unbounded = judged();
    unbounded.analysis = { ...unbounded.analysis!, ratio: undefined, ratioUpper: undefined };
    assert.match(formatCheckLine(unbounded), /ratio n\/a \(<= unbounded\) {2}PASS$/);
  });

  void it('labels a hold for a degraded environment, and huge e-values compactly', () => {
    const held = judged();
    held.analysis = { ...held.analysis!, decision: 'hold-degraded', eSlo: 123456 };
    const line = formatCheckLine({ ...held, reasons: ['environment degraded'] });
    assert.match(line, /slo 1\.2e\+5 .* DEGRADED {2}environment degraded$/);
  });

  void it('puts the conclusion and the evidence per test in the summary', () => {
    const text = renderSummary(
      report({
        outcome: 'rolled-back',
        reason: analysisReport.sentence,
        checks: [judged({ verdict: 'fail' })],
        analysis: analysisReport,
      }),
      NO_SECRETS,
    );
    assert.ok(text.includes('### Sequential analysis'));
    assert.ok(
      text.includes(
        "> **Conclusion:** v2 errors 3.1x v1's (31 of 1000 vs 90 of 9000), p \\< 0.001: rolled back.",
      ),
    );
    assert.ok(text.includes('| Test | e-value | anytime p-value | alpha share |'));
    assert.ok(
      text.includes('| Error rate, `v2` vs `v1` (tolerated ratio 1) | 3.1 | p \\< 0.001 | 0.005 |'),
      text,
    );
    assert.ok(text.includes('| Requests slower than 100 ms, 250 ms | 0.9 | p = 1 | 0.0025 |'));
    assert.ok(text.includes('| Success rate of `v2` at least 99% | 0.21 | p = 1 | 0.0025 |'));
    assert.ok(text.includes('99% confidence bounds 1.4x to unbounded'));
    assert.ok(text.includes('Windows judged: 4 (1 warm-up window shown, not judged)'));
    assert.ok(!text.includes('Environment degraded'));
    assert.ok(
      text.includes('| E errors / slow / SLO | p errors | Error ratio v2/v1 | Verdict | Reasons |'),
    );
    assert.ok(text.includes('| 3.1 / 0.9 / 0.21 | p = 0.004 | 3.1x (≤ 7.6x) | **FAIL** |'));
    const degraded = renderSummary(
      report({ checks: [judged()], analysis: { ...analysisReport, degraded: true } }),
      NO_SECRETS,
    );
    assert.ok(degraded.includes('**Environment degraded:**'));
  });

  void it('leaves the threshold-mode summary without analysis columns', () => {
    const text = renderSummary(report({ checks: [check()] }), NO_SECRETS);
    assert.ok(!text.includes('Sequential analysis'));
    assert.ok(!text.includes('E errors'));
  });

  void it('writes the evidence to the JSON report as plain numbers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'istio-canary-analysis-'));
    try {
      const written = report({ checks: [judged()], analysis: analysisReport });
      const parsed = JSON.parse(
        await readFile(await writeJsonReport(written, { dir, secrets: NO_SECRETS }), 'utf8'),
      );
      assert.deepEqual(parsed.checks[0].analysis, written.checks[0].analysis);
      assert.equal(parsed.analysis.evidence.pError, 0.0004);
      assert.equal(parsed.analysis.outcome, 'rolled-back');
      assert.ok(!('ratioUpper' in parsed.analysis.evidence), 'unbounded is left out, not null');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('traffic verification in the summary', () => {
  it('shows each weight with expected and observed share, mismatches in bold', () => {
    const summary = renderSummary(
      report({
        traffic: [
          {
            weight: 10,
            verdict: 'ok',
            expectedPercent: 10,
            observedPercent: 9.6,
            requests: 1200,
            sentence: 'as configured',
          },
          {
            weight: 20,
            verdict: 'mismatch',
            expectedPercent: 20,
            observedPercent: 0.4,
            requests: 900,
            sentence: 'pods may lack a sidecar | check',
          },
        ],
      }),
      NO_SECRETS,
    );
    assert.match(summary, /### Traffic verification/);
    assert.match(summary, /\| 10% \| 10\.0% \| 9\.6% \| 1200 \| ok \| as configured \|/);
    assert.match(
      summary,
      /\| 20% \| 20\.0% \| 0\.4% \| 900 \| \*\*mismatch\*\* \| pods may lack a sidecar \\\| check \|/,
    );
  });

  it('is left out when nothing was verified', () => {
    assert.doesNotMatch(renderSummary(report(), NO_SECRETS), /Traffic verification/);
  });
});
