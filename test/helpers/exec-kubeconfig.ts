import { resolve } from 'node:path';
import { parse, stringify } from 'yaml';

const PLUGIN = resolve(import.meta.dirname, '../fixtures/exec-plugin.ts');

/**
 * `kubeconfig` (one user with a token) with that user's token replaced by the test exec plugin
 * (see exec-plugin.ts), run by this Node, with `env` as the kubeconfig's exec `env`.
 */
export function execKubeconfig(kubeconfig: string, env: Record<string, string>): string {
  const doc = parse(kubeconfig) as { users: { user: Record<string, unknown> }[] };
  doc.users[0].user = {
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      command: process.execPath,
      args: [PLUGIN],
      env: Object.entries(env).map(([name, value]) => ({ name, value })),
    },
  };
  return stringify(doc);
}
