/**
 * Runs a real Prometheus (Debian's `prometheus` package) for the sandbox: scrapes the traffic
 * simulator every second so the end-to-end tests and the demo read metrics the way a rollout
 * reads them in a real cluster.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Sample } from '../metrics/types.ts';

/** Why the Prometheus-backed tests and demo cannot run here, and how to fix it. */
export const prometheusUnavailableMessage =
  'no prometheus binary found on PATH or at /usr/bin/prometheus; install it with `sudo apt-get install -y prometheus`';

/** A running Prometheus and how to end it. */
export interface RunningPrometheus {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** Stops the process (SIGTERM, then SIGKILL) and removes its config and data. */
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** `host:port` of each endpoint serving `/metrics`. */
  targets: string[];
  /** Path of the binary; found with findPrometheus() by default. */
  binary?: string;
  /** How long to wait for `/-/ready`. Default 20 s. */
  readyTimeoutMs?: number;
}

const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const POLL_MS = 100;
/** Keep the end of stderr only: enough to explain a failed start. */
const STDERR_TAIL_CHARS = 4_000;
/** Picking a free port and binding it later can race with another process; retry a few times. */
const START_ATTEMPTS = 3;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The `prometheus` binary on PATH, else `/usr/bin/prometheus`, else undefined. */
export function findPrometheus(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  const candidates = [...dirs.map((d) => join(d, 'prometheus')), '/usr/bin/prometheus'];
  return candidates.find(isExecutable);
}

/** A port on 127.0.0.1 that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The scrape config: JSON is YAML, so no YAML writer is needed. */
function configText(targets: string[]): string {
  return JSON.stringify({
    global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' },
    scrape_configs: [{ job_name: 'istio-mesh', static_configs: [{ targets }] }],
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A spawned process with its exit state and the end of its stderr. */
interface Child {
  process: ChildProcess;
  exited: Promise<void>;
  hasExited(): boolean;
  stderr(): string;
}

function spawnChild(binary: string, args: string[]): Child {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  let done = false;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      tail += `\n${err.message}`;
      done = true;
      resolve();
    });
    child.once('exit', () => {
      done = true;
      resolve();
    });
  });
  return { process: child, exited, hasExited: () => done, stderr: () => tail.trim() };
}

async function isReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** Waits for `/-/ready`; throws with stderr if the process dies or the time runs out. */
async function waitReady(child: Child, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.hasExited())
      throw new Error(`prometheus exited before it was ready:\n${child.stderr() || '(no output)'}`);
    if (await isReady(url)) return;
    await sleep(POLL_MS);
  }
  throw new Error(`prometheus at ${url} was not ready after ${timeoutMs} ms:\n${child.stderr()}`);
}

async function terminate(child: Child): Promise<void> {
  if (child.hasExited()) return;
  child.process.kill('SIGTERM');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killLater = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      child.process.kill('SIGKILL');
      resolve();
    }, STOP_GRACE_MS);
  });
  await Promise.race([child.exited, killLater]);
  // A pending grace timer would keep the caller's process alive for its whole length.
  clearTimeout(timer);
  await child.exited;
}

async function startOnce(binary: string, dir: string, configFile: string, readyTimeoutMs: number) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnChild(binary, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h',
    '--log.level=warn',
  ]);
  try {
    await waitReady(child, url, readyTimeoutMs);
    return { child, url };
  } catch (err) {
    await terminate(child);
    throw err;
  }
}

/** Starts Prometheus scraping `targets` every second, in a fresh temp dir; resolves once ready. */
export async function startPrometheus(options: StartPrometheusOptions): Promise<RunningPrometheus> {
  const binary = options.binary ?? findPrometheus();
  if (binary === undefined) throw new Error(prometheusUnavailableMessage);
  const dir = await mkdtemp(join(tmpdir(), 'istio-canary-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  try {
    await writeFile(configFile, configText(options.targets));
    for (let attempt = 1; ; attempt++) {
      try {
        const { child, url } = await startOnce(
          binary,
          dir,
          configFile,
          options.readyTimeoutMs ?? READY_TIMEOUT_MS,
        );
        return {
          url,
          stop: () => terminate(child).then(() => rm(dir, { recursive: true, force: true })),
        };
      } catch (err) {
        const portTaken = /address already in use/i.test(String(err));
        if (!portTaken || attempt >= START_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

interface QueryAnswer {
  status?: string;
  error?: string;
  data?: {
    resultType?: string;
    result?: { metric?: Record<string, string>; value?: [number, string] }[];
  };
}

/** Runs one instant query; throws on an HTTP or API error. */
export async function instantQuery(url: string, promql: string): Promise<Sample[]> {
  const res = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: promql }).toString(),
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await res.json()) as QueryAnswer;
  if (!res.ok || body.status !== 'success')
    throw new Error(
      `query ${promql} failed with HTTP ${res.status}: ${body.error ?? 'no error message'}`,
    );
  if (body.data?.resultType !== 'vector')
    throw new Error(
      `query ${promql} returned ${body.data?.resultType ?? 'nothing'}, expected a vector`,
    );
  return (body.data.result ?? []).map((r) => ({
    labels: r.metric ?? {},
    value: Number(r.value?.[1]),
  }));
}

/** A non-empty result, or why there is none yet. */
async function queryOrReason(url: string, promql: string): Promise<Sample[] | string> {
  try {
    const samples = await instantQuery(url, promql);
    return samples.length > 0 ? samples : 'empty vector';
  } catch (err) {
    return (err as Error).message;
  }
}

/** Polls `promql` until it returns a non-empty vector; throws after `timeoutMs` with the last error. */
export async function waitForSeries(
  url: string,
  promql: string,
  timeoutMs: number,
): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  let outcome: Sample[] | string;
  do {
    outcome = await queryOrReason(url, promql);
    if (typeof outcome !== 'string') return outcome;
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  } while (Date.now() < deadline);
  throw new Error(`no series for ${promql} at ${url} within ${timeoutMs} ms (${outcome})`);
}
