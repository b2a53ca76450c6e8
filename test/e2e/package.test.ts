import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { VERSION } from '../../src/version.ts';
import { startSandbox, type Sandbox } from '../helpers/ground.ts';
import { createGitlabProject, dotenvReport, runGitlabCiLocal } from '../helpers/gitlab-ci-local.ts';
import { NpmRegistry } from '../helpers/npm-registry.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NAME = 'istio-canary';
const TARBALL = `${NAME}-${VERSION}.tgz`;

/** This process's Node (24 under `npm test`) first on PATH, as a CI image with Node would have. */
const PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command without blocking this process: the sandbox's API server and the registry
 * answer from this process's event loop. SIGKILLed after two minutes: a bound, not a check.
 */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(command, args, { cwd, env: { PATH, HOME: cwd, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise<Ran>((done) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    }),
  );
}

function ok(result: Ran, what: string): string {
  assert.equal(result.status, 0, `${what}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The tarball with its dist/cli.js replaced: what a squatter could publish under the name. */
function tamperedTarball(genuine: string, dir: string, marker: string): Buffer {
  const work = mkdtempSync(join(dir, 'tamper-'));
  execFileSync('tar', ['-xzf', genuine, '-C', work]);
  writeFileSync(
    join(work, 'package/dist/cli.js'),
    `#!/usr/bin/env node\nimport { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\n`,
  );
  const out = join(dir, 'tampered.tgz');
  execFileSync('tar', ['-czf', out, '-C', work, 'package']);
  return readFileSync(out);
}

/** The default `cli` input of a generated template: the pinned fetch-check-run command. */
function defaultCli(template: string): string {
  const [header] = parseAllDocuments(readFileSync(join(ROOT, template), 'utf8'));
  const { spec } = header.toJS() as { spec: { inputs: { cli: { default: string } } } };
  return spec.inputs.cli.default;
}

