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
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dotenvText, writeDotenv } from '../../src/cli/dotenv.ts';
import { terminalLogger } from '../../src/cli/logger.ts';
import { Secrets } from '../../src/config/secrets.ts';
import { commitStatusFor } from '../../src/github/commit-status.ts';
import { writeJsonReport } from '../../src/report/json.ts';
import { renderSummary } from '../../src/report/summary.ts';
import { forgedCommands, HOSTILE, TERMINAL_ACTIVE } from '../fixtures/hostile.ts';
import { checkResult, stageReport } from '../fixtures/reports.ts';

const HEADER_VALUE = 'hdr-SECRET-4e9f1c';
const secrets = new Secrets([HEADER_VALUE]);

/** A report carrying hostile text everywhere the cluster or Prometheus can put some. */
const hostileReport = stageReport({
  outcome: 'rolled-back',
  route: HOSTILE,
  stableSubset: HOSTILE,
  canarySubset: `${HOSTILE}-canary`,
  reason: `Prometheus at http://prom rejected the query (HTTP 400, bad_data: echo X-Api-Key=${HEADER_VALUE} ${HOSTILE})`,
  checks: [
    checkResult({ elapsedMs: 30_000, reasons: [HOSTILE, `key ${HEADER_VALUE}`] }),
    checkResult({ elapsedMs: 60_000, verdict: 'fail', reasons: [HOSTILE] }),
  ],
  traffic: [
    {
      weight: 10,
      verdict: 'mismatch',
      expectedPercent: 10,
      observedPercent: 2,
      requests: 500,
      sentence: HOSTILE,
    },
  ],
  plan: { before: { name: HOSTILE }, after: { name: HOSTILE, headers: { x: '```' } } },
});

