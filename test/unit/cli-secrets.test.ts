import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { terminalLogger } from '../../src/cli/logger.ts';
import { cleanSecrets, inputSecrets, kubeconfigSecrets, redact } from '../../src/config/secrets.ts';

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
      ['Bearer hdr-cred-2', 'ghs_abcdef', 'hdr-cred-2', 'prom-token-1', 'tenant-33'].sort(),
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
    const quiet = terminalLogger((text) => lines.push(text), ['s3cr3t'], false);
    quiet.info('token s3cr3t here');
    quiet.error('s3cr3t failed');
    quiet.debug('s3cr3t debug');
    const loud = terminalLogger((text) => lines.push(text), ['s3cr3t'], true);
    loud.debug('s3cr3t debug');
    assert.deepEqual(lines, ['token *** here\n', 'error: *** failed\n', 'debug: *** debug\n']);
  });
});
