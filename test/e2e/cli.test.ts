import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { waitForSeries } from '../../src/sandbox/prometheus.ts';
import { startSandbox, type Sandbox } from '../helpers/ground.ts';
import { skipWithoutPrometheus } from '../helpers/sandbox.ts';
import { assertRestored, backendVs, primaryRoute, resetShop, weights } from '../helpers/shop.ts';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
const FRONTEND_RPS = 100;
const FAULTY = { errorRate: 0.3, latencyMs: { median: 20, p99: 100 } };
const WATCH = ['--interval', '2s', '--min-requests', '10'];

/** One run of `node dist/cli.js`, as a CI job would start it. */
interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
  /** Milliseconds from spawn to the signal, when one was sent. */
  signalledAtMs?: number;
}

interface CliOptions {
  env?: Record<string, string>;
  /** Sees stdout + stderr after each chunk; may send the process a signal (once). */
  onOutput?: (output: string, signal: (name: NodeJS.Signals) => void) => void;
  timeoutMs?: number;
}

describe(
  'CLI end to end (dist/cli.js, sandbox, real Prometheus)',
  { skip: skipWithoutPrometheus() },
  () => {
    let sandbox: Sandbox;
    let workdir: string;
    let kubeconfigPath: string;
    let kubeToken: string;
    let base: string[];

    before(async () => {
      sandbox = await startSandbox({ prometheus: 'required', rps: FRONTEND_RPS });
      workdir = mkdtempSync(join(tmpdir(), 'istio-canary-cli-e2e-'));
      kubeconfigPath = join(workdir, 'kubeconfig');
      writeFileSync(kubeconfigPath, sandbox.kubeconfig, { mode: 0o600 });
      kubeToken = /token: (\S+)/.exec(sandbox.kubeconfig)![1];
      base = ['--kubeconfig', kubeconfigPath, '--virtual-service', 'backend'];
      await waitForSeries(
        sandbox.prometheusUrl,
        'istio_requests_total{destination_workload="backend-v1"}',
        20_000,
      );
    });
    after(async () => {
      await sandbox?.stop();
      if (workdir) rmSync(workdir, { recursive: true, force: true });
    });
    beforeEach(() => resetShop(sandbox, FRONTEND_RPS));

    const vs = () => backendVs(sandbox);
    const primary = () => primaryRoute(sandbox);
    const cli = (args: string[], options: CliOptions = {}) =>
      runCli(args, { ...options, env: { ISTIO_CANARY_REPORT_DIR: workdir, ...options.env } });

    test('a passing step with --output json: one JSON document on stdout, the log on stderr, the dotenv file', async () => {
      const dotenv = join(workdir, 'pass.env');
      const run = await cli([
        'step',
        ...base,
        '--stable-subset=v1',
        '--canary-subset',
        'v2',
        '--weight',
        '10',
        '--duration',
        '6s',
        ...WATCH,
        '--output',
        'json',
        '--dotenv',
        dotenv,
        '--prometheus-headers',
        'X-Scope-OrgID: tenant-secret-42',
      ]);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as {
        schema: string;
        outcome: string;
        weightAfter: number;
        checks: { verdict: string }[];
        outputs: Record<string, string>;
      };
      assert.equal(report.schema, 'istio-canary/report/v1');
      assert.equal(report.outcome, 'passed');
      assert.equal(report.weightAfter, 10);
      assert.ok(report.checks.some((c) => c.verdict === 'pass'));
      assert.equal(report.outputs.result, 'passed');
      assert.equal(report.outputs.weight, '10');
      assert.ok(Number(report.outputs['success-rate']) >= 99, report.outputs['success-rate']);
      assert.match(run.stderr, /\] w=10% .*PASS/, 'progress per check, on stderr');
      assert.match(run.stderr, /Result: passed/);
      assert.deepEqual(weights(primary()), { v1: 90, v2: 10 });

      const env = parseDotenv(readFileSync(dotenv, 'utf8'));
      assert.deepEqual(Object.keys(env), [
        'ISTIO_CANARY_OUTPUT_RESULT',
        'ISTIO_CANARY_OUTPUT_WEIGHT',
        'ISTIO_CANARY_OUTPUT_SUCCESS_RATE',
        'ISTIO_CANARY_OUTPUT_LATENCY',
        'ISTIO_CANARY_OUTPUT_REPORT',
        'ISTIO_CANARY_OUTPUT_HTML_REPORT',
      ]);
      assert.equal(env.ISTIO_CANARY_OUTPUT_RESULT, 'passed');
      assert.equal(
        env.ISTIO_CANARY_OUTPUT_HTML_REPORT,
        report.outputs.report.replace(/\.json$/, '.html'),
        'the HTML report beside the JSON one',
      );
      assert.ok(
        readFileSync(env.ISTIO_CANARY_OUTPUT_HTML_REPORT, 'utf8').includes('Canary stage passed'),
      );
      assert.ok(run.stderr.includes(`HTML report: ${env.ISTIO_CANARY_OUTPUT_HTML_REPORT}`));
      assert.equal(env.ISTIO_CANARY_OUTPUT_WEIGHT, '10');
      assert.equal(env.ISTIO_CANARY_OUTPUT_SUCCESS_RATE, report.outputs['success-rate']);
      assert.equal(env.ISTIO_CANARY_OUTPUT_REPORT, report.outputs.report);
      const file = JSON.parse(readFileSync(env.ISTIO_CANARY_OUTPUT_REPORT, 'utf8')) as {
        outcome: string;
      };
      assert.equal(file.outcome, 'passed');
      for (const secret of [kubeToken, 'tenant-secret-42'])
        assert.ok(!(run.stdout + run.stderr).includes(secret), 'a secret was printed');
    });

    test('a faulty canary exits 1 with the route restored; progress per check on stdout', async () => {
      sandbox.simulator.setBehaviour('backend-v2', FAULTY);
      const dotenv = join(workdir, 'fail.env');
      const run = await cli(
        ['step', ...base, '--weight', '20', '--duration', '60s', ...WATCH, '--dotenv', dotenv],
        { env: { ISTIO_CANARY_STABLE_SUBSET: 'v1', ISTIO_CANARY_CANARY_SUBSET: 'v2' } },
      );
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.ok(run.elapsedMs < 30_000, `rolled back after ${run.elapsedMs} ms of a 60 s watch`);
      assert.match(run.stdout, /\] w=20% .*FAIL/);
      assert.match(run.stdout, /Result: rolled-back/);
      assert.equal(
        parseDotenv(readFileSync(dotenv, 'utf8')).ISTIO_CANARY_OUTPUT_RESULT,
        'rolled-back',
      );
      assertRestored(vs());
    });

    test('rollback with nothing in progress exits 0 with noop and writes nothing', async () => {
      const writesBefore = writes(sandbox);
      const run = await cli(['rollback', ...base, '--output', 'json']);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as { outcome: string; outputs: { result: string } };
      assert.equal(report.outcome, 'noop');
      assert.equal(report.outputs.result, 'noop');
      assert.equal(writes(sandbox), writesBefore);
      assertRestored(vs());
    });

    test('status during a rollout reports the stage without writing', async () => {
      let status: Promise<{ run: CliRun; writes: number }> | undefined;
      const step = await cli(
        ['step', ...base, '--stable-subset', 'v1', '--canary-subset', 'v2', '--weight', '10'],
        {
          env: { ISTIO_CANARY_DURATION: '60s', ISTIO_CANARY_INTERVAL: '2s' },
          onOutput: (output, signal) => {
            if (status || !/Watching/.test(output)) return;
            const writesBefore = writes(sandbox);
            status = cli(['status', ...base, '--output', 'json']).then((run) => {
              signal('SIGTERM');
              return { run, writes: writes(sandbox) - writesBefore };
            });
          },
        },
      );
      assert.ok(status, 'status ran during the watch');
      const { run, writes: statusWrites } = await status;
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as {
        command: string;
        weightAfter: number;
        reason: string;
      };
      assert.equal(report.command, 'status');
      assert.equal(report.weightAfter, 10);
      assert.match(report.reason, /in progress at 10%/);
      assert.match(
        run.stderr,
        /Rollout in progress on shop\/backend route primary: v1 -> v2 at 10%/,
      );
      assert.equal(statusWrites, 0, 'status writes nothing');
      assert.equal(step.code, 1, 'the cancelled step (SIGTERM) exits 1');
      assert.match(step.stderr, /Received SIGTERM/);
      assertRestored(vs());
    });

    test('SIGINT after the first check restores the route and exits non-zero within 5 s', async () => {
      const run = await cli(
        [
          'step',
          ...base,
          '--stable-subset',
          'v1',
          '--canary-subset',
          'v2',
          '--weight',
          '10',
          '--duration',
          '60s',
          ...WATCH,
        ],
        { onOutput: (output, signal) => /\] w=10% /.test(output) && signal('SIGINT') },
      );
      assert.ok(run.signalledAtMs !== undefined, 'the signal was sent');
      const exitAfterSignal = run.elapsedMs - run.signalledAtMs;
      assert.equal(run.signal, null, 'the process exits by itself, not killed by the signal');
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.ok(exitAfterSignal < 5000, `exited ${exitAfterSignal} ms after SIGINT`);
      assert.match(run.stderr, /Received SIGINT: restoring the original route/);
      assertRestored(vs());
      console.log(`CLI: SIGINT -> route restored and exit: ${exitAfterSignal} ms`);
    });

    test('a usage error exits 2 and makes no API request', async () => {
      const requestsBefore = sandbox.api.requests.length;
      const cases: [string[], RegExp][] = [
        [
          ['step', ...base, '--stable-subset', 'v1', '--canary-subset', 'v2', '--weight', '150'],
          /--weight must be/,
        ],
        [['step', ...base, '--wieght', '10'], /Unknown flag --wieght\. Did you mean --weight\?/],
        [
          ['promote', ...base, '--canary-subset', 'v2'],
          /--stable-subset is required for command "promote"/,
        ],
        [['status', ...base, '--output', 'yaml'], /--output must be text or json/],
      ];
      for (const [args, message] of cases) {
        const run = await cli(args);
        assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, message);
        assert.equal(run.stdout, '');
        assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      }
      assert.equal(
        sandbox.api.requests.length,
        requestsBefore,
        'no request reached the API server',
      );
    });
  },
);

