// Checks a release before and after it is published; the release workflows run it, and so can a
// maintainer. Exits 1 with a sentence per problem.
//
//   node scripts/release-check.ts tag v1.2.3       the tag names the version of package.json
//   node scripts/release-check.ts package x.tgz    the tarball ships the bundle alone, as pinned
//   node scripts/release-check.ts registry 1.2.3   the registry serves the pinned bundle
//                                                  (--wait <seconds>: until it appears)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { VERSION } from '../src/version.ts';
import { bundleDigest } from './cli-pin.ts';

const ROOT = resolve(import.meta.dirname, '..');
const TEMPLATES = ['gitlab/step.yml', 'gitlab/promote.yml', 'gitlab/rollback.yml'];
const PACKAGE_NAME = 'istio-canary';

/** The files a package holds besides its bundle; npm adds package.json, README and LICENSE. */
const PACKAGE_EXTRAS = ['package.json', 'README.md', 'LICENSE'];

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  bundleDependencies?: unknown;
  bundledDependencies?: unknown;
  scripts?: Record<string, string>;
}

/** The digest every GitLab template pins, or a problem when they disagree or pin nothing. */
export function templatePin(root: string = ROOT): string {
  const pins = TEMPLATES.map((file) => {
    const match = /this template pins ([0-9a-f]{64})/.exec(readFileSync(join(root, file), 'utf8'));
    if (!match) throw new Error(`${file} pins no bundle digest`);
    return match[1];
  });
  if (new Set(pins).size !== 1)
    throw new Error(`the templates pin different digests: ${pins.join(', ')}`);
  return pins[0];
}

/** Problems with the tag: it must be v<version of package.json>, and src/version.ts must agree. */
export function tagProblems(tag: string, root: string = ROOT): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  const problems: string[] = [];
  if (!/^v\d+\.\d+\.\d+$/.test(tag)) problems.push(`tag ${tag} is not vX.Y.Z`);
  if (tag !== `v${pkg.version}`)
    problems.push(`tag ${tag} does not name package.json's version ${pkg.version}`);
  if (VERSION !== pkg.version)
    problems.push(`src/version.ts says ${VERSION}, package.json ${pkg.version}`);
  return problems;
}

/** Every file under `dir` of `root`, as `find dir -type f` lists them, relative to `root`. */
export function filesUnder(root: string, dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else found.push(relative(root, full));
    }
  };
  walk(join(root, dir));
  return found.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Unpacks a package tarball into a new folder and returns the folder holding `package/`. */
function unpack(tarball: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'istio-canary-release-'));
  execFileSync('tar', ['-xzf', resolve(tarball), '-C', dir]);
  return dir;
}

/**
 * Problems with a packed tarball: it must hold the bundle and the package's papers and nothing
 * else, declare no dependency (the bundle carries them), and its bundle must be the one the
 * GitLab templates pin.
 */
export function packageProblems(tarball: string, root: string = ROOT): string[] {
  const dir = unpack(tarball);
  try {
    const pkgDir = join(dir, 'package');
    const problems: string[] = [];
    const files = filesUnder(pkgDir, '.');
    const bundle = files.filter((f) => f.startsWith('dist/'));
    const unexpected = files.filter((f) => !f.startsWith('dist/') && !PACKAGE_EXTRAS.includes(f));
    if (unexpected.length > 0)
      problems.push(`the tarball holds files it does not need: ${unexpected.join(', ')}`);
    for (const extra of PACKAGE_EXTRAS)
      if (!files.includes(extra)) problems.push(`the tarball has no ${extra}`);
    if (!bundle.includes('dist/cli.js')) problems.push('the tarball has no dist/cli.js');
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as PackageJson;
    if (pkg.name !== PACKAGE_NAME) problems.push(`the package is named ${pkg.name}`);
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies'] as const) {
      const declared = Object.keys(pkg[field] ?? {});
      if (declared.length > 0)
        problems.push(
          `package.json declares ${field} (${declared.join(', ')}), but dist/ bundles everything`,
        );
    }
    if (pkg.bundleDependencies || pkg.bundledDependencies)
      problems.push('package.json bundles node_modules');
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare'])
      if (pkg.scripts?.[hook])
        problems.push(`package.json has a ${hook} script, which would run on install`);
    const pin = templatePin(root);
    const digest = bundleDigest(pkgDir, bundle);
    if (digest !== pin)
      problems.push(`the tarball's bundle has SHA-256 ${digest}; the GitLab templates pin ${pin}`);
    return problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Problems with what the registry serves as `<name>@<version>`, fetched as the templates fetch it
 * (`npm pack`): its bundle must be the pinned one. With `waitSeconds`, a version not yet there is
 * asked for again every 15 s until then (the mirror's tag may arrive before the npm publish ends).
 */
export async function registryProblems(
  version: string,
  waitSeconds = 0,
  root: string = ROOT,
): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'istio-canary-registry-'));
  const deadline = Date.now() + waitSeconds * 1000;
  try {
    for (;;) {
      try {
        execFileSync(
          'npm',
          ['pack', '--silent', '--pack-destination', dir, `${PACKAGE_NAME}@${version}`],
          {
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        break;
      } catch (error) {
        if (Date.now() >= deadline) {
          const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
          return [`the registry has no ${PACKAGE_NAME}@${version}: ${stderr || String(error)}`];
        }
        await new Promise((done) => setTimeout(done, 15_000));
      }
    }
    const unpacked = unpack(join(dir, `${PACKAGE_NAME}-${version}.tgz`));
    try {
      const pkgDir = join(unpacked, 'package');
      const digest = bundleDigest(pkgDir, filesUnder(pkgDir, 'dist'));
      const pin = templatePin(root);
      return digest === pin
        ? []
        : [
            `the registry's ${PACKAGE_NAME}@${version} has SHA-256 ${digest}; the GitLab templates pin ${pin}`,
          ];
    } finally {
      rmSync(unpacked, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, subject, ...rest] = argv;
  let problems: string[];
  if (command === 'tag' && subject) problems = tagProblems(subject);
  else if (command === 'package' && subject) problems = packageProblems(subject);
  else if (command === 'registry' && subject) {
    const wait = rest[0] === '--wait' ? Number(rest[1]) : 0;
    problems = await registryProblems(subject, Number.isFinite(wait) ? wait : 0);
  } else {
    process.stderr.write(
      'usage: release-check.ts tag <vX.Y.Z> | package <tarball> | registry <X.Y.Z> [--wait <seconds>]\n',
    );
    return 2;
  }
  for (const problem of problems) process.stderr.write(`release-check: ${problem}\n`);
  if (problems.length > 0) return 1;
  process.stdout.write(
    `release-check ${command} ${subject}: ok (bundle SHA-256 ${templatePin()})\n`,
  );
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
