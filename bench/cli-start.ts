/**
 * Cold start of the bundled CLI: from spawn to its first request to the Kubernetes API server.
 * `node bench/cli-start.ts [--runs N]` (default 15). Runs `dist/cli.js status` against the
 * sandbox's API server (no Prometheus: status does not query it) and prints median and p90 of:
 * spawn -> first TCP connection to the API server (a pass-through proxy in front of it notes the
 * moment), spawn -> first request answered (the server's request log, polled every millisecond),
 * and spawn -> exit; each without Node's compile cache (a fresh CI container) and with it (a
 * repeat run on one machine). `node -e 0` and `dist/cli.js --version` (the bundle loaded, no
 * network) are the floors, so the share that is Node's own start-up is visible.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox.ts';

const CLI = resolve(import.meta.dirname, '../dist/cli.js');
/** A run that takes longer than this is a hang, not a data point. */
const RUN_TIMEOUT_MS = 30_000;

interface Timings {
  connectMs?: number;
  firstRequestMs?: number;
  exitMs: number;
}

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 1000)
  throw new Error(`--runs must be a whole number from 1 to 1000; got "${values.runs}"`);

const sandbox = await startSandbox({ prometheus: 'off' });
sandbox.simulator.setClients([]);
const dir = mkdtempSync(join(tmpdir(), 'istio-canary-bench-'));
const proxy = await passThrough(sandbox.api.port);
try {
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    sandbox.kubeconfig.replace(`127.0.0.1:${sandbox.api.port}`, `127.0.0.1:${proxy.port}`),
  );
  const status = [CLI, 'status', '--kubeconfig', kubeconfig, '--virtual-service', 'backend'];
  const env = { PATH: process.env.PATH ?? '', HOME: dir, ISTIO_CANARY_REPORT_DIR: dir };

  // A fresh CI container has no compile cache: NODE_DISABLE_COMPILE_CACHE stands for it. A laptop
  // or a shell runner keeps the one the CLI enables in the temporary folder: the warm-up fills it.
  const fresh = { ...env, NODE_DISABLE_COMPILE_CACHE: '1' };
  const cached = { ...env, TMPDIR: dir };
  // One untimed run of each warms the file cache, as a runner's second job would find it.
  await measure(['-e', '0'], env, sandbox, proxy);
  await measure(status, fresh, sandbox, proxy);
  await measure(status, cached, sandbox, proxy);
  if (!existsSync(join(dir, 'node-compile-cache')))
    throw new Error('dist/cli.js did not enable the compile cache in its temporary folder');

  const floor: Timings[] = [];
  const version: Timings[] = [];
  const cold: Timings[] = [];
  const warm: Timings[] = [];
  for (let i = 0; i < runs; i++) {
    floor.push(await measure(['-e', '0'], env, sandbox, proxy));
    version.push(await measure([CLI, '--version'], fresh, sandbox, proxy));
    cold.push(await measureRequest(status, fresh, sandbox, proxy));
    warm.push(await measureRequest(status, cached, sandbox, proxy));
  }

  console.log(`CLI cold start, ${runs} runs each, Node ${process.version}, ${CLI}`);
  console.log(`${''.padEnd(56)}median      p90`);
  row(
    'node -e 0: spawn -> exit',
    floor.map((t) => t.exitMs),
  );
  row(
    'dist/cli.js --version: spawn -> exit',
    version.map((t) => t.exitMs),
  );
  for (const [label, series] of [
    ['no compile cache', cold],
    ['compile cache', warm],
  ] as const) {
    row(
      `status (${label}): spawn -> first connect`,
      series.map((t) => t.connectMs!),
    );
    row(
      `status (${label}): spawn -> first answer`,
      series.map((t) => t.firstRequestMs!),
    );
    row(
      `status (${label}): spawn -> exit`,
      series.map((t) => t.exitMs),
    );
  }
  const base = median(floor.map((t) => t.exitMs));
  console.log(
    `first API connection / bare Node start (medians): ${(median(cold.map((t) => t.connectMs!)) / base).toFixed(1)}x without, ${(median(warm.map((t) => t.connectMs!)) / base).toFixed(1)}x with the compile cache`,
  );
} finally {
  await proxy.close();
  await sandbox.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** {@link measure} for a run that must reach the API server. */
async function measureRequest(
  args: string[],
  env: Record<string, string>,
  sandbox: Sandbox,
  proxy: Proxy,
): Promise<Timings> {
  const run = await measure(args, env, sandbox, proxy);
  if (run.connectMs === undefined || run.firstRequestMs === undefined)
    throw new Error('dist/cli.js status made no API request; is dist/ built?');
  return run;
}

/** Spawns `node <args>` and times it against the API server's first connection and request. */
async function measure(
  args: string[],
  env: Record<string, string>,
  sandbox: Sandbox,
  proxy: Proxy,
): Promise<Timings> {
  const served = sandbox.api.requests.length;
  proxy.firstConnectionAt = undefined;
  const started = performance.now();
  let firstRequestAt: number | undefined;
  const poll = setInterval(() => {
    if (firstRequestAt === undefined && sandbox.api.requests.length > served)
      firstRequestAt = performance.now();
  }, 1);
  const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
  const exited = performance.now();
  clearTimeout(timer);
  clearInterval(poll);
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code}`);
  return {
    connectMs:
      proxy.firstConnectionAt === undefined ? undefined : proxy.firstConnectionAt - started,
    firstRequestMs: firstRequestAt === undefined ? undefined : firstRequestAt - started,
    exitMs: exited - started,
  };
}

interface Proxy {
  port: number;
  firstConnectionAt: number | undefined;
  close(): Promise<void>;
}

/** A TCP pass-through to the API server that notes when the first connection arrives. */
async function passThrough(targetPort: number): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const proxy: Proxy = { port: 0, firstConnectionAt: undefined, close: () => Promise.resolve() };
  const server: Server = createServer((client) => {
    proxy.firstConnectionAt ??= performance.now();
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  proxy.port = (server.address() as { port: number }).port;
  proxy.close = () =>
    new Promise<void>((done) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => done());
    });
  return proxy;
}

function row(label: string, samples: number[]): void {
  const cells = [median(samples), percentile(samples, 0.9)].map((v) => v.toFixed(0).padStart(6));
  console.log(`${label.padEnd(56)}${cells[0]} ms ${cells[1]} ms`);
}

function median(samples: number[]): number {
  return percentile(samples, 0.5);
}

/** Nearest-rank percentile: the smallest sample with at least `q` of the samples at or below it. */
function percentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}
