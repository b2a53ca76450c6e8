import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kubeconfigSecrets } from '../../src/config/secrets.ts';
import { decodeKubeconfig } from '../../src/config/settings.ts';
import { UserError } from '../../src/errors.ts';
import { createCluster, loadKubeConfig } from '../../src/kube/client.ts';
import { defaultKubeconfigProblem } from '../../src/kube/kubeconfig.ts';
import { pluginEnvironment } from '../../src/kube/exec-plugin.ts';
import { MemoryLogger } from '../../src/logger.ts';
import { ApiServer } from '../../src/sandbox/apiserver.ts';
import { execKubeconfig } from '../helpers/exec-kubeconfig.ts';

const TOKEN = 'Zq7RkT2mXw9PbL4sVn8HcJ5dFg3YaE6u';

/** Every 6-character piece of the token: none may appear in a message. */
function assertNoPieceOf(secret: string, text: string): void {
  for (let i = 0; i + 6 <= secret.length; i++) {
    assert.ok(!text.includes(secret.slice(i, i + 6)), `"${secret.slice(i, i + 6)}" in: ${text}`);
  }
}

function kubeconfigWith(userLine: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: c',
    '  cluster: { server: "https://127.0.0.1:6443" }',
    'users:',
    '- name: u',
    '  user:',
    `    ${userLine}`,
    'contexts:',
    '- name: c',
    '  context: { cluster: c, user: u }',
    'current-context: c',
    '',
  ].join('\n');
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof UserError, String(error));
    return error.message;
  }
  assert.fail('expected a UserError');
}