describe('the npm package (npm pack of this checkout; e2e: run npm run bundle first)', () => {
  let dir: string;
  let tarball: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'istio-canary-package-'));
    // --ignore-scripts: pack the bundle the other end-to-end tests run, not a rebuild of it.
    const packed = ok(
      await run(
        'npm',
        ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir, ROOT],
        dir,
      ),
      'npm pack',
    );
    assert.equal(packed.trim(), TARBALL);
    tarball = join(dir, TARBALL);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('ships the bundle and its papers only, declares no dependency, and is the bundle the GitLab templates pin', async () => {
    const listed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((path) => path.replace(/^package\//, ''))
      .sort();
    const chunks = readdirSync(join(ROOT, 'dist/chunks')).map((f) => `dist/chunks/${f}`);
    assert.deepEqual(
      listed,
      ['LICENSE', 'README.md', 'dist/cli.js', ...chunks, 'package.json'].sort(),
    );
    const check = await run(
      process.execPath,
      [join(ROOT, 'scripts/release-check.ts'), 'package', tarball],
      ROOT,
    );
    assert.match(ok(check, 'release-check package'), /: ok \(bundle SHA-256 [0-9a-f]{64}\)/);
  });

  test('the release check refuses a tarball that declares dependencies or ships more', async () => {
    const work = mkdtempSync(join(dir, 'bloated-'));
    execFileSync('tar', ['-xzf', tarball, '-C', work]);
    const pkgPath = join(work, 'package/package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(pkgPath, JSON.stringify({ ...pkg, dependencies: { axios: '^1.0.0' } }));
    mkdirSync(join(work, 'package/src'));
    writeFileSync(join(work, 'package/src/index.ts'), '');
    const bloated = join(dir, 'bloated.tgz');
    execFileSync('tar', ['-czf', bloated, '-C', work, 'package']);
    const check = await run(
      process.execPath,
      [join(ROOT, 'scripts/release-check.ts'), 'package', bloated],
      ROOT,
    );
    assert.equal(check.status, 1);
    assert.match(check.stderr, /files it does not need: src\/index\.ts/);
    assert.match(check.stderr, /declares dependencies \(axios\)/);
  });

  describe('installed from the tarball alone', () => {
    let app: string;
    let sandbox: Sandbox;

    before(async () => {
      app = mkdtempSync(join(dir, 'app-'));
      writeFileSync(join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
      // Offline, with an empty cache: any dependency the package declared would fail the install.
      const install = await run(
        'npm',
        ['install', '--offline', '--no-audit', '--no-fund', tarball],
        app,
        { npm_config_cache: join(app, '.npm-cache') },
      );
      ok(install, 'npm install --offline');
      sandbox = await startSandbox({ prometheus: 'off' });
    });
    after(async () => {
      await sandbox?.stop();
    });

    test('adds one package, and npx istio-canary runs from it', async () => {
      assert.deepEqual(
        readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.')),
        [NAME],
      );
      const version = await run('npx', ['--no-install', NAME, '--version'], app);
      assert.equal(ok(version, 'npx istio-canary --version').trim(), VERSION);
    });

    test('a dry run against the sandbox plans the change and writes both reports', async () => {
      writeFileSync(join(app, 'kubeconfig'), sandbox.kubeconfig, { mode: 0o600 });
      const reports = join(app, 'reports');
      const dry = await run(
        'npx',
        [
          '--no-install',
          NAME,
          'step',
          '--kubeconfig',
          'kubeconfig',
          '--virtual-service',
          'backend',
          '--stable-subset',
          'v1',
          '--canary-subset',
          'v2',
          '--weight',
          '10',
          '--dry-run',
        ],
        app,
        { ISTIO_CANARY_REPORT_DIR: reports },
      );
      const output = ok(dry, 'dry run');
      assert.match(output, /Dry run: would set v1 90% \/ v2 10%; nothing was written\./);
      assert.deepEqual(
        readdirSync(reports)
          .map((f) => f.replace(/^istio-canary-report-\d{8}T\d{9}Z/, ''))
          .sort(),
        ['.html', '.json'],
      );
    });
  });

  describe("the GitLab templates' default cli", () => {
    const marker = (): string => join(dir, 'squatter-ran');

    test('runs the package from the registry when its bundle is the pinned one', async () => {
      const registry = await NpmRegistry.serve(NAME, VERSION, readFileSync(tarball));
      try {
        const job = mkdtempSync(join(dir, 'job-'));
        const result = await run('sh', ['-c', `${defaultCli('gitlab/step.yml')} --version`], job, {
          CI_PROJECT_DIR: job,
          npm_config_registry: `${registry.url}/`,
          npm_config_cache: join(job, '.npm-cache'),
        });
        assert.equal(ok(result, 'default cli').trim(), VERSION);
        assert.match(result.stderr, /runs only if its bundle has the SHA-256 this template pins/);
        assert.equal(registry.tarballRequests, 1);
      } finally {
        await registry.close();
      }
    });

    test('refuses a package with another bundle before any of its code runs', async () => {
      const tampered = tamperedTarball(tarball, dir, marker());
      // The squatter's code does run when started: its absence below is the refusal, not a dud.
      const control = mkdtempSync(join(dir, 'control-'));
      writeFileSync(join(control, 'x.tgz'), tampered);
      execFileSync('tar', ['-xzf', join(control, 'x.tgz'), '-C', control]);
      ok(
        await run(process.execPath, [join(control, 'package/dist/cli.js')], control),
        'control run',
      );
      assert.ok(existsSync(marker()), 'the tampered bundle writes its marker when run');
      rmSync(marker());
      const registry = await NpmRegistry.serve(NAME, VERSION, tampered);
      try {
        const job = mkdtempSync(join(dir, 'job-'));
        const result = await run(
          'sh',
          ['-c', `${defaultCli('gitlab/rollback.yml')} rollback`],
          job,
          {
            CI_PROJECT_DIR: job,
            npm_config_registry: `${registry.url}/`,
            npm_config_cache: join(job, '.npm-cache'),
          },
        );
        assert.equal(result.status, 1, result.stderr);
        assert.match(
          result.stderr,
          new RegExp(
            `refusing to run ${NAME}@${VERSION}: its bundle has SHA-256 [0-9a-f]{64}, this template pins [0-9a-f]{64}`,
          ),
        );
        assert.equal(registry.tarballRequests, 1, 'it was fetched');
        assert.ok(!existsSync(marker()), 'and none of it ran');
      } finally {
        await registry.close();
      }
    });

    test('a GitLab job with the default cli (gitlab-ci-local): a dry run through the pinned package', async () => {
      const registry = await NpmRegistry.serve(NAME, VERSION, readFileSync(tarball));
      const sandbox = await startSandbox({ prometheus: 'off' });
      const project = createGitlabProject(
        `stages: [canary]
include:
  - local: gitlab/step.yml
    inputs:
      stage: canary
      gate: none
      kubeconfig: $KUBE_CONFIG
      virtual-service: backend
      stable-subset: v1
      canary-subset: v2
      weight: '10'
      dry-run: true
`,
        {
          KUBE_CONFIG: { type: 'file', value: sandbox.kubeconfig },
          npm_config_registry: `${registry.url}/`,
          npm_config_cache: { type: 'variable', value: join(dir, 'gitlab-npm-cache') },
        },
      );
      try {
        const pipeline = await runGitlabCiLocal(project, []);
        assert.equal(pipeline.code, 0, pipeline.output);
        assert.match(pipeline.output, /runs only if its bundle has the SHA-256 this template pins/);
        assert.match(pipeline.output, /Dry run: would set v1 90% \/ v2 10%/);
        assert.equal(
          dotenvReport(project, 'canary-10', 'istio-canary.env').ISTIO_CANARY_OUTPUT_RESULT,
          'dry-run',
        );
      } finally {
        await registry.close();
        await sandbox.stop();
        rmSync(project, { recursive: true, force: true });
      }
    });
  });
});
