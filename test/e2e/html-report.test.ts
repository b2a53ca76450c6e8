import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Secrets } from '../../src/config/secrets.ts';
import { writeHtmlReport } from '../../src/report/html-file.ts';
import { writeJsonReport } from '../../src/report/json.ts';
import type { StageReport } from '../../src/report/report.ts';
import { waitForSeries } from '../../src/sandbox/prometheus.ts';
import { Chromium, type ChromiumPage } from '../helpers/chromium.ts';
import { parseDotenv, runCli } from '../helpers/cli-runner.ts';
import { startSandbox, type Sandbox } from '../helpers/ground.ts';
import { skipWithoutPrometheus } from '../helpers/sandbox.ts';
import { resetShop } from '../helpers/shop.ts';
import { HOSTILE } from '../fixtures/hostile.ts';
import { rolledBackWalk } from '../fixtures/html-reports.ts';

/** Kept after the run for a person to look at; test/artifacts/ is git-ignored. */
const ARTIFACTS = resolve(import.meta.dirname, '../artifacts');
const WIDE = 1280;
const NARROW = 390;

/** What the page shows, read from the rendered DOM (layout included). */
interface Rendered {
  title: string;
  text: string;
  stages: string[];
  charts: {
    width: number;
    height: number;
    canary: { x: number; kind: string; inside: boolean }[];
    stable: number;
    rings: number;
  }[];
  overflow: number;
  forbidden: number;
}

/** Runs in the page: everything the tests assert, measured by the browser's own layout. */
const READ_PAGE = `(() => {
  const box = (el) => el.getBoundingClientRect();
  const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
    const frame = box(svg);
    const canary = [...svg.querySelectorAll('[data-point="canary"]')].map((mark) => {
      const b = box(mark);
      const inside = b.width > 0 && b.left >= frame.left && b.right <= frame.right &&
        b.top >= frame.top && b.bottom <= frame.bottom;
      return { x: b.left + b.width / 2, kind: mark.getAttribute('data-kind'), inside };
    });
    return {
      width: frame.width,
      height: frame.height,
      canary,
      stable: svg.querySelectorAll('[data-point="stable"]').length,
      rings: svg.querySelectorAll('.failed-ring').length,
    };
  });
  return {
    title: document.title,
    text: document.body.innerText,
    stages: [...document.querySelectorAll('[data-stage]')].map((el) => el.innerText.replace(/\\s+/g, ' ')),
    charts,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    forbidden: document.querySelectorAll('script, img, iframe, object, embed, a, b, [onerror], [onload]').length,
  };
})()`;

async function render(page: ChromiumPage, path: string, width: number): Promise<Rendered> {
  await page.open(`file://${path}`, width, 900);
  return page.evaluate<Rendered>(READ_PAGE);
}

async function writePage(report: StageReport, dir: string, secrets = new Secrets()) {
  const jsonPath = await writeJsonReport(report, { dir, secrets });
  return writeHtmlReport(report, { jsonPath, secrets });
}

describe('the HTML report in headless Chromium', () => {
  let browser: Chromium;
  let page: ChromiumPage;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'istio-canary-html-e2e-'));
    browser = await Chromium.launch();
    page = await browser.page();
  });
  after(async () => {
    page?.close();
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a rolled-back walk: reason, stages, verdict and two charts with every measured point', async () => {
    const report = rolledBackWalk();
    const shown = await render(page, await writePage(report, dir), WIDE);
    assert.match(shown.title, /Canary rolled back: reviews in shop/);
    const why = shown.text.indexOf('Why it was rolled back');
    assert.ok(why >= 0 && shown.text.indexOf(report.reason!) > why, 'the reason under its heading');
    assert.deepEqual(shown.stages, [
      '0% before the job',
      '10% watched, passed',
      '25% breached',
      '50% not reached',
      '0% route restored',
    ]);
    assert.ok(shown.text.includes(report.analysis!.sentence));
    assert.ok(shown.text.includes('enough on its own to roll back'));

    assert.equal(shown.charts.length, 2, 'success rate and latency');
    const measured = report.checks.filter((c) => c.canary.successRate !== undefined);
    for (const chart of shown.charts) {
      assert.ok(chart.width > 600 && chart.height > 150, `drawn at ${chart.width}x${chart.height}`);
      assert.equal(chart.canary.length, measured.length);
      assert.equal(chart.stable, report.checks.length);
      assert.ok(
        chart.canary.every((mark) => mark.inside),
        'every mark inside its chart',
      );
      const xs = chart.canary.map((mark) => mark.x);
      assert.deepEqual(
        xs,
        [...xs].sort((a, b) => a - b),
        'in time order',
      );
      assert.equal(new Set(xs.map(Math.round)).size, xs.length, 'no two checks at one place');
      assert.deepEqual(
        chart.canary.map((mark) => mark.kind),
        ['warm-up', 'judged', 'judged', 'warm-up', 'judged', 'failed'],
      );
      assert.equal(chart.rings, 1);
    }
    assert.equal(shown.overflow, 0, 'nothing wider than the window');
    assert.equal((await render(page, await writePage(report, dir), NARROW)).overflow, 0);
  });

  test('hostile names and messages show as text: no element, no link, no handler', async () => {
    const report = rolledBackWalk({
      route: HOSTILE,
      canarySubset: `${HOSTILE}-canary`,
      virtualService: `backend"><script>document.title='FORGED'</script>`,
      reason: `${HOSTILE} <a href="https://evil.example">approve</a>`,
      plan: { before: { name: '</pre><b>FORGED</b>' }, after: { name: HOSTILE } },
    });
    for (const width of [WIDE, NARROW]) {
      const shown = await render(page, await writePage(report, dir), width);
      assert.equal(shown.forbidden, 0);
      assert.ok(!shown.title.startsWith('FORGED'));
      assert.ok(shown.title.includes(`backend"><script>document.title='FORGED'</script>`));
      assert.ok(shown.text.includes('<img src=x onerror=alert(1)><b>FORGED</b>'));
      assert.ok(shown.text.includes('<a href="https://evil.example">approve</a>'));
      assert.ok(shown.text.includes('</pre><b>FORGED</b>'));
      assert.equal(shown.overflow, 0, `${width}px: hostile text wraps instead of widening`);
    }
  });
});

