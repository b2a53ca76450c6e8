import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';

// The demo must work on a fresh machine after `npm ci`, with or without a prometheus binary;
// this runs it the way a machine without one does.
test('npm run demo shows a healthy pipeline promoted and a faulty canary rolled back', () => {
  const demo = spawnSync(
    process.execPath,
    [resolve(import.meta.dirname, '../../src/sandbox/demo.ts')],
    {
      env: { ...process.env, SANDBOX_PROMETHEUS: 'off' },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  assert.equal(demo.status, 0, demo.stderr);
  const out = demo.stdout;
  assert.match(out, /reading the simulator's counters through the same HTTP API/);
  assert.equal(out.match(/Result: passed/g)?.length, 2, out);
  assert.match(out, /Result: promoted/);
  assert.match(out, /route "primary" is now: backend\/v2 100%/);
  assert.match(out, /Result: rolled-back/);
  assert.match(out, /VirtualService spec identical to the original: yes/);
});
