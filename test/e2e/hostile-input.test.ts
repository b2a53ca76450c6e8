import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ANNOTATIONS } from '../../src/istio/state/format.ts';
import { backendVirtualService } from '../../src/sandbox/fixtures.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { forgedCommands, HOSTILE, TERMINAL_ACTIVE } from '../fixtures/hostile.ts';
import { runAction } from '../helpers/action-runner.ts';
import { execKubeconfig } from '../helpers/exec-kubeconfig.ts';
import { start as startGithubApi, type GitHubApiDouble } from '../helpers/github-api-double.ts';
import { backendVs, resetShop } from '../helpers/shop.ts';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
const PLANT = resolve(import.meta.dirname, '../helpers/plant-dotenv-link.ts');

/** A prometheus-headers value that the fake Prometheus below echoes in its error. */
const HEADER_SECRET = 'hdr-9f2c7a41-echoed';
const TOKEN = 'Zq7RkT2mXw9PbL4sVn8HcJ5dFg3YaE6u';

/**
 * A Prometheus (or the auth proxy in front of one) that answers the preflight's "are there Istio
 * metrics" count and rejects every other query with an error quoting the request's headers and
 * hostile text: what a misconfigured proxy or a hostile Prometheus can send.
 */
async function echoingPrometheus(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const query = new URLSearchParams(body).get('query') ?? request.url ?? '';
      response.setHeader('content-type', 'application/json');
      if (query.startsWith('count(istio_requests_total')) {
        response.end(
          JSON.stringify({
            status: 'success',
            data: { resultType: 'vector', result: [{ metric: {}, value: [1, '8'] }] },
          }),
        );
        return;
      }
      response.statusCode = 400;
      response.end(
        JSON.stringify({
          status: 'error',
          errorType: 'bad_data',
          error: `denied for X-Api-Key=${String(request.headers['x-api-key'])} ${HOSTILE}`,
        }),
      );
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

/** The output without the lines that register secrets with the runner (they must hold them). */
function withoutMasks(output: string): string {
  return output
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

/** Markdown outside code spans and fences must escape every `[`, `]` and `<` (bar our <br>). */
function assertNoRenderedSyntax(summary: string): void {
  const prose = summary
    .replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1$/gm, '')
    .replace(/(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, '');
  assert.doesNotMatch(prose, /(^|[^\\])(\[|\]|<(?!br>))/m, summary);
  assert.doesNotMatch(summary, TERMINAL_ACTIVE);
}

function assertNoPieceOf(secret: string, text: string): void {
  for (let i = 0; i + 6 <= secret.length; i++)
    assert.ok(!text.includes(secret.slice(i, i + 6)), `"${secret.slice(i, i + 6)}" in: ${text}`);
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(
  args: string[],
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<CliRun> {
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done) => child.on('exit', (code) => done({ code, stdout, stderr })));
}

describe('hostile names, annotations and Prometheus answers, end to end (dist/)', () => {
  let sandbox: Sandbox;
  let prometheus: Awaited<ReturnType<typeof echoingPrometheus>>;
  let workdir: string;
  let inputs: Record<string, string>;

  before(async () => {
    sandbox = await startSandbox({ prometheus: 'off' });
    prometheus = await echoingPrometheus();
    workdir = mkdtempSync(join(tmpdir(), 'istio-canary-hostile-'));
    inputs = {
      kubeconfig: sandbox.kubeconfig,
      'virtual-service': 'backend',
      'stable-subset': 'v1',
      'canary-subset': 'v2',
    };
  });
  after(async () => {
    await prometheus?.close();
    await sandbox?.stop();
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });
  beforeEach(() => {
    resetShop(sandbox, 40);
    const vs = backendVirtualService();
    vs.spec.http[2].name = HOSTILE;
    sandbox.api.put(vs);
  });

  /** Starts a rollout at 10% (no watch) and plants hostile text in its owner annotation. */
  async function plantRollout(): Promise<void> {
    const started = await runAction('main', {
      inputs: { ...inputs, weight: '10', duration: '0s' },
    });
    assert.equal(started.code, 0, started.stdout);
    const vs = backendVs(sandbox);
    vs.metadata.annotations![ANNOTATIONS.owner] = HOSTILE;
    sandbox.api.put(vs);
  }

  test('the action: status forges no workflow command, summary renders no link', async () => {
    await plantRollout();
    const run = await runAction('main', { inputs: { ...inputs, command: 'status' } });
    assert.equal(run.code, 0, run.stdout);
    assert.ok(run.stdout.includes('FORGED'), 'the hostile text is shown, escaped');
    assert.deepEqual(forgedCommands(run.stdout), []);
    assert.deepEqual(forgedCommands(run.stderr), []);
    assert.doesNotMatch(run.stdout, TERMINAL_ACTIVE);
    assert.ok(run.summary.includes('FORGED'));
    assertNoRenderedSyntax(run.summary);
  });

  test('the action: a Prometheus error echoing a header reaches no sink, forges nothing', async () => {
    const api: GitHubApiDouble = await startGithubApi();
    try {
      const run = await runAction('main', {
        inputs: {
          ...inputs,
          weight: '10',
          duration: '20s',
          interval: '2s',
          'prometheus-url': prometheus.url,
          'prometheus-headers': `X-Api-Key: ${HEADER_SECRET}`,
          'github-token': 'ghs_hostile-test-token',
        },
        env: { GITHUB_API_URL: api.url },
      });
      assert.equal(run.code, 1, run.stdout);
      assert.equal(run.outputs.result, 'rolled-back');
      assert.ok(run.stdout.includes(`::add-mask::${HEADER_SECRET}`));
      assert.ok(!withoutMasks(run.stdout).includes(HEADER_SECRET), 'not on stdout');
      assert.ok(!run.stderr.includes(HEADER_SECRET), 'not on stderr');
      assert.deepEqual(forgedCommands(run.stdout), []);
      const report = readFileSync(run.outputs.report, 'utf8');
      assert.ok(report.includes('X-Api-Key=***'), 'the report quotes the error, redacted');
      assert.ok(!report.includes(HEADER_SECRET), 'not in the JSON report');
      assert.equal(statSync(run.outputs.report).mode & 0o777, 0o600);
      assert.ok(!run.summary.includes(HEADER_SECRET), 'not in the summary');
      assertNoRenderedSyntax(run.summary);
      const status = api.requests.find((r) => r.path.includes('/statuses/'));
      assert.ok(status, 'a commit status was posted');
      const description = String(status.body?.description);
      assert.ok(!description.includes(HEADER_SECRET), description);
      assert.doesNotMatch(description, /[<>[\]`\n\r]/);
    } finally {
      await api.stop();
    }
  });

  test('the action: an exec plugin sees none of our inputs; its token is masked', async () => {
    const seen = join(workdir, 'plugin-env.json');
    const run = await runAction('main', {
      inputs: {
        ...inputs,
        command: 'status',
        kubeconfig: execKubeconfig(sandbox.kubeconfig, {
          PLUGIN_ENV_OUT: seen,
          PLUGIN_TOKEN: sandbox.api.adminToken,
        }),
        'prometheus-token': 'prom-input-secret-1',
      },
      env: { ACTIONS_RUNTIME_TOKEN: 'runtime-secret-2' },
    });
    assert.equal(run.code, 0, run.stdout);
    const env = JSON.parse(readFileSync(seen, 'utf8')) as Record<string, string>;
    assert.deepEqual(
      Object.keys(env).filter((name) => /^INPUT_|^ACTIONS_RUNTIME_TOKEN$/i.test(name)),
      [],
    );
    assert.ok(!JSON.stringify(env).includes('secret-'));
    assert.ok(env.GITHUB_REPOSITORY, 'the rest of the environment is kept');
    assert.ok(run.stdout.includes(`::add-mask::${sandbox.api.adminToken}`), run.stdout);
  });

  test('the action: a kubeconfig the parser would quote is described, not quoted', async () => {
    const kubeconfig = sandbox.kubeconfig.replace(/token: \S+/, `token: !vault ${TOKEN}`);
    const run = await runAction('main', { inputs: { ...inputs, kubeconfig, command: 'status' } });
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /::error::Input "kubeconfig" is not valid YAML: .* at line \d+, column \d+/,
    );
    assertNoPieceOf(TOKEN, withoutMasks(run.stdout) + run.stderr);
  });

  test('the CLI: status prints no terminal escape and forges no command', async () => {
    await plantRollout();
    const kubeconfig = join(workdir, 'kubeconfig');
    writeFileSync(kubeconfig, sandbox.kubeconfig, { mode: 0o600 });
    const run = await runCli(
      [
        'status',
        '--kubeconfig',
        kubeconfig,
        '--virtual-service',
        'backend',
        '--stable-subset',
        'v1',
        '--canary-subset',
        'v2',
      ],
      { ISTIO_CANARY_REPORT_DIR: workdir },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes('FORGED'));
    assert.doesNotMatch(run.stdout + run.stderr, TERMINAL_ACTIVE);
    assert.deepEqual(forgedCommands(run.stdout + run.stderr), []);
  });

  test('the CLI: report and dotenv are private, redacted, and follow no planted link', async () => {
    const kubeconfig = join(workdir, 'kubeconfig');
    writeFileSync(kubeconfig, sandbox.kubeconfig, { mode: 0o600 });
    const dotenv = join(workdir, 'step.env');
    const victim = join(workdir, 'victim');
    writeFileSync(victim, 'untouched\n');
    // The preload plants a link at the temporary name the CLI once used, `<dotenv>.<pid>.tmp`.
    const run = await runCli(
      [
        'step',
        '--kubeconfig',
        kubeconfig,
        '--virtual-service',
        'backend',
        '--stable-subset',
        'v1',
        '--canary-subset',
        'v2',
        '--weight',
        '10',
        '--duration',
        '20s',
        '--interval',
        '2s',
        '--prometheus-url',
        prometheus.url,
        '--prometheus-headers',
        `X-Api-Key: ${HEADER_SECRET}`,
        '--output',
        'json',
        '--dotenv',
        dotenv,
      ],
      { ISTIO_CANARY_REPORT_DIR: workdir, PLANT_DOTENV: dotenv, PLANT_VICTIM: victim },
      ['--import', PLANT],
    );
    assert.equal(run.code, 1, run.stderr);
    assert.ok(!(run.stdout + run.stderr).includes(HEADER_SECRET), 'not on stdout or stderr');
    assert.doesNotMatch(run.stdout + run.stderr, TERMINAL_ACTIVE);
    const document = JSON.parse(run.stdout) as { outcome: string; outputs: { report: string } };
    assert.equal(document.outcome, 'rolled-back');
    const report = readFileSync(document.outputs.report, 'utf8');
    assert.ok(report.includes('X-Api-Key=***'));
    assert.ok(!report.includes(HEADER_SECRET));
    assert.equal(statSync(document.outputs.report).mode & 0o777, 0o600);
    assert.equal(statSync(dotenv).mode & 0o777, 0o600);
    assert.match(readFileSync(dotenv, 'utf8'), /^ISTIO_CANARY_OUTPUT_RESULT=rolled-back$/m);
    assert.equal(readFileSync(victim, 'utf8'), 'untouched\n', 'the planted link was not followed');
    assert.ok(!lstatSync(dotenv).isSymbolicLink());
  });

  test('the CLI: a kubeconfig file with an unresolved tag prints no part of the token', async () => {
    const kubeconfig = join(workdir, 'tagged-kubeconfig');
    writeFileSync(kubeconfig, sandbox.kubeconfig.replace(/token: \S+/, `token: !vault ${TOKEN}`), {
      mode: 0o600,
    });
    const run = await runCli(
      ['status', '--kubeconfig', kubeconfig, '--virtual-service', 'backend'],
      {
        ISTIO_CANARY_REPORT_DIR: workdir,
      },
    );
    assert.equal(run.code, 1);
    assert.match(run.stdout + run.stderr, /is not valid YAML: .* at line \d+, column \d+/);
    assertNoPieceOf(TOKEN, run.stdout + run.stderr);
  });
});
