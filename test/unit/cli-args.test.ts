import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envName, parseArgs, UsageError } from '../../src/cli/args.ts';
import { inCliTerms } from '../../src/cli/messages.ts';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseArgs(argv, env);

function usageError(argv: string[], pattern: RegExp, env: NodeJS.ProcessEnv = {}): void {
  assert.throws(
    () => parse(argv, env),
    (error: unknown) => error instanceof UsageError && pattern.test(error.message),
    `${argv.join(' ')} should fail with ${pattern}`,
  );
}

describe('parseArgs: flags', () => {
  it('reads --flag value and --flag=value alike', () => {
    const spaced = parse(['--virtual-service', 'backend', '--weight', '10']);
    const joined = parse(['--virtual-service=backend', '--weight=10']);
    assert.deepEqual(spaced.inputs, { 'virtual-service': 'backend', weight: '10' });
    assert.deepEqual(joined.inputs, spaced.inputs);
    assert.deepEqual(spaced.sources, { 'virtual-service': 'flag', weight: 'flag' });
  });

  it('keeps everything after the first = as the value, including more = and empty', () => {
    const parsed = parse(['--prometheus-headers=X-Scope-OrgID: a=b', '--route=']);
    assert.equal(parsed.inputs['prometheus-headers'], 'X-Scope-OrgID: a=b');
    assert.equal(parsed.inputs.route, '');
  });

  it('takes a value that starts with a single dash (the settings judge it)', () => {
    assert.equal(parse(['--weight', '-5']).inputs.weight, '-5');
  });

  it('reads a boolean flag alone as true, and an explicit true/false after it', () => {
    assert.equal(parse(['--dry-run']).inputs['dry-run'], 'true');
    assert.equal(parse(['--dry-run', '--weight', '10']).inputs['dry-run'], 'true');
    assert.equal(parse(['--dry-run', 'false']).inputs['dry-run'], 'false');
    assert.equal(parse(['--dry-run=false']).inputs['dry-run'], 'false');
    const followed = parse(['--dry-run', 'status']);
    assert.equal(followed.inputs['dry-run'], 'true');
    assert.equal(followed.command, 'status', 'a command after a boolean flag is not its value');
  });

  it('rejects a value flag at the end or followed by another flag, naming both forms', () => {
    usageError(['--weight'], /--weight needs a value: --weight <value> or --weight=<value>/);
    usageError(['--weight', '--duration', '5m'], /--weight needs a value/);
  });

  it('rejects a flag given twice, in either form', () => {
    usageError(['--weight', '10', '--weight', '20'], /--weight is given twice/);
    usageError(['--weight=10', '--weight', '20'], /--weight is given twice/);
  });

  it('suggests the closest flag for an unknown one', () => {
    usageError(['--wieght', '10'], /Unknown flag --wieght\. Did you mean --weight\?/);
    usageError(['--virtualservice', 'x'], /Did you mean --virtual-service\?/);
    usageError(['--canary-subnet', 'v2'], /Did you mean --canary-subset\?/);
    usageError(['--ouput', 'json'], /Did you mean --output\?/);
    usageError(['--frobnicate', 'x'], /Unknown flag --frobnicate\. See --help for the flags\./);
  });

  it('rejects short options and stray values, naming the accepted form', () => {
    usageError(['-w', '10'], /Unexpected argument "-w"; flags take the form --name value/);
    usageError(['step', '10'], /Unexpected argument "10"/);
    usageError(['--'], /Unexpected argument "--"/);
  });
});

describe('parseArgs: command', () => {
  it('takes the command as a positional, before or after the flags', () => {
    assert.equal(parse(['rollback', '--virtual-service', 'b']).inputs.command, 'rollback');
    assert.equal(parse(['--virtual-service', 'b', 'status']).inputs.command, 'status');
    assert.equal(parse(['--virtual-service', 'b']).inputs.command, undefined, 'step by default');
  });

  it('accepts --command, and refuses two different commands', () => {
    assert.equal(parse(['--command', 'promote']).inputs.command, 'promote');
    assert.equal(parse(['promote', '--command', 'promote']).inputs.command, 'promote');
    usageError(['promote', '--command', 'rollback'], /command is given twice/);
  });

  it('rejects an unknown command, listing the commands', () => {
    usageError(
      ['deploy'],
      /Unknown command "deploy"; the commands are step, promote, rollback, status/,
    );
    usageError(['step', 'promote'], /Unexpected argument "promote"/);
  });

  it('reads --help, -h, help and --version anywhere, keeping the command for its help', () => {
    assert.equal(parse(['--help']).help, true);
    assert.equal(parse(['-h']).help, true);
    assert.equal(parse(['--version']).version, true);
    const stepHelp = parse(['step', '--help']);
    assert.equal(stepHelp.help, true);
    assert.equal(stepHelp.command, 'step');
    const helpWord = parse(['help', 'rollback']);
    assert.equal(helpWord.help, true);
    assert.equal(helpWord.command, 'rollback');
  });
});

