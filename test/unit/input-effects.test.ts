import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { ignoredInputs } from '../../src/config/ignored-inputs.ts';
import { INPUTS } from '../../src/config/inputs.ts';
import { parseSettings } from '../../src/config/settings.ts';
import { UserError } from '../../src/errors.ts';
import { MemoryLogger } from '../../src/logger.ts';
import type { RolloutDeps } from '../../src/rollout/deps.ts';
import { runCommand } from '../../src/rollout/run.ts';

const BASE = { 'virtual-service': 'backend', 'stable-subset': 'v1', 'canary-subset': 'v2' };

function parse(inputs: Record<string, string>) {
  return parseSettings((name) => inputs[name]);
}

describe('interval and duration', () => {
  test('a step whose interval is not shorter than its duration is refused: it would judge nothing', () => {
    for (const [duration, interval] of [
      ['20s', undefined],
      ['30s', '30s'],
      ['1m', '2m'],
    ] as const) {
      const inputs = { ...BASE, weight: '10', duration, ...(interval ? { interval } : {}) };
      assert.throws(
        () => parse(inputs),
        (error: unknown) =>
          error instanceof UserError &&
          /^Input "interval" \(\d+[sm]\) must be shorter than input "duration" \(\d+[sm]\): the watch would end before its first check/.test(
            error.message,
          ),
        `${duration} / ${interval ?? 'default'}`,
      );
    }
    assert.equal(parse({ ...BASE, weight: '10', duration: '31s' }).durationMs, 31_000);
    assert.equal(parse({ ...BASE, weight: '10', duration: '0' }).durationMs, 0, 'no watch at all');
    // Only a step watches: a promote given the shared pipeline inputs is not refused for them.
    assert.equal(parse({ ...BASE, command: 'promote', duration: '20s' }).command, 'promote');
  });
});

describe('inputs that have no effect for the command', () => {
  const warnings = (inputs: Record<string, string>) => parse(inputs).ignoredInputs;

  test('names each one given for a command that never reads it', () => {
    assert.deepEqual(warnings({ ...BASE, command: 'rollback', weight: '10' }), [
      'Input "weight" has no effect for command "rollback"; ignored.',
    ]);
    assert.deepEqual(warnings({ ...BASE, weight: '10', cleanup: 'true' }), [
      'Input "cleanup" has no effect for command "step"; ignored.',
    ]);
    assert.deepEqual(
      warnings({ ...BASE, command: 'promote', 'mirror-percent': '5', 'min-requests': '10' }),
      ['Inputs "min-requests", "mirror-percent" have no effect for command "promote"; ignored.'],
    );
    assert.deepEqual(warnings({ ...BASE, command: 'status', 'dry-run': 'true' }), [
      'Input "dry-run" has no effect for command "status"; ignored.',
    ]);
  });

  test('names one given without the input it qualifies', () => {
    assert.deepEqual(warnings({ ...BASE, weight: '10', 'canary-match-weight': '50' }), [
      'Input "canary-match-weight" has no effect without input "canary-match"; ignored.',
    ]);
    const withMatch = {
      ...BASE,
      weight: '10',
      'canary-match-weight': '50',
      'canary-match': '- headers: {x-qa: {exact: "1"}}',
    };
    assert.deepEqual(warnings(withMatch), []);
  });

  test('is silent for defaults, which the runner and the GitLab templates always pass', () => {
    const defaults = Object.fromEntries(
      INPUTS.filter((i) => i.default !== undefined).map((i) => [i.name, i.default!]),
    );
    for (const command of ['step', 'promote', 'rollback', 'status'] as const) {
      const inputs = { ...defaults, ...BASE, command, weight: command === 'step' ? '10' : '' };
      assert.deepEqual(warnings(inputs), [], command);
    }
  });

  test('every input the table restricts names commands that exist', () => {
    const commands = INPUTS.find((i) => i.name === 'command')!.options!;
    for (const input of INPUTS) {
      for (const command of input.commands ?? []) assert.ok(commands.includes(command), input.name);
      if (input.needs)
        assert.ok(
          INPUTS.some((i) => i.name === input.needs),
          input.name,
        );
    }
    assert.deepEqual(
      ignoredInputs('step', () => undefined),
      [],
    );
  });

  test('the warnings reach the log before the command runs', async () => {
    const settings = parse({ ...BASE, command: 'status', weight: '25' });
    const logger = new MemoryLogger();
    const failing = () => Promise.reject(new Error('stop here'));
    const deps = {
      logger,
      clock: systemClock,
      cluster: { defaultNamespace: 'shop', getVirtualService: failing },
    } as unknown as RolloutDeps;
    await assert.rejects(() => runCommand(settings, deps), /stop here/);
    assert.deepEqual(logger.lines, [
      'warning: Input "weight" has no effect for command "status"; ignored.',
    ]);
  });
});
