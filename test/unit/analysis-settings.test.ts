import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSettings } from '../../src/config/settings.ts';
import { UserError } from '../../src/errors.ts';

const STEP = {
  'virtual-service': 'backend',
  'stable-subset': 'v1',
  'canary-subset': 'v2',
  weight: '10',
};

const parse = (inputs: Record<string, string>) =>
  parseSettings((name) => ({ ...STEP, ...inputs })[name as keyof typeof STEP]);

await test('the sequential judge is the default, with alpha 0.01 and no error tolerance', () => {
  const settings = parse({});
  assert.equal(settings.analysis, 'sequential');
  assert.equal(settings.alpha, 0.01);
  assert.equal(settings.maxErrorRatio, 1);
});

await test('analysis, alpha and max-error-ratio are read and validated', () => {
  const settings = parse({ analysis: 'threshold', alpha: '0.5', 'max-error-ratio': '1.2' });
  assert.equal(settings.analysis, 'threshold');
  assert.equal(settings.alpha, 0.5);
  assert.equal(settings.maxErrorRatio, 1.2);
  const cases: [Record<string, string>, string][] = [
    [{ analysis: 'bayesian' }, 'analysis'],
    [{ alpha: '0' }, 'alpha'],
    [{ alpha: '0.6' }, 'alpha'],
    [{ alpha: '1%' }, 'alpha'],
    [{ 'max-error-ratio': '0.9' }, 'max-error-ratio'],
    [{ 'max-error-ratio': 'x' }, 'max-error-ratio'],
  ];
  for (const [inputs, name] of cases) {
    assert.throws(
      () => parse(inputs),
      (e: unknown) => e instanceof UserError && e.message.includes(`Input "${name}"`),
      JSON.stringify(inputs),
    );
  }
});
