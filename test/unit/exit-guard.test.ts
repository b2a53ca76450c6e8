import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { describe, test } from 'node:test';
import { RunStopped } from '../../src/errors.ts';
import { ExitGuard, type GuardHost, type ProtectedRun } from '../../src/exit-guard.ts';

/** The process as the guard sees it: events to emit, exits to record. */
class FakeProcess extends EventEmitter implements GuardHost {
  readonly exits: number[] = [];
  readonly exited: Promise<number>;
  #exited!: (code: number) => void;
  constructor() {
    super();
    this.exited = new Promise((resolve) => (this.#exited = resolve));
  }
  exit(code = 0): void {
    this.exits.push(code);
    this.#exited(code);
  }
}

/** A run that has written (or not), whose restore is counted and answers as told. */
function fakeRun(options: { wrote?: boolean; restore?: () => Promise<string> } = {}) {
  const restores: number[] = [];
  const run: ProtectedRun = {
    wrote: () => options.wrote ?? true,
    restore: () => {
      restores.push(1);
      return options.restore?.() ?? Promise.resolve('Original route of shop/backend restored.');
    },
    longestCall: () =>
      'GET virtualservices/backend in shop on https://127.0.0.1:6443 (running for 41s)',
    redact: (text) => text.replaceAll('hunter2', '***'),
  };
  return { run, restores };
}

function guard(options: { graceMs?: number; restoreBudgetMs?: number } = {}) {
  const host = new FakeProcess();
  const lines: string[] = [];
  const controller = new AbortController();
  const g = new ExitGuard({ controller, warn: (line) => lines.push(line), host, ...options });
  g.install();
  return { g, host, lines, controller };
}

/** Keeps the event loop alive while a test waits on the guard's unreferenced timers. */
async function awaitAlive<T>(promise: Promise<T>): Promise<T> {
  const alive = setInterval(() => undefined, 1000);
  try {
    return await promise;
  } finally {
    clearInterval(alive);
  }
}

describe('ExitGuard', () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    test(`${signal} tells the run to stop, and the exit code is non-zero even if the run says 0`, async () => {
      const { g, host, lines, controller } = guard();
      g.protect(fakeRun().run);
      host.emit(signal);
      assert.equal(controller.signal.aborted, true);
      assert.deepEqual(lines, [`Received ${signal}: restoring the original route before exiting.`]);
      assert.equal(await g.finish(0), 1);
      assert.deepEqual(host.exits, [], 'the run’s own flow ends the process');
    });
  }

  test('an uncaught exception stops the run with a reason the report gives, secrets hidden', async () => {
    const { g, host, lines, controller } = guard();
    const { run, restores } = fakeRun();
    g.protect(run);
    host.emit('uncaughtException', new Error('socket said hunter2'));
    const reason: unknown = controller.signal.reason;
    assert.ok(reason instanceof RunStopped);
    assert.equal(reason.message, 'The run stopped on an internal error (socket said ***)');
    assert.deepEqual(lines, [
      'Internal error: socket said ***. Restoring the original route before exiting.',
    ]);
    assert.equal(await g.finish(0), 1);
    assert.equal(restores.length, 0, 'the run restores by itself');
  });

  test('an unhandled rejection stops the run the same way', async () => {
    const { g, host, controller } = guard();
    g.protect(fakeRun().run);
    host.emit('unhandledRejection', 'not even an Error');
    assert.match(
      (controller.signal.reason as Error).message,
      /internal error \(not even an Error\)/,
    );
    assert.equal(await g.finish(1), 1);
  });

  test('a run that has not finished within the grace is restored by the guard, which exits 1', async () => {
    const { g, host, lines } = guard({ graceMs: 5 });
    const { run, restores } = fakeRun();
    g.protect(run);
    host.emit('SIGTERM');
    assert.equal(await awaitAlive(host.exited), 1);
    assert.equal(restores.length, 1);
    assert.deepEqual(lines.slice(1), [
      'The run did not finish within 0s: restoring the original route now.',
      'Original route of shop/backend restored.',
    ]);
  });

  test('a restore that hangs is given up after its budget, saying to run rollback', async () => {
    const { g, host, lines } = guard({ graceMs: 5, restoreBudgetMs: 5 });
    g.protect(fakeRun({ restore: () => new Promise(() => undefined) }).run);
    host.emit('SIGINT');
    assert.equal(await awaitAlive(host.exited), 1);
    assert.match(
      lines.at(-1)!,
      /^The restore failed \(it did not finish within 0s\); run the rollback command\.$/,
    );
  });

  test('a run that has written nothing is not restored', async () => {
    const { g, host, lines } = guard({ graceMs: 5 });
    const { run, restores } = fakeRun({ wrote: false });
    g.protect(run);
    host.emit('SIGTERM');
    assert.equal(await awaitAlive(host.exited), 1);
    assert.equal(restores.length, 0);
    assert.equal(lines.at(-1), 'The run did not finish within 0s; exiting.');
  });

  test('an event loop that runs dry with the run unfinished gets the restore at once', async () => {
    const { g, host, lines } = guard();
    const { run, restores } = fakeRun();
    g.protect(run);
    host.emit('beforeExit');
    assert.equal(await host.exited, 1);
    assert.equal(restores.length, 1);
    assert.equal(lines[0], 'The run stopped making progress: restoring the original route now.');
  });

  test('the step deadline stops the run, naming the call that hangs', async () => {
    const { g, controller } = guard();
    const { run } = fakeRun();
    g.protect({ ...run, deadline: { plannedMs: 20, graceMs: 10 } });
    await awaitAlive(once(controller.signal, 'abort'));
    const reason = controller.signal.reason as RunStopped;
    assert.ok(reason instanceof RunStopped);
    assert.match(
      reason.message,
      /^The step ran past its deadline of \S+ \(\S+ of watches planned, \S+ of grace\); the call still running: GET virtualservices\/backend in shop on https:\/\/127\.0\.0\.1:6443 \(running for 41s\)$/,
    );
    assert.equal(await g.finish(1), 1);
  });

  test('a finished run ignores later events', async () => {
    const { g, host, controller } = guard();
    g.protect(fakeRun().run);
    assert.equal(await g.finish(0), 0);
    host.emit('SIGINT');
    host.emit('beforeExit');
    assert.equal(controller.signal.aborted, false);
    assert.deepEqual(host.exits, []);
  });

  test('a second signal does not start a second stop', async () => {
    const { g, host, lines } = guard();
    g.protect(fakeRun().run);
    host.emit('SIGINT');
    host.emit('SIGTERM');
    assert.equal(lines.length, 1);
    assert.equal(await g.finish(1), 1);
  });
});
