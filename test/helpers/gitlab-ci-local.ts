import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
const GITLAB_CI_LOCAL = join(ROOT, 'node_modules/gitlab-ci-local/dist/index.js');

/** `cli` input that runs this checkout's bundle on this process's Node (24 under `npm test`). */
export const LOCAL_CLI = `"${process.execPath}" "${join(ROOT, 'dist/cli.js')}"`;

/**
 * A CI/CD variable as gitlab-ci-local's project variables file declares it. A plain string that
 * starts with `/` or `~` is taken for a file variable there; `type: 'variable'` keeps a path a path.
 */
export type CiVariable = string | { type: 'file' | 'variable'; value: string };

/** What one gitlab-ci-local run printed, how it ended, and how long it took. */
export interface PipelineRun {
  code: number | null;
  output: string;
  elapsedMs: number;
}

/**
 * A throwaway GitLab project: a git repository holding a copy of gitlab/ (includes must be
 * inside the project), the given .gitlab-ci.yml and CI/CD variables. gitlab-ci-local keeps its
 * state (builds, artifacts, logs) in `<dir>/.gitlab-ci-local/`, never in this repository.
 */
export function createGitlabProject(
  ciYml: string,
  variables: Record<string, CiVariable> = {},
): string {
  const dir = mkdtempSync(join(tmpdir(), 'istio-canary-gitlab-'));
  cpSync(join(ROOT, 'gitlab'), join(dir, 'gitlab'), { recursive: true });
  writeFileSync(join(dir, '.gitlab-ci.yml'), ciYml);
  const file: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(variables)) {
    file[name] =
      typeof variable === 'string'
        ? variable
        : { type: variable.type, values: { '*': variable.value } };
  }
  writeFileSync(join(dir, '.gitlab-ci-local-variables.yml'), stringify(file));
  const git = (...args: string[]): void => {
    execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  };
  git('init', '--quiet', '--initial-branch=main');
  // A remote and its default branch, as a clone from GitLab has; gitlab-ci-local reads both.
  git('remote', 'add', 'origin', 'https://gitlab.example.com/acme/shop.git');
  git('add', '.gitlab-ci.yml', 'gitlab');
  git('-c', 'user.name=ci', '-c', 'user.email=ci@example.com', 'commit', '--quiet', '-m', 'ci');
  git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
  return dir;
}

/**
 * Runs gitlab-ci-local in `dir` on the shell executor (the templates' `image` would need
 * Docker), with artifacts isolated per job as on a real runner, and a home of its own so a
 * developer's ~/.gitlab-ci-local/variables.yml cannot leak in.
 */
export async function runGitlabCiLocal(
  dir: string,
  args: readonly string[],
  timeoutMs = 120_000,
): Promise<PipelineRun> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith('ISTIO_CANARY_') && !name.startsWith('GCL_')) env[name] = value;
  env.PATH = `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`;
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      GITLAB_CI_LOCAL,
      '--home',
      join(dir, '.gitlab-ci-local-home'),
      '--force-shell-executor',
      '--shell-isolation',
      '--no-color',
      '--max-job-name-padding',
      '0',
      ...args,
    ],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((done) => child.on('close', done));
  clearTimeout(timer);
  return { code, output, elapsedMs: Date.now() - started };
}

/** The dotenv report a job uploaded, as the jobs after it would receive it. */
export function dotenvReport(dir: string, job: string, file: string): Record<string, string> {
  const path = join(dir, '.gitlab-ci-local/artifacts', job, '.gitlab-ci-reports/dotenv', file);
  if (!existsSync(path)) return {};
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line): [string, string] => [
      line.slice(0, line.indexOf('=')),
      line.slice(line.indexOf('=') + 1),
    ]);
  return Object.fromEntries(entries);
}

/** One job of `gitlab-ci-local --list-json`. */
export interface ListedJob {
  name: string;
  stage: string;
  when: string;
  allow_failure: boolean;
  needs?: unknown[];
}

/** The jobs of the pipeline as gitlab-ci-local resolves them (rules applied, nothing run). */
export async function listJobs(dir: string): Promise<ListedJob[]> {
  const run = await runGitlabCiLocal(dir, ['--list-json'], 30_000);
  const start = run.output.indexOf('[\n');
  if (run.code !== 0 || start < 0) throw new Error(`--list-json failed:\n${run.output}`);
  return JSON.parse(run.output.slice(start, run.output.lastIndexOf(']') + 1)) as ListedJob[];
}