/** Runs `fn` and returns every process warning it emitted (the YAML library's channel). */
async function warningsDuring(fn: () => void): Promise<string[]> {
  const seen: string[] = [];
  const listener = (warning: Error): void => void seen.push(String(warning));
  process.on('warning', listener);
  try {
    fn();
    // Warnings are emitted on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

describe('kubeconfig content the parser would quote', () => {
  const tagged = kubeconfigWith(`token: !vault ${TOKEN}`);
  const broken = kubeconfigWith(`token: ${TOKEN}: x`);

  it('an unresolved YAML tag: our message with line and column, nothing printed', async () => {
    let message = '';
    const warnings = await warningsDuring(() => {
      assert.ok(kubeconfigSecrets(tagged, {}).includes(TOKEN), 'still registered as a secret');
      decodeKubeconfig(tagged);
      message = messageOf(() => loadKubeConfig(tagged, undefined));
    });
    assert.deepEqual(warnings, []);
    assert.match(
      message,
      /^Input "kubeconfig" is not valid YAML: a YAML tag .* at line 9, column 12/,
    );
    assertNoPieceOf(TOKEN, message);
  });

  it('a syntax error on the token line: line and column, no part of the token', () => {
    const message = messageOf(() => loadKubeConfig(broken, undefined));
    assert.match(
      message,
      /^Input "kubeconfig" is not valid YAML: .* at line 9, column \d+ \(the content is not shown/,
    );
    assertNoPieceOf(TOKEN, message);
  });

  it('a missing field is named by its path', () => {
    const message = messageOf(() =>
      loadKubeConfig(
        kubeconfigWith(`token: ${TOKEN}`).replace(
          'cluster: { server: "https://127.0.0.1:6443" }',
          'cluster: {}',
        ),
        undefined,
      ),
    );
    assert.match(message, /clusters\[0\]\.cluster\.server is missing/);
  });

  it('the default kubeconfig: the file at fault, with line and column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-default-'));
    try {
      const bad = join(dir, 'bad');
      writeFileSync(bad, tagged);
      const problem = defaultKubeconfigProblem({ KUBECONFIG: bad });
      assert.match(problem, new RegExp(`^${bad} is not valid YAML: .* at line 9, column 12`));
      assertNoPieceOf(TOKEN, problem);
      const message = messageOf(() => {
        const saved = process.env.KUBECONFIG;
        process.env.KUBECONFIG = bad;
        try {
          loadKubeConfig(undefined, undefined);
        } finally {
          if (saved === undefined) delete process.env.KUBECONFIG;
          else process.env.KUBECONFIG = saved;
        }
      });
      assert.match(
        message,
        /^The default kubeconfig .* could not be loaded: .*bad is not valid YAML/,
      );
      assertNoPieceOf(TOKEN, message);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('exec credential plugins', () => {
  let api: ApiServer;
  let dir: string;
  const saved = { ...process.env };
  before(async () => {
    api = await ApiServer.start();
    dir = mkdtempSync(join(tmpdir(), 'exec-plugin-'));
  });
  after(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  });

  const cluster = (env: Record<string, string>, found: string[] = []) =>
    createCluster({
      kubeconfig: execKubeconfig(api.kubeconfig(), env),
      clock: {
        now: () => Date.now(),
        sleep: (ms: number) => new Promise((r) => setTimeout(r, ms)),
      },
      logger: new MemoryLogger(),
      callTimeoutMs: 5_000,
      onCredential: (secret) => found.push(secret),
    });

  it('never see our inputs or the runner token; get their own env; report the token', async () => {
    process.env['INPUT_GITHUB-TOKEN'] = 'ghs_input-secret-value';
    process.env['INPUT_PROMETHEUS-HEADERS'] = 'X-Api-Key: header-secret-value';
    process.env.ISTIO_CANARY_PROMETHEUS_TOKEN = 'cli-secret-value';
    process.env.ACTIONS_RUNTIME_TOKEN = 'runtime-secret-value';
    const out = join(dir, 'env.json');
    const found: string[] = [];
    const version = await cluster(
      { PLUGIN_ENV_OUT: out, PLUGIN_TOKEN: api.adminToken, PLUGIN_OWN: 'kept' },
      found,
    ).istioVersion();
    assert.equal(version, 'v1');
    const seen = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string>;
    for (const name of Object.keys(seen)) {
      assert.doesNotMatch(name, /^(INPUT_|ISTIO_CANARY_)|^ACTIONS_RUNTIME_TOKEN$/i, name);
    }
    assert.ok(!JSON.stringify(seen).includes('secret-value'));
    assert.equal(seen.PLUGIN_OWN, 'kept');
    assert.equal(seen.PATH, process.env.PATH);
    assert.equal(JSON.parse(seen.KUBERNETES_EXEC_INFO).kind, 'ExecCredential');
    assert.deepEqual(found, [api.adminToken]);
  });

  it('a failing plugin: exit code in our words, none of its stderr', async () => {
    const error = await cluster({ PLUGIN_MODE: 'fail', PLUGIN_TOKEN: TOKEN })
      .istioVersion()
      .then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof UserError);
    assert.match(error.message, /exec plugin ".*" exited with code 1; its output is not shown/);
    assertNoPieceOf(TOKEN, error.message);
  });

  it('a plugin printing broken JSON: not quoted', async () => {
    const error = await cluster({ PLUGIN_MODE: 'garbage', PLUGIN_TOKEN: TOKEN })
      .istioVersion()
      .then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof UserError);
    assert.match(error.message, /printed \d+ bytes that are not an ExecCredential/);
    assertNoPieceOf(TOKEN, error.message);
  });

  it('the environment is the process one without our variables, then the plugin own', () => {
    const env = pluginEnvironment(
      {
        PATH: '/bin',
        INPUT_KUBECONFIG: 'x',
        input_lower: 'y',
        ISTIO_CANARY_KUBECONFIG: 'z',
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc',
      },
      { command: 'p', env: [{ name: 'INPUT_OWN', value: 'from kubeconfig' }] },
    );
    assert.equal(env.PATH, '/bin');
    assert.equal(env.INPUT_KUBECONFIG, undefined);
    assert.equal(env.input_lower, undefined);
    assert.equal(env.ISTIO_CANARY_KUBECONFIG, undefined);
    assert.equal(
      env.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
      'oidc',
      'the OIDC request stays for cloud plugins',
    );
    assert.equal(env.INPUT_OWN, 'from kubeconfig');
  });
});