describe('the job summary with hostile names, reasons and messages', () => {
  const summary = renderSummary(hostileReport, secrets);

  it('renders no link, image or HTML tag from them', () => {
    // Code spans and fenced blocks show their content literally; the rest must escape syntax.
    const prose = summary
      .replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1$/gm, '')
      .replace(/(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, '');
    assert.doesNotMatch(prose, /(^|[^\\])(\[|\]|`|<(?!br>))/m);
    assert.ok(prose.includes('\\[FORGED link\\](https://evil.example/approve)'));
    assert.ok(prose.includes('!\\[FORGED image\\]'));
    assert.ok(prose.includes('\\<img src=x'));
  });

  it('adds no line and no table cell of theirs', () => {
    const withoutPlan = { ...hostileReport, plan: undefined };
    const plain = { ...withoutPlan, route: 'r', stableSubset: 'v1', canarySubset: 'v2' };
    const lines = renderSummary(withoutPlan, secrets).split('\n');
    assert.equal(lines.length, renderSummary(plain, new Secrets()).split('\n').length);
    const cells = (row: string): number => row.split(/(?<!\\)\|/).length;
    const rows = lines.filter((line) => line.startsWith('| 30s |') || line.startsWith('| 1m |'));
    assert.equal(rows.length, 2);
    for (const row of rows)
      assert.equal(cells(row), cells(lines.find((l) => l.startsWith('| Elapsed'))!), row);
    assert.doesNotMatch(summary, TERMINAL_ACTIVE);
  });

  it('keeps the planned change inside its fences', () => {
    // Chart, plan before (no backticks inside), plan after (a run of three inside: fence of four).
    const fences = summary.split('\n').filter((line) => /^`{3,}/.test(line));
    assert.deepEqual(
      fences.map((f) => f.replace(/yaml|mermaid/, '')),
      ['```', '```', '```', '```', '````', '````'],
    );
  });

  it('replaces the secrets a Prometheus error echoed', () => {
    assert.ok(!summary.includes(HEADER_VALUE));
    assert.ok(summary.includes('X-Api-Key=\\*\\*\\*') || summary.includes('X-Api-Key=***'));
  });
});

describe('the commit status with hostile text', () => {
  const status = commitStatusFor(hostileReport, secrets);

  it('has a one-line plain description: no link, image, tag, control character or secret', () => {
    assert.doesNotMatch(status.description, /[<>[\]`\n\r]/);
    assert.doesNotMatch(status.description, TERMINAL_ACTIVE);
    assert.ok(!status.description.includes(HEADER_VALUE));
    assert.ok(status.description.startsWith('Rolled back from 10%: Prometheus at http://prom'));
  });
});

describe('the terminal logger with hostile text', () => {
  it('writes one line a call, with no terminal escape, no runner command and no secret', () => {
    const written: string[] = [];
    const logger = terminalLogger((text) => written.push(text), secrets, true);
    logger.info(`Route ${HOSTILE}: ${HEADER_VALUE}`);
    logger.warn(HOSTILE);
    logger.error(HOSTILE);
    logger.debug(HOSTILE);
    const output = written.join('');
    assert.equal(output.split('\n').length, 5, output);
    assert.ok(!output.includes('\r'));
    assert.doesNotMatch(output, TERMINAL_ACTIVE);
    assert.deepEqual(forgedCommands(output), []);
    assert.ok(!output.includes(HEADER_VALUE));
  });
});

describe('report and dotenv files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'istio-canary-sinks-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the JSON report is private, redacted, escaped, and parses back to the report', async () => {
    const path = await writeJsonReport(hostileReport, { dir, secrets });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const text = readFileSync(path, 'utf8');
    assert.ok(!text.includes(HEADER_VALUE));
    assert.doesNotMatch(text, TERMINAL_ACTIVE);
    const parsed = JSON.parse(text) as { route: string; reason: string };
    assert.equal(parsed.route, HOSTILE);
    assert.ok(parsed.reason.includes('X-Api-Key=***'));
  });

  it('the JSON report never writes through a link planted at its name', async () => {
    const sub = mkdtempSync(join(dir, 'planted-'));
    const victim = join(sub, 'victim');
    writeFileSync(victim, 'untouched');
    const first = join(sub, 'istio-canary-report-20250102T030905123Z.json');
    symlinkSync(victim, first);
    symlinkSync(join(sub, 'nowhere'), join(sub, 'istio-canary-report-20250102T030905123Z-2.json'));
    const path = await writeJsonReport(stageReport(), { dir: sub, secrets });
    assert.equal(path, join(sub, 'istio-canary-report-20250102T030905123Z-3.json'));
    assert.equal(readFileSync(victim, 'utf8'), 'untouched');
    assert.ok(lstatSync(first).isSymbolicLink());
    assert.deepEqual(
      readdirSync(sub).filter((name) => name.endsWith('.tmp')),
      [],
      'no temporary file left',
    );
  });

  it('the dotenv file is private, one line a value, secrets replaced', async () => {
    const path = join(dir, 'out.env');
    await writeDotenv(path, { result: 'passed', report: `a\n${HEADER_VALUE}` }, secrets);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(
      readFileSync(path, 'utf8'),
      'ISTIO_CANARY_OUTPUT_RESULT=passed\nISTIO_CANARY_OUTPUT_REPORT=a\\n***\n',
    );
    assert.equal(dotenvText({ x: '\u001b[2J' }, secrets), 'ISTIO_CANARY_OUTPUT_X=\\x1b[2J\n');
  });

  it('the dotenv file replaces a link planted at its path instead of writing through it', async () => {
    const victim = join(dir, 'dotenv-victim');
    writeFileSync(victim, 'untouched');
    const path = join(dir, 'linked.env');
    symlinkSync(victim, path);
    await writeDotenv(path, { result: 'passed' }, secrets);
    assert.equal(readFileSync(victim, 'utf8'), 'untouched');
    assert.ok(!lstatSync(path).isSymbolicLink());
    assert.equal(readFileSync(path, 'utf8'), 'ISTIO_CANARY_OUTPUT_RESULT=passed\n');
  });
});
