import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { envName } from '../../src/cli/args.ts';
import { dotenvName, dotenvText } from '../../src/cli/dotenv.ts';
import { Secrets } from '../../src/config/secrets.ts';
import { helpText } from '../../src/cli/help.ts';
import { EXIT_OK, EXIT_USAGE, runCli } from '../../src/cli/main.ts';
import { INPUTS, OUTPUTS } from '../../src/config/inputs.ts';

const TOKEN = 'kube-token-Zq8x1Lm0';

/** A kubeconfig for a server that counts connections: any network use by a usage error shows. */
function kubeconfig(port: number): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: c',
    `    cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true }`,
    'users:',
    `  - name: u`,
    `    user: { token: ${TOKEN} }`,
    'contexts:',
    '  - name: c',
    '    context: { cluster: c, user: u, namespace: shop }',
    'current-context: c',
    '',
  ].join('\n');
}

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env,
    signal: new AbortController().signal,
    version: '9.8.7',
  });
  return { code, stdout, stderr };
}

describe('runCli: usage errors exit 2 and touch no network', () => {
  let server: Server;
  let connections = 0;
  let dir: string;
  let kubeconfigPath: string;
  let base: string[];

  before(async () => {
    server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as { port: number };
    dir = mkdtempSync(join(tmpdir(), 'cli-main-'));
    kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig(port));
    base = [
      '--kubeconfig',
      kubeconfigPath,
      '--virtual-service',
      'backend',
      '--stable-subset',
      'v1',
      '--canary-subset',
      'v2',
    ];
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((done) => server.close(() => done()));
    assert.equal(connections, 0, 'no usage error may reach the API server');
  });

  it('a bad weight names --weight and the accepted form', async () => {
    const out = await run(['step', ...base, '--weight', '150']);
    assert.equal(out.code, EXIT_USAGE);
    assert.match(
      out.stderr,
      /^istio-canary: --weight must be a whole canary percent from 0 to 100/,
    );
    assert.match(out.stderr, /got "150"/);
    assert.match(out.stderr, /Run istio-canary --help for the flags\./);
    assert.equal(out.stdout, '');
  });

  it('a bad value from the environment names the variable', async () => {
    const out = await run(['step', ...base], { ISTIO_CANARY_WEIGHT: 'ten' });
    assert.equal(out.code, EXIT_USAGE);
    assert.match(out.stderr, /ISTIO_CANARY_WEIGHT \(--weight\) must be/);
  });

  it('other bad values name their flag', async () => {
    const cases: [string[], RegExp][] = [
      [['--weight', '10', '--duration', '5 minutes'], /--duration must be a duration such as 90s/],
      [['--weight', '10', '--interval', '500ms'], /--interval must be at least 1s/],
      [
        ['--weight', '10', '--duration', '20s'],
        /--interval \(30s\) must be shorter than --duration \(20s\)/,
      ],
      [
        ['--weight', '10', '--duration', '30s', '--interval', '30s'],
        /--interval \(30s\) must be shorter/,
      ],
      [['--weight', '10', '--min-success-rate', '101'], /--min-success-rate must be a number/],
      [['--weight', '10', '--on-no-data', 'maybe'], /--on-no-data must be one of fail, pass/],
      [['--weight', '10', '--dry-run', 'yes'], /Unexpected argument "yes"/],
      [['--weight', '10', '--prometheus-url', 'ftp://x'], /prometheus-url/],
      [['--weight', '10', '--namespace', 'Shop!'], /--namespace must be a DNS-1123 label/],
      [[], /--weight is required for command "step"/],
    ];
    for (const [extra, pattern] of cases) {
      const out = await run(['step', ...base, ...extra]);
      assert.equal(out.code, EXIT_USAGE, `${extra.join(' ')}: ${out.stderr}`);
      assert.match(out.stderr, pattern, extra.join(' '));
      assert.doesNotMatch(out.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('a missing --virtual-service, an unknown flag and an unknown command exit 2', async () => {
    for (const argv of [['status'], ['status', '--virtual-servce', 'b'], ['deploy']]) {
      const out = await run(argv);
      assert.equal(out.code, EXIT_USAGE, argv.join(' '));
      assert.match(out.stderr, /^istio-canary: /);
    }
    assert.match((await run(['--wieght', '10'])).stderr, /Did you mean --weight\?/);
  });

  it('with --output json, a usage error leaves stdout empty', async () => {
    const out = await run(['step', ...base, '--weight', '150', '--output', 'json']);
    assert.equal(out.code, EXIT_USAGE);
    assert.equal(out.stdout, '');
  });

  it('a --kubeconfig path that does not exist is a usage error naming the path', async () => {
    const missing = join(dir, 'nope.yaml');
    const out = await run(['status', '--kubeconfig', missing, '--virtual-service', 'b']);
    assert.equal(out.code, EXIT_USAGE);
    assert.match(out.stderr, /--kubeconfig: no readable file ".*nope\.yaml"/);
  });

  it('a --dotenv file in a folder that does not exist fails before anything runs', async () => {
    const out = await run(['status', ...base, '--dotenv', join(dir, 'no', 'such', 'out.env')]);
    assert.equal(out.code, EXIT_USAGE);
    assert.match(
      out.stderr,
      /--dotenv .*out\.env: the folder .* does not exist or is not writable/,
    );
  });

  it('redacts the kubeconfig token, however the kubeconfig was given', async () => {
    const kubeconfigText = kubeconfig(1);
    const ways: [string, string[], NodeJS.ProcessEnv][] = [
      ['file path', ['--kubeconfig', kubeconfigPath], {}],
      ['YAML content', ['--kubeconfig', kubeconfigText], {}],
      ['base64', ['--kubeconfig', Buffer.from(kubeconfigText).toString('base64')], {}],
      ['ISTIO_CANARY_KUBECONFIG', [], { ISTIO_CANARY_KUBECONFIG: kubeconfigPath }],
      ['KUBECONFIG', [], { KUBECONFIG: `${join(dir, 'missing')}:${kubeconfigPath}` }],
    ];
    for (const [way, flags, env] of ways) {
      // A token pasted into the wrong flag is echoed by the validation error, then redacted.
      const out = await run(['status', ...flags, '--virtual-service', TOKEN], env);
      assert.equal(out.code, EXIT_USAGE, `${way}: ${out.stderr}`);
      assert.match(out.stderr, /--virtual-service must be a DNS-1123 subdomain.*got "\*\*\*"/, way);
      assert.ok(!out.stderr.includes(TOKEN), `${way}: the token was printed`);
    }
  });

  it('redacts prometheus-token and header values in errors', async () => {
    const out = await run([
      'step',
      ...base,
      '--prometheus-token',
      'prom-secret-1',
      '--prometheus-headers',
      'Authorization: Bearer hdr-secret-2',
      '--weight',
      'prom-secret-1,hdr-secret-2',
    ]);
    assert.equal(out.code, EXIT_USAGE);
    assert.match(out.stderr, /--weight .*"\*\*\*,\*\*\*"/);
    assert.ok(!/prom-secret-1|hdr-secret-2/.test(out.stderr), out.stderr);
  });
});

describe('runCli: help and version', () => {
  it('--version prints the version alone and exits 0', async () => {
    const out = await run(['--version']);
    assert.deepEqual(out, { code: EXIT_OK, stdout: '9.8.7\n', stderr: '' });
  });

  it('--help lists every input with its variable, the commands and the exit codes', async () => {
    const out = await run(['--help']);
    assert.equal(out.code, EXIT_OK);
    for (const input of INPUTS) {
      assert.match(
        out.stdout,
        new RegExp(`^  --${input.name}  \\(${envName(input.name)}\\)$`, 'm'),
      );
    }
    for (const command of ['step', 'promote', 'rollback', 'status'])
      assert.match(out.stdout, new RegExp(`^  ${command} `, 'm'));
    for (const flag of ['--output', '--dotenv', '--help', '--version'])
      assert.ok(out.stdout.includes(flag), flag);
    assert.match(out.stdout, /Exit codes: 0 success[^]*1 rolled back or\s+failed, 2 usage error/);
  });

  it('help does not need valid inputs, and shows each default', async () => {
    const out = await run(['--help'], { ISTIO_CANARY_WEIGHT: 'nonsense' });
    assert.equal(out.code, EXIT_OK);
    const duration = INPUTS.find((i) => i.name === 'duration')!;
    assert.ok(out.stdout.includes(`[default: ${duration.default}]`));
  });

  it('each command has its own help with what it needs and only the flags it reads', async () => {
    const step = await run(['step', '--help']);
    assert.match(step.stdout, /^istio-canary step /);
    assert.match(
      step.stdout,
      /Needs: --virtual-service, --stable-subset, --canary-subset, --weight\./,
    );
    assert.match(step.stdout, /--min-success-rate/);
    const rollback = await run(['help', 'rollback']);
    assert.equal(rollback.code, EXIT_OK);
    assert.match(rollback.stdout, /^istio-canary rollback /);
    assert.match(rollback.stdout, /--dry-run/);
    assert.doesNotMatch(rollback.stdout, /--weight|--min-success-rate/);
    assert.match(rollback.stdout, /Other inputs are accepted and ignored/);
    const status = await run(['--help', 'status']);
    assert.match(status.stdout, /Writes nothing/);
  });

  it('the help text stays within 100 columns', () => {
    for (const command of [undefined, 'step', 'promote', 'rollback', 'status']) {
      for (const line of helpText('1.0.0', command).split('\n'))
        assert.ok(line.length <= 100, `${command ?? 'tool'}: ${line}`);
    }
  });
});

describe('dotenv', () => {
  it('names every output ISTIO_CANARY_OUTPUT_<NAME>, one line each, on one line per value', () => {
    const text = dotenvText(
      { result: 'passed', 'success-rate': '99.5', report: 'a\nb' },
      new Secrets(),
    );
    assert.equal(
      text,
      'ISTIO_CANARY_OUTPUT_RESULT=passed\nISTIO_CANARY_OUTPUT_SUCCESS_RATE=99.5\nISTIO_CANARY_OUTPUT_REPORT=a\\nb\n',
    );
    assert.deepEqual(
      OUTPUTS.map((o) => dotenvName(o.name)),
      [
        'ISTIO_CANARY_OUTPUT_RESULT',
        'ISTIO_CANARY_OUTPUT_WEIGHT',
        'ISTIO_CANARY_OUTPUT_SUCCESS_RATE',
        'ISTIO_CANARY_OUTPUT_LATENCY',
        'ISTIO_CANARY_OUTPUT_REPORT',
        'ISTIO_CANARY_OUTPUT_HTML_REPORT',
      ],
    );
  });
});
