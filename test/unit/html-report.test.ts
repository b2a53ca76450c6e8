import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Secrets } from '../../src/config/secrets.ts';
import { dotKind } from '../../src/report/html-charts.ts';
import { writeHtmlReport } from '../../src/report/html-file.ts';
import { evidenceWords } from '../../src/report/html-judge.ts';
import { stageStates } from '../../src/report/html-stages.ts';
import { renderHtmlReport, seconds } from '../../src/report/html.ts';
import { writeJsonReport } from '../../src/report/json.ts';
import { niceTicks, ticksCovering, timeTicks } from '../../src/report/svg-chart.ts';
import { timeline } from '../../src/report/timeline.ts';
import { HOSTILE, TERMINAL_ACTIVE } from '../fixtures/hostile.ts';
import { rolledBackWalk } from '../fixtures/html-reports.ts';
import { checkResult, stageReport } from '../fixtures/reports.ts';

const NO_SECRETS = new Secrets();

/** The `data-point` marks of one series in the page, with their kinds. */
function marks(html: string, series: 'canary' | 'stable'): string[] {
  return [...html.matchAll(new RegExp(`data-point="${series}" data-kind="([a-z-]+)"`, 'g'))].map(
    (m) => m[1],
  );
}

describe('timeline', () => {
  it('continues the time axis across weights, one segment per weight', () => {
    const { points, segments } = timeline([
      checkResult({ elapsedMs: 30_000 }),
      checkResult({ elapsedMs: 60_000 }),
      checkResult({ elapsedMs: 30_000, weight: 25 }),
      checkResult({ elapsedMs: 45_000, weight: 25 }),
    ]);
    assert.deepEqual(
      points.map((p) => p.atMs),
      [30_000, 60_000, 90_000, 105_000],
    );
    assert.deepEqual(
      segments.map(({ weight, fromMs, toMs, checks }) => [weight, fromMs, toMs, checks.length]),
      [
        [10, 0, 60_000, 2],
        [25, 60_000, 105_000, 2],
      ],
    );
  });

  it('starts a new segment when the elapsed time runs backwards at the same weight', () => {
    const { segments } = timeline([
      checkResult({ elapsedMs: 60_000 }),
      checkResult({ elapsedMs: 30_000 }),
    ]);
    assert.equal(segments.length, 2);
    assert.equal(segments[1].fromMs, 60_000);
  });
});