describe(
  'the HTML report of a real rollout (dist/cli.js, sandbox, real Prometheus), in headless Chromium',
  { skip: skipWithoutPrometheus() },
  () => {
    let sandbox: Sandbox;
    let workdir: string;
    let browser: Chromium;

    before(async () => {
      sandbox = await startSandbox({ prometheus: 'required', rps: 100 });
      resetShop(sandbox, 100);
      workdir = mkdtempSync(join(tmpdir(), 'istio-canary-html-run-'));
      writeFileSync(join(workdir, 'kubeconfig'), sandbox.kubeconfig, { mode: 0o600 });
      await waitForSeries(
        sandbox.prometheusUrl,
        'istio_requests_total{destination_workload="backend-v1"}',
        20_000,
      );
      browser = await Chromium.launch();
    });
    after(async () => {
      await browser?.close();
      await sandbox?.stop();
      if (workdir) rmSync(workdir, { recursive: true, force: true });
    });

    test('a canary that breaks at 25%: the page the CLI wrote, rendered and kept as a screenshot', async (t) => {
      const dotenv = join(workdir, 'out.env');
      let broken = false;
      const run = await runCli(
        [
          'step',
          '--kubeconfig',
          join(workdir, 'kubeconfig'),
          '--virtual-service',
          'backend',
          '--stable-subset',
          'v1',
          '--canary-subset',
          'v2',
          '--weight',
          '10,25,50',
          '--duration',
          '8s',
          '--interval',
          '2s',
          '--min-requests',
          '10',
          '--dotenv',
          dotenv,
        ],
        {
          env: { ISTIO_CANARY_REPORT_DIR: workdir },
          // v2 starts failing a third of its requests once the walk reaches 25%.
          onOutput: (output) => {
            if (broken || !output.includes('v2 25%')) return;
            broken = true;
            sandbox.simulator.setBehaviour('backend-v2', {
              errorRate: 0.3,
              latencyMs: { median: 40, p99: 250 },
            });
          },
        },
      );
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const outputs = parseDotenv(readFileSync(dotenv, 'utf8'));
      const html = outputs.ISTIO_CANARY_OUTPUT_HTML_REPORT;
      assert.equal(html, outputs.ISTIO_CANARY_OUTPUT_REPORT.replace(/\.json$/, '.html'));
      assert.ok(run.stdout.includes(`HTML report: ${html}`), run.stdout);
      assert.equal(statSync(html).mode & 0o777, 0o600);
      const report = JSON.parse(
        readFileSync(outputs.ISTIO_CANARY_OUTPUT_REPORT, 'utf8'),
      ) as StageReport;
      assert.equal(report.breachWeight, 25);

      const page = await browser.page();
      try {
        const shown = await render(page, html, WIDE);
        assert.match(shown.title, /Canary rolled back: backend in shop/);
        assert.ok(shown.text.includes(report.reason!), shown.text);
        assert.deepEqual(shown.stages, [
          '0% before the job',
          '10% watched, passed',
          '25% breached',
          '50% not reached',
          '0% route restored',
        ]);
        const measured = report.checks.filter((c) => c.canary.successRate !== undefined).length;
        assert.equal(shown.charts[0].canary.length, measured);
        assert.equal(shown.charts[0].canary.at(-1)!.kind, 'failed');
        assert.ok(shown.charts[0].canary.some((mark) => mark.kind === 'warm-up'));
        assert.equal(shown.overflow, 0);
        mkdirSync(ARTIFACTS, { recursive: true });
        const screenshot = join(ARTIFACTS, 'html-report.png');
        await page.screenshot(screenshot, WIDE);
        assert.ok(statSync(screenshot).size > 10_000, 'a screenshot with something on it');
        t.diagnostic(`screenshot: ${screenshot}`);
        t.diagnostic(
          `HTML report: ${statSync(html).size} bytes for ${report.checks.length} checks`,
        );
      } finally {
        page.close();
      }
    });
  },
);
