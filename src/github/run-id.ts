/**
 * Names this job in the rollout state, so that a post step restores only what its own main
 * started and `status` can say which run owns a rollout.
 */
export function githubRunId(env: NodeJS.ProcessEnv): string {
  const repo = env.GITHUB_REPOSITORY ?? 'local';
  const run = env.GITHUB_RUN_ID ?? String(process.pid);
  const attempt = env.GITHUB_RUN_ATTEMPT ?? '1';
  const job = env.GITHUB_JOB ?? 'job';
  return `github:${repo}/${run}/${attempt}/${job}`;
}
