import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { terminalLogger } from '../../src/cli/logger.ts';
import {
  cleanSecrets,
  inputSecrets,
  kubeconfigSecrets,
  redact,
  Secrets,
} from '../../src/config/secrets.ts';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster: { server: "https://127.0.0.1:6443" }
users:
  - name: token-user
    user: { token: tok-AAAA1111 }
  - name: cert-user
    user: { client-certificate-data: Y2VydA==, client-key-data: a2V5LWtleS1rZXk= }
  - name: basic
    user: { username: admin, password: pw-BBBB2222 }
  - name: oidc
    user:
      auth-provider:
        name: oidc
        config: { id-token: idt-CCCC3333, refresh-token: rft-DDDD4444, client-secret: cs-EEEE5555 }
contexts:
  - name: c
    context: { cluster: c, user: token-user }
current-context: c
`;

describe('kubeconfigSecrets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-secrets-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const expected = [
    'tok-AAAA1111',
    'a2V5LWtleS1rZXk=',
    'pw-BBBB2222',
    'idt-CCCC3333',
    'rft-DDDD4444',
    'cs-EEEE5555',
  ];

  it('finds tokens, keys, passwords and provider secrets in YAML content', () => {
    const found = kubeconfigSecrets(KUBECONFIG, {});
    for (const secret of expected) assert.ok(found.includes(secret), secret);
    for (const plain of ['admin', 'https://127.0.0.1:6443', 'token-user', 'Y2VydA=='])
      assert.ok(!found.includes(plain), `${plain} is not a secret`);
  });

  it('treats one-line content as base64: the whole value and the credentials inside', () => {
    const encoded = Buffer.from(KUBECONFIG).toString('base64');
    const found = kubeconfigSecrets(encoded, {});
    assert.ok(found.includes(encoded));
    for (const secret of expected) assert.ok(found.includes(secret), secret);
  });

  it('reads the default files when no kubeconfig is given: KUBECONFIG list, else ~/.kube/config', () => {
    writeFileSync(join(dir, 'a'), 'not: [valid');
    writeFileSync(join(dir, 'b'), KUBECONFIG);
    assert.ok(
      kubeconfigSecrets(undefined, {
        KUBECONFIG: `${join(dir, 'a')}:${join(dir, 'missing')}:${join(dir, 'b')}`,
      }).includes('tok-AAAA1111'),
    );
    mkdirSync(join(dir, 'home', '.kube'), { recursive: true });
    writeFileSync(join(dir, 'home', '.kube', 'config'), KUBECONFIG);
    assert.ok(kubeconfigSecrets(undefined, { HOME: join(dir, 'home') }).includes('pw-BBBB2222'));
    assert.deepEqual(kubeconfigSecrets(undefined, { HOME: join(dir, 'nobody') }), []);
  });
});

describe('inputSecrets', () => {
  it('takes tokens whole, header values and their credentials, never a kubeconfig path', () => {
    const found = inputSecrets({
      'prometheus-token': ' prom-token-1 ',
      'github-token': 'ghs_abcdef',
      'prometheus-headers': 'Authorization: Bearer hdr-cred-2\nX-Scope-OrgID: tenant-33',
      kubeconfig: '/home/ci/.kube/config',
      'virtual-service': 'backend',
    });
    assert.deepEqual(
      [...found].sort(),
      [
        'Bearer hdr-cred-2',
        'Bearer%20hdr-cred-2',
        'ghs_abcdef',
        'hdr-cred-2',
        'prom-token-1',
        'tenant-33',
      ].sort(),
    );
  });
});

describe('cleanSecrets and redact', () => {
  it('drops values too short to redact sensibly, and duplicates', () => {
    assert.deepEqual(cleanSecrets(['abc', 'abcd', 'abcd', '']), ['abcd']);
  });

  it('adds the JSON-escaped form, so a secret inside a JSON document is found too', () => {
    const secrets = cleanSecrets(['pa"ss\\word']);
    const json = JSON.stringify({ value: 'pa"ss\\word' });
    assert.equal(redact(json, secrets), '{"value":"***"}');
  });

  it('replaces the longest first, so a secret containing another goes whole', () => {
    const secrets = cleanSecrets(['abcd', 'Bearer abcd-efgh']);
    assert.equal(redact('x Bearer abcd-efgh y abcd', secrets), 'x *** y ***');
  });

  it('the terminal logger redacts every line it writes, debug only when asked', () => {
    const lines: string[] = [];
    const quiet = terminalLogger((text) => lines.push(text), new Secrets(['s3cr3t']), false);
    quiet.info('token s3cr3t here');
    quiet.error('s3cr3t failed');
    quiet.debug('s3cr3t debug');
    const loud = terminalLogger((text) => lines.push(text), new Secrets(['s3cr3t']), true);
    loud.debug('s3cr3t debug');
    assert.deepEqual(lines, ['token *** here\n', 'error: *** failed\n', 'debug: *** debug\n']);
  });
});

describe('kubeconfigSecrets: credentials outside the token fields', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-secrets-more-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const config = (user: object, server = 'https://127.0.0.1:6443'): object => ({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'c',
  });

  it('takes user:password from a server or proxy URL, as written and decoded', () => {
    const found = kubeconfigSecrets(
      JSON.stringify(config({}, 'https://admin:p%40ss-Word-77@api.example:6443')),
      {},
    );
    for (const secret of ['admin:p%40ss-Word-77', 'p%40ss-Word-77', 'p@ss-Word-77'])
      assert.ok(found.includes(secret), secret);
    assert.ok(!found.includes('admin'));
  });

  it('takes an exec plugin credential variables and arguments, not its plain ones', () => {
    const found = kubeconfigSecrets(
      JSON.stringify(
        config({
          exec: {
            command: 'get-token',
            args: [
              '--cluster',
              'prod-eu',
              '--token',
              'arg-tok-1234',
              '--password=pw-eq-5678',
              'Xk29sLq84PzRt7Wm',
            ],
            env: [
              { name: 'VAULT_TOKEN', value: 'hvs-env-9012' },
              { name: 'AWS_PROFILE', value: 'production' },
              { name: 'OTHER', value: 'AKd83jsL29dkQp1Z' },
            ],
          },
        }),
      ),
      {},
    );
    for (const secret of [
      'arg-tok-1234',
      'pw-eq-5678',
      'Xk29sLq84PzRt7Wm',
      'hvs-env-9012',
      'AKd83jsL29dkQp1Z',
    ])
      assert.ok(found.includes(secret), secret);
    for (const plain of ['prod-eu', 'production', 'get-token', '--cluster'])
      assert.ok(!found.includes(plain), `${plain} is not a secret`);
  });

  it('reads a one-line JSON kubeconfig as a kubeconfig, not as base64', () => {
    const json = JSON.stringify(config({ token: 'json-tok-3456' }));
    const found = kubeconfigSecrets(json, {});
    assert.ok(found.includes('json-tok-3456'));
    assert.ok(!found.includes(json), 'the whole document is not one secret');
  });

  it('reads base64 wrapped over several lines', () => {
    const wrapped = Buffer.from(KUBECONFIG)
      .toString('base64')
      .replace(/(.{76})/g, '$1\n');
    assert.ok(wrapped.includes('\n'));
    assert.ok(kubeconfigSecrets(wrapped, {}).includes('tok-AAAA1111'));
  });

  it('takes the content of a token file, not its path', () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'file-tok-7890\n');
    const found = kubeconfigSecrets(JSON.stringify(config({ 'token-file': file })), {});
    assert.ok(found.includes('file-tok-7890'));
    assert.ok(!found.includes(file));
  });
});

describe('Secrets', () => {
  it('tells a listener of every secret, those known and those added later', () => {
    const secrets = new Secrets(['first-secret']);
    const told: string[] = [];
    secrets.onAdd((value) => told.push(value));
    secrets.add(['later-secret', 'first-secret', 'ab']);
    assert.deepEqual(told, ['first-secret', 'later-secret']);
  });

  it('redacts every string of a value, keys too, as written, JSON-escaped or percent-encoded', () => {
    const secrets = new Secrets(['s e"cret']);
    assert.deepEqual(
      secrets.redactDeep({ a: ['x s e"cret', 's%20e%22cret'], 's e"cret': 1, n: 2, z: null }),
      { a: ['x ***', '***'], '***': 1, n: 2, z: null },
    );
    assert.equal(secrets.redact(JSON.stringify('s e"cret')), '"***"');
  });
});
