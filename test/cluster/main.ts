/**
 * `npm run cluster -- --kubeconfig FILE`: builds the control plane if needed, starts it in the
 * foreground, writes an admin kubeconfig (with an `istio-canary` context for the identity
 * examples/rbac.yaml grants) and prints one line `ready` on stdout once every CRD is established.
 * Progress goes to stderr. SIGINT or SIGTERM stops everything and removes the temporary files.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startControlPlane } from './control-plane.ts';

const usage = 'usage: npm run cluster -- --kubeconfig FILE';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { kubeconfig: { type: 'string' } }, strict: true });
  if (!values.kubeconfig) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`cluster: ${line}\n`);
  const plane = await startControlPlane({ log });
  const path = resolve(values.kubeconfig);
  writeFileSync(path, plane.kubeconfig, { mode: 0o600 });
  for (const build of plane.builds)
    log(`${build.name}: ${build.built ? `built in ${build.seconds} s` : 'current, not rebuilt'}`);
  log(`kube-apiserver at ${plane.server}; kubeconfig written to ${path}`);
  log(`started in ${((performance.now() - started) / 1000).toFixed(1)} s; Ctrl-C stops it`);
  process.stdout.write('ready\n');
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log('stopping');
  await plane.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`cluster: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
