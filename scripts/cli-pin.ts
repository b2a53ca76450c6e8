/**
 * The pin of the CLI bundle the GitLab templates run by default. The templates fetch the
 * package from the npm registry and run it only when the SHA-256 of its bundle equals the one
 * they carry, so a package that someone else publishes under the name runs nowhere. The digest
 * is taken over the files the package ships under dist/ (package.json `files`), computed as the
 * job computes it with coreutils:
 *
 *     find dist -type f | LC_ALL=C sort | xargs sha256sum | sha256sum
 *
 * that is, the SHA-256 of one `<sha256 of the file>  <path>` line per file, paths sorted bytewise.
 * It depends only on the sources (the bundle is deterministic), not on npm's tarball format.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** The files under dist/ that the package ships, relative to the package root, sorted bytewise. */
export function shippedBundleFiles(root: string): string[] {
  const files = [
    'dist/cli.js',
    ...readdirSync(join(root, 'dist/chunks')).map((f) => `dist/chunks/${f}`),
  ];
  return files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** The digest of the bundle in `root` (a package or a checkout), as the job computes it. */
export function bundleDigest(
  root: string,
  files: readonly string[] = shippedBundleFiles(root),
): string {
  const listing = files
    .map(
      (file) =>
        `${createHash('sha256')
          .update(readFileSync(join(root, file)))
          .digest('hex')}  ${file}\n`,
    )
    .join('');
  return createHash('sha256').update(listing).digest('hex');
}

/**
 * The digest of the bundle the current sources build to: built afresh into a temporary folder
 * by scripts/bundle.mjs, so that neither a stale dist/ nor one under construction can leak in.
 */
export function sourceBundleDigest(): string {
  const dir = mkdtempSync(join(tmpdir(), 'istio-canary-pin-'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'scripts/bundle.mjs'), join(dir, 'dist')], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return bundleDigest(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The SHA-256 a hex digest must look like; anything else in a template is a mistake. */
export const DIGEST_PATTERN = /^[0-9a-f]{64}$/;

/**
 * The default `cli` of the templates: one `sh -c` that fetches `<name>@<version>` with the job's
 * own npm configuration (registry, proxy, credentials), unpacks only its dist/ into a fresh
 * folder in the job's directory (the project's, cleaned with it), checks the digest,
 * and only then runs it, in place of the shell so that a cancelled job's signal reaches the CLI.
 * The arguments the template appends (`step --dotenv ...`) reach it as "$@".
 */
export function pinnedCli(name: string, version: string, digest: string): string {
  if (!DIGEST_PATTERN.test(digest)) throw new Error(`not a SHA-256 digest: ${digest}`);
  const spec = `${name}@${version}`;
  const steps = [
    'set -eu',
    'd=$(mktemp -d "$PWD/.istio-canary-cli.XXXXXX")',
    `echo "istio-canary: fetching ${spec} from the npm registry; it runs only if its bundle has the SHA-256 this template pins." >&2`,
    `npm pack --loglevel=error --pack-destination "$d" ${spec} >/dev/null`,
    `tar -xzf "$d/${name}-${version}.tgz" -C "$d" package/dist`,
    `s=$(cd "$d/package" && find dist -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d " " -f 1)`,
    `if [ "$s" != ${digest} ]; then echo "istio-canary: refusing to run ${spec}: its bundle has SHA-256 $s, this template pins ${digest}. Include the templates from the release tag of this version, or set the cli input." >&2; exit 1; fi`,
    `exec node "$d/package/dist/cli.js" "$@"`,
  ];
  const body = steps.join('; ');
  if (body.includes("'")) throw new Error('the pinned CLI body must hold no single quote');
  return `sh -c '${body}' istio-canary`;
}
