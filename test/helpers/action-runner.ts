import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** What one run of an action entry left behind, as the runner would see it. */
export interface ActionRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  /** Wall-clock milliseconds from spawn to exit. */
  elapsedMs: number;
  /** Milliseconds from spawn to the interrupt or kill, when one was sent. */
  interruptedAtMs?: number;
}

export interface RunOptions {
  inputs: Record<string, string>;
  env?: Record<string, string>;
  /** Files and state of an earlier run of the same job (post step after main). */
  workdir?: string;
  state?: Record<string, string>;
  /** Send this signal once stdout contains `when`. */
  interrupt?: { when: string | RegExp; signal: NodeJS.Signals };
  /** SIGKILL the process once stdout contains this (a crashed runner). */
  killWhen?: string | RegExp;
  /** Close our end of stdout once it contains this, or at once with `true` (a reader gone). */
  closeStdoutWhen?: string | RegExp | true;
  timeoutMs?: number;
}

const DIST = resolve(import.meta.dirname, '../../dist');

/**
 * Runs `dist/<entry>.js` the way the GitHub runner does: inputs as INPUT_<NAME> (upper case,
 * dashes kept), file commands through GITHUB_OUTPUT / GITHUB_STATE / GITHUB_STEP_SUMMARY, state
 * for the post step as STATE_<name>. Always on this process's Node, which `npm test` makes 24.
 */
export async function runAction(
  entry: 'main' | 'post',
  options: RunOptions,
): Promise<ActionRun & { workdir: string }> {
  const workdir = options.workdir ?? mkdtempSync(join(tmpdir(), 'istio-canary-runner-'));
  const files = {
    GITHUB_OUTPUT: join(workdir, `output-${entry}`),
    GITHUB_STATE: join(workdir, `state-${entry}`),
    GITHUB_STEP_SUMMARY: join(workdir, `summary-${entry}`),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? workdir,
    RUNNER_TEMP: workdir,
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: 'canary',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    ...files,
    ...options.env,
  };
  for (const [name, value] of Object.entries(options.inputs))
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value;

  // The runner's runtime is Node 24; `npm test` puts the node@24 package first on the PATH.
  assert.equal(process.versions.node.split('.')[0], '24', 'the action must be tested on Node 24');
  const started = Date.now();
  const child = spawn(process.execPath, [join(DIST, `${entry}.js`)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  let interruptedAtMs: number | undefined;
  if (options.closeStdoutWhen === true) child.stdout.destroy();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const close = options.closeStdoutWhen;
    if (close !== undefined && close !== true && matches(stdout, close)) child.stdout.destroy();
    if (options.interrupt && !interrupted && matches(stdout, options.interrupt.when)) {
      interrupted = true;
      interruptedAtMs = Date.now() - started;
      child.kill(options.interrupt.signal);
    }
    if (options.killWhen && !interrupted && matches(stdout, options.killWhen)) {
      interrupted = true;
      interruptedAtMs = Date.now() - started;
      child.kill('SIGKILL');
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) =>
    child.on('exit', (c, s) => done([c, s])),
  );
  clearTimeout(timer);
  return {
    code,
    signal,
    stdout,
    stderr,
    elapsedMs: Date.now() - started,
    interruptedAtMs,
    outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    state: { ...options.state, ...parseFileCommand(readFileSync(files.GITHUB_STATE, 'utf8')) },
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    workdir,
  };
}

function matches(text: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
}

/** Parses `name<<delimiter\nvalue\ndelimiter` blocks (and plain `name=value` lines). */
export function parseFileCommand(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i]);
      values[name] = body.join('\n');
    } else if (line.includes('=')) {
      values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return values;
}

/** The run exited 0; the message carries its output. */
export function assertPassed(run: ActionRun): void {
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
}