describe('parseArgs: environment', () => {
  it('names the variable ISTIO_CANARY_<NAME>, upper case, - to _', () => {
    assert.equal(envName('virtual-service'), 'ISTIO_CANARY_VIRTUAL_SERVICE');
    assert.equal(envName('min-success-rate'), 'ISTIO_CANARY_MIN_SUCCESS_RATE');
  });

  it('falls back to ISTIO_CANARY_VIRTUAL_SERVICE and the other inputs', () => {
    const parsed = parse([], {
      ISTIO_CANARY_VIRTUAL_SERVICE: 'backend',
      ISTIO_CANARY_DRY_RUN: 'true',
      ISTIO_CANARY_COMMAND: 'status',
      UNRELATED: 'x',
    });
    assert.deepEqual(parsed.inputs, {
      'virtual-service': 'backend',
      'dry-run': 'true',
      command: 'status',
    });
    assert.equal(parsed.sources['virtual-service'], 'env');
  });

  it('lets a flag win over its variable, and ignores empty variables', () => {
    const parsed = parse(['--virtual-service', 'from-flag'], {
      ISTIO_CANARY_VIRTUAL_SERVICE: 'from-env',
      ISTIO_CANARY_ROUTE: '',
    });
    assert.equal(parsed.inputs['virtual-service'], 'from-flag');
    assert.equal(parsed.sources['virtual-service'], 'flag');
    assert.equal('route' in parsed.inputs, false);
  });

  it('a positional command wins over ISTIO_CANARY_COMMAND', () => {
    assert.equal(parse(['rollback'], { ISTIO_CANARY_COMMAND: 'step' }).inputs.command, 'rollback');
  });
});

describe('parseArgs: --output and --dotenv', () => {
  it('defaults to text and accepts json, from the flag or ISTIO_CANARY_OUTPUT', () => {
    assert.equal(parse([]).output, 'text');
    assert.equal(parse(['--output', 'json']).output, 'json');
    assert.equal(parse(['--output=text']).output, 'text');
    assert.equal(parse([], { ISTIO_CANARY_OUTPUT: 'json' }).output, 'json');
    assert.equal(parse(['--output', 'text'], { ISTIO_CANARY_OUTPUT: 'json' }).output, 'text');
  });

  it('rejects other output modes, naming the flag or the variable and the accepted values', () => {
    usageError(['--output', 'yaml'], /^Flag --output must be text or json; got "yaml"\.$/);
    usageError(['--output', 'JSON'], /must be text or json/);
    usageError([], /^ISTIO_CANARY_OUTPUT \(--output\) must be text or json; got "xml"/, {
      ISTIO_CANARY_OUTPUT: 'xml',
    });
  });

  it('reads --dotenv from the flag or ISTIO_CANARY_DOTENV, not as an input', () => {
    const parsed = parse(['--dotenv', 'out.env']);
    assert.equal(parsed.dotenv, 'out.env');
    assert.equal('dotenv' in parsed.inputs, false);
    assert.equal(parse([], { ISTIO_CANARY_DOTENV: 'env.env' }).dotenv, 'env.env');
  });
});

describe('inCliTerms', () => {
  it('names flags where the core names inputs', () => {
    assert.equal(inCliTerms('Input "weight" must be 0-100', {}), '--weight must be 0-100');
    assert.equal(
      inCliTerms('Inputs "stable-subset" and "canary-subset" must differ', {}),
      '--stable-subset and --canary-subset must differ',
    );
    assert.equal(
      inCliTerms('DestinationRule "x" (input "destination-rule") was not found', {}),
      'DestinationRule "x" (--destination-rule) was not found',
    );
  });

  it('names the variable when the value came from the environment', () => {
    assert.equal(
      inCliTerms('Input "weight" must be 0-100', { weight: 'env' }),
      'ISTIO_CANARY_WEIGHT (--weight) must be 0-100',
    );
  });

  it('leaves names that are not inputs, and other messages, alone', () => {
    assert.equal(inCliTerms('Input "bogus" is odd', {}), 'Input "bogus" is odd');
    assert.equal(
      inCliTerms('VirtualService "weight" was not found', {}),
      'VirtualService "weight" was not found',
    );
  });
});