describe('chart scales', () => {
  it('ticks on round steps within the range', () => {
    assert.deepEqual(niceTicks(98, 100), [98, 98.5, 99, 99.5, 100]);
    assert.deepEqual(niceTicks(87, 100), [90, 95, 100]);
    assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('never puts the top of a latency axis below the highest point', () => {
    for (const max of [0.4, 7, 99, 100, 237, 1250, 9999]) {
      const ticks = ticksCovering(max);
      assert.equal(ticks[0], 0);
      assert.ok(ticks.at(-1)! >= max, `${max}: ${ticks.join(',')}`);
      assert.ok(ticks.length <= 7, `${max}: ${ticks.length} ticks`);
    }
  });

  it('reads time on steps a clock reads, at most eight intervals', () => {
    assert.deepEqual(timeTicks(9_000), [0, 2000, 4000, 6000, 8000]);
    assert.deepEqual(timeTicks(60_000), [0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
    assert.ok(timeTicks(5_400_000).length <= 9);
  });
});

describe('stages', () => {
  it('after a rollback: passed before the breach, breached at it, not reached after', () => {
    assert.deepEqual(stageStates(rolledBackWalk()), [
      { weight: 10, state: 'passed' },
      { weight: 25, state: 'failed' },
      { weight: 50, state: 'not-reached' },
    ]);
  });

  it('a weight set without a watch, a dry run, a pass', () => {
    assert.deepEqual(stageStates(stageReport({ weights: [10, 20] })), [
      { weight: 10, state: 'set' },
      { weight: 20, state: 'set' },
    ]);
    assert.deepEqual(stageStates(stageReport({ outcome: 'dry-run', weights: [5] })), [
      { weight: 5, state: 'planned' },
    ]);
    const passed = stageReport({ checks: [checkResult()], weights: [10] });
    assert.deepEqual(stageStates(passed), [{ weight: 10, state: 'passed' }]);
  });
});

describe('evidence in words', () => {
  it('follows the e-value towards the level at which the test alone rolls back', () => {
    assert.equal(evidenceWords(0.4, 200), 'no evidence against the canary');
    assert.equal(evidenceWords(1, 200), 'no evidence against the canary');
    assert.equal(evidenceWords(2, 200), 'little evidence against the canary');
    assert.equal(evidenceWords(17, 200), 'some evidence, not enough to roll back');
    assert.equal(evidenceWords(150, 200), 'strong evidence, close to the rollback level');
    assert.equal(evidenceWords(1062, 400), 'enough on its own to roll back');
  });

  it('spells short times in the unit that reads', () => {
    assert.equal(seconds(0.024), '24 ms');
    assert.equal(seconds(1.25), '1.3 s');
    assert.equal(seconds(45), '45 s');
    assert.equal(seconds(120), '2 min');
    assert.equal(seconds(125), '2 min 5 s');
  });
});

describe('renderHtmlReport', () => {
  const report = rolledBackWalk();
  const html = renderHtmlReport(report, NO_SECRETS, { jsonName: 'istio-canary-report-x.json' });

  it('is one document with no script and a policy that forbids scripts and fetches', () => {
    assert.ok(html.startsWith('<!DOCTYPE html>\n<html lang="en">'));
    assert.ok(html.trimEnd().endsWith('</html>'));
    assert.doesNotMatch(html, /<script|<link|<iframe|<img|src=|href=/i);
    assert.match(
      html,
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/,
    );
  });

  it('puts the reason first, then the weights and the verdict in words', () => {
    const reason = html.indexOf('Why it was rolled back');
    const stages = html.indexOf('<h2>Stages</h2>');
    const verdict = html.indexOf("<h2>The judge's verdict");
    assert.ok(reason > 0 && reason < stages && stages < verdict, `${reason} ${stages} ${verdict}`);
    assert.ok(html.includes(`<p>${report.reason!.replace('<', '&lt;')}</p>`));
    assert.ok(html.includes('restored 1.3 s after the breach'));
    assert.match(
      html,
      /data-stage="failed"><div class="stage failed"><strong>25%<\/strong><span>breached/,
    );
    assert.ok(
      html.includes(`<p class="conclusion">${report.analysis!.sentence.replace('<', '&lt;')}.</p>`),
    );
    assert.ok(html.includes('enough on its own to roll back'));
  });

  it('draws both charts with one mark per measured value, the warm-up and the failure marked', () => {
    assert.equal((html.match(/<svg class="chart"/g) ?? []).length, 2);
    const measured = report.checks.filter((c) => c.canary.successRate !== undefined).length;
    const latencies = report.checks.filter((c) => c.canary.latencyMs !== undefined).length;
    const canary = marks(html, 'canary');
    assert.equal(canary.length, measured + latencies);
    assert.deepEqual(
      canary.slice(0, measured),
      report.checks.filter((c) => c.canary.successRate !== undefined).map(dotKind),
    );
    assert.ok(canary.includes('warm-up') && canary.includes('failed'));
    assert.equal(marks(html, 'stable').length, 2 * report.checks.length);
    assert.equal((html.match(/class="failed-ring"/g) ?? []).length, 2, 'one per chart');
    assert.ok(html.includes('>minimum 99%</text>'));
  });

  it('starts the success axis at a labelled value at or below the lowest point', () => {
    const low = rolledBackWalk();
    low.checks[5] = { ...low.checks[5], canary: { ...low.checks[5].canary, successRate: 63.4 } };
    const page = renderHtmlReport(low, NO_SECRETS);
    const ticks = [...page.matchAll(/class="tick tick-y"[^>]*>([\d.]+)%</g)].map((m) =>
      Number(m[1]),
    );
    assert.deepEqual(ticks, [60, 70, 80, 90, 100]);
  });

  it('names the JSON report of the same run', () => {
    assert.ok(html.includes('<code>istio-canary-report-x.json</code>'));
  });

  it('shows a dry run its planned change and no charts', () => {
    const dry = renderHtmlReport(
      stageReport({
        outcome: 'dry-run',
        weightAfter: 0,
        plan: { before: { weight: 100 }, after: { weight: 90, note: '<x>' } },
      }),
      NO_SECRETS,
    );
    assert.ok(dry.includes('<h2>Planned change</h2>'));
    assert.ok(dry.includes('<pre>weight: 90\nnote: &lt;x&gt;</pre>'));
    assert.doesNotMatch(dry, /<svg class="chart"/);
  });
});

describe('the HTML report with hostile names, reasons and messages', () => {
  const SECRET = 'hdr-SECRET-4e9f1c';
  const secrets = new Secrets([SECRET]);
  const hostile = rolledBackWalk({
    route: HOSTILE,
    stableSubset: HOSTILE,
    canarySubset: `${HOSTILE}-canary`,
    virtualService: `backend"><script>alert(1)</script>`,
    reason: `Prometheus rejected the query (echo X-Api-Key=${SECRET} ${HOSTILE})`,
    plan: { before: { name: HOSTILE }, after: { name: `</pre><b>FORGED</b>` } },
  });
  hostile.checks[1] = { ...hostile.checks[1], reasons: [HOSTILE, `key ${SECRET}`] };
  const html = renderHtmlReport(hostile, secrets);

  it('makes no element, attribute or reference from them', () => {
    assert.doesNotMatch(html, /<script|<img|<b>|<\/pre><b>/i);
    // Every < starts one of our own tags, with our own attributes; every & one of our references.
    const tags = [...html.matchAll(/<\/?([a-zA-Z!][a-zA-Z0-9-]*)([^<>]*)>/g)];
    const names = new Set(tags.map((m) => m[1]));
    const ours =
      '!DOCTYPE html head meta title style body main header p code h1 span div h2 section dl dt dd ol li strong table thead tbody tr th td br svg rect text line g polyline circle ul h3 pre footer i';
    assert.deepEqual(
      [...names].filter((t) => !ours.split(' ').includes(t)),
      [],
    );
    // Attribute names, each value consumed whole (a quoted value may hold escaped text).
    const attributes = new Set(
      tags
        .filter((m) => m[1] !== '!DOCTYPE')
        .flatMap((m) => [...m[2].matchAll(/([a-zA-Z:-]+)(?:="[^"]*")?/g)].map((a) => a[1])),
    );
    const ourAttributes =
      'lang charset http-equiv content name class viewBox role aria-label xmlns x y width height x1 y1 x2 y2 data-series stroke points data-point data-kind data-value fill cx cy r title style data-stage aria-hidden stroke-width';
    assert.deepEqual(
      [...attributes].filter((a) => !ourAttributes.split(' ').includes(a)),
      [],
    );
    assert.doesNotMatch(html, /&(?!amp;|lt;|gt;|quot;|#39;)/);
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;FORGED&lt;/b&gt;'));
  });

  it('holds no control character and no secret', () => {
    assert.doesNotMatch(html.replace(/\n/g, ''), TERMINAL_ACTIVE);
    assert.ok(!html.includes(SECRET));
    assert.ok(html.includes('X-Api-Key=***'));
  });
});

describe('the HTML report file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'istio-canary-html-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is private, beside the JSON report with its name, and complete', async () => {
    const jsonPath = await writeJsonReport(stageReport(), { dir, secrets: NO_SECRETS });
    const path = await writeHtmlReport(stageReport(), { jsonPath, secrets: NO_SECRETS });
    assert.equal(path, jsonPath.replace(/\.json$/, '.html'));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const text = readFileSync(path, 'utf8');
    assert.ok(text.endsWith('</html>\n'));
    assert.ok(text.includes(`<code>${basename(jsonPath)}</code>`));
  });

  it('never writes through a link planted at its name, and leaves no temporary file', async () => {
    const sub = mkdtempSync(join(dir, 'planted-'));
    const jsonPath = join(sub, 'istio-canary-report-20250102T030905123Z.json');
    const victim = join(sub, 'victim');
    writeFileSync(victim, 'untouched');
    const planted = join(sub, 'istio-canary-report-20250102T030905123Z.html');
    symlinkSync(victim, planted);
    const path = await writeHtmlReport(stageReport(), { jsonPath, secrets: NO_SECRETS });
    assert.equal(path, join(sub, 'istio-canary-report-20250102T030905123Z-2.html'));
    assert.equal(readFileSync(victim, 'utf8'), 'untouched');
    assert.ok(lstatSync(planted).isSymbolicLink());
    assert.deepEqual(
      readdirSync(sub).filter((name) => name.endsWith('.tmp')),
      [],
    );
  });
});