describe('CLI on an old Node', () => {
  const old = oldNode();
  test(
    'prints a clear message, not a stack trace, and exits 2 on Node < 22.19',
    { skip: old ? false : 'no Node.js older than 22.19 on this machine' },
    () => {
      const run = spawnSync(old!.path, [CLI, 'status', '--virtual-service', 'backend'], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(run.status, 2, run.stderr);
      assert.equal(run.stdout, '');
      assert.equal(
        run.stderr,
        `istio-canary needs Node.js 22.19 or newer (what @kubernetes/client-node 2.x requires); this is ${old!.version}.\n`,
      );
    },
  );
});

/** The first `node` on PATH (and the usual system places) older than 22.19, if any. */
function oldNode(): { path: string; version: string } | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin', '/bin'];
  for (const dir of dirs.filter(Boolean)) {
    const path = join(dir, 'node');
    try {
      accessSync(path, constants.X_OK);
    } catch {
      continue;
    }
    const version = spawnSync(path, ['--version'], {
      encoding: 'utf8',
      timeout: 10_000,
    }).stdout?.trim();
    const [major, minor] = (version ?? '').replace(/^v/, '').split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 19)) return { path, version };
  }
  return undefined;
}

async function runCli(args: string[], options: CliOptions): Promise<CliRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let signalledAtMs: number | undefined;
  const sendSignal = (name: NodeJS.Signals): void => {
    if (signalledAtMs !== undefined || child.exitCode !== null) return;
    signalledAtMs = Date.now() - started;
    child.kill(name);
  };
  const watch = (): void => options.onOutput?.(stdout + stderr, sendSignal);
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    watch();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    watch();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) =>
    child.on('exit', (c, s) => done([c, s])),
  );
  clearTimeout(timer);
  return { code, signal, stdout, stderr, elapsedMs: Date.now() - started, signalledAtMs };
}

function writes(sandbox: Sandbox): number {
  return sandbox.api.requests.filter((r) => r.method !== 'GET').length;
}

function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n').filter(Boolean)) {
    const eq = line.indexOf('=');
    values[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return values;
}
