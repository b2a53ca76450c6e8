/**
 * The control plane's binaries: where they are built, and building them only when their sources
 * changed. Each binary is a small Go module of ours under test/cluster/<name>/ that wraps the
 * upstream command (kube-apiserver, etcd, Istio's validation webhook). The binaries live in a cache
 * folder outside git; Go's own GOCACHE and GOMODCACHE make a rebuild after a small change cheap.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The binaries the control plane runs, each built from test/cluster/<name>/. */
export const BINARIES = ['etcd', 'kube-apiserver', 'istio-validation'] as const;
export type BinaryName = (typeof BINARIES)[number];

/** test/cluster/, where the Go modules are. */
export const MODULES_DIR = resolve(import.meta.dirname);

/**
 * The cache folder: ISTIO_CANARY_CLUSTER_CACHE, else $XDG_CACHE_HOME/istio-canary/cluster, else
 * ~/.cache/istio-canary/cluster.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ISTIO_CANARY_CLUSTER_CACHE) return resolve(env.ISTIO_CANARY_CLUSTER_CACHE);
  const base = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(base, 'istio-canary', 'cluster');
}

/** Path of a built binary. */
export function binaryPath(name: BinaryName, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'bin', name);
}

/**
 * What a binary is built from: go.mod, go.sum and every .go file of its module, plus the Go
 * version and the link flags. A binary whose stored key matches is current and is not rebuilt.
 */
export function sourceKey(name: BinaryName, goVersion: string): string {
  const dir = join(MODULES_DIR, name);
  const hash = createHash('sha256').update(goVersion).update(versionFlags(name));
  const files = readdirSync(dir)
    .filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go'))
    .sort();
  for (const file of files) hash.update(`\0${file}\0`).update(readFileSync(join(dir, file)));
  return hash.digest('hex');
}

/**
 * kube-apiserver reports its version from variables the Kubernetes release build sets; a plain
 * `go build` leaves a placeholder, so set them from the version our go.mod requires.
 */
function versionFlags(name: BinaryName): string {
  if (name !== 'kube-apiserver') return '-s -w';
  const goMod = readFileSync(join(MODULES_DIR, name, 'go.mod'), 'utf8');
  const version = /^\s*k8s\.io\/kubernetes (v(\d+)\.(\d+)\.\d+)/m.exec(goMod);
  if (!version) throw new Error(`test/cluster/${name}/go.mod does not require k8s.io/kubernetes`);
  const pkg = 'k8s.io/component-base/version';
  return [
    '-s -w',
    `-X ${pkg}.gitVersion=${version[1]}`,
    `-X ${pkg}.gitMajor=${version[2]}`,
    `-X ${pkg}.gitMinor=${version[3]}`,
    `-X ${pkg}.gitTreeState=clean`,
  ].join(' ');
}

/** One binary's build: rebuilt or reused, and how long that took. */
export interface BuildResult {
  name: BinaryName;
  path: string;
  built: boolean;
  seconds: number;
}

function run(command: string, args: string[], cwd: string, quiet: boolean): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      if (!quiet) process.stderr.write(chunk);
      out += chunk.toString();
    });
    child.on('error', (error) =>
      reject(new Error(`${command} could not start (${error.message}); is Go installed?`)),
    );
    child.on('close', (code) =>
      code === 0
        ? resolvePromise(out)
        : reject(new Error(`${command} ${args.join(' ')} in ${cwd} exited ${code}:\n${out}`)),
    );
  });
}

/** Builds one binary unless its key says it is current. */
export async function ensureBinary(
  name: BinaryName,
  options: { log?: (line: string) => void } = {},
): Promise<BuildResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const goVersion = (await run('go', ['env', 'GOVERSION'], MODULES_DIR, true)).trim();
  const key = sourceKey(name, goVersion);
  const path = binaryPath(name);
  const keyFile = `${path}.key`;
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  if (existsSync(path) && existsSync(keyFile) && readFileSync(keyFile, 'utf8') === key)
    return { name, path, built: false, seconds: seconds() };
  mkdirSync(join(cacheDir(), 'bin'), { recursive: true });
  log(`building ${name} (go build in test/cluster/${name}; the first build takes minutes)`);
  // Written beside, then renamed: a build killed half way never leaves a binary that looks current.
  const partial = `${path}.partial`;
  const args = [
    'build',
    '-trimpath',
    '-buildvcs=false',
    '-ldflags',
    versionFlags(name),
    '-o',
    partial,
    '.',
  ];
  await run('go', args, join(MODULES_DIR, name), false);
  renameSync(partial, path);
  writeFileSync(keyFile, key);
  return { name, path, built: true, seconds: seconds() };
}

/** Builds every binary that is not current, one after another (the machine may be small). */
export async function ensureBinaries(
  options: { log?: (line: string) => void } = {},
): Promise<BuildResult[]> {
  const results: BuildResult[] = [];
  for (const name of BINARIES) results.push(await ensureBinary(name, options));
  return results;
}
