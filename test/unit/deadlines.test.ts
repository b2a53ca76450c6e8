import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EXIT_USAGE, runCli } from '../../src/cli/main.ts';
import {
  callLimits,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_STEP_GRACE_MS,
  stepDeadlineMs,
} from '../../src/config/deadlines.ts';
import { parseSettings } from '../../src/config/settings.ts';
import { UserError } from '../../src/errors.ts';

const STEP: Record<string, string> = {
  command: 'step',
  'virtual-service': 'backend',
  'stable-subset': 'v1',
  'canary-subset': 'v2',
  weight: '10,25,50',
  duration: '5m',
};
const settings = (inputs: Record<string, string>) => parseSettings((name) => inputs[name]);

describe('call limits', () => {
  test('default to 30 s per call and 2 min of grace; the variables change them', () => {
    assert.deepEqual(callLimits({}), {
      callTimeoutMs: DEFAULT_CALL_TIMEOUT_MS,
      stepGraceMs: DEFAULT_STEP_GRACE_MS,
    });
    assert.equal(DEFAULT_CALL_TIMEOUT_MS, 30_000);
    assert.equal(DEFAULT_STEP_GRACE_MS, 120_000);
    assert.deepEqual(
      callLimits({ ISTIO_CANARY_CALL_TIMEOUT: '2s', ISTIO_CANARY_STEP_GRACE: '1m30s' }),
      { callTimeoutMs: 2_000, stepGraceMs: 90_000 },
    );
  });

  test('a bad value names the variable', () => {
    for (const value of ['0', '30', 'soon', '7h']) {
      assert.throws(
        () => callLimits({ ISTIO_CANARY_CALL_TIMEOUT: value }),
        (error: unknown) =>
          error instanceof UserError &&
          error.message.startsWith('ISTIO_CANARY_CALL_TIMEOUT must be a duration above 0') &&
          error.message.includes(`got "${value}"`),
      );
    }
  });

  test('the CLI refuses a bad value as a usage error, before any network use', async () => {
    let stderr = '';
    const code = await runCli(['status', '--virtual-service', 'backend'], {
      stdout: () => undefined,
      stderr: (text) => (stderr += text),
      env: { ISTIO_CANARY_STEP_GRACE: 'forever' },
      signal: new AbortController().signal,
      version: '0.0.0',
    });
    assert.equal(code, EXIT_USAGE);
    assert.match(stderr, /ISTIO_CANARY_STEP_GRACE must be a duration/);
  });

  test('a step’s deadline is every weight’s watch plus the grace; other commands have none', () => {
    const limits = { callTimeoutMs: 30_000, stepGraceMs: 120_000 };
    assert.equal(stepDeadlineMs(settings(STEP), limits), 3 * 5 * 60_000 + 120_000);
    assert.equal(stepDeadlineMs(settings({ ...STEP, duration: '0' }), limits), 120_000);
    assert.equal(stepDeadlineMs(settings({ ...STEP, 'dry-run': 'true' }), limits), undefined);
    assert.equal(
      stepDeadlineMs(settings({ command: 'status', 'virtual-service': 'backend' }), limits),
      undefined,
    );
  });
});
