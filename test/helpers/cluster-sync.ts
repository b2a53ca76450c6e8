/**
 * Synchronous reads and writes on a real API server, for test code written against the
 * in-process double, whose `put`/`get`/`delete` return at once. Each call is posted to a worker
 * thread that does the HTTPS request; this thread blocks until the worker answers. That blocks the
 * event loop for the length of one request, which tests tolerate and production code never sees.
 */
import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
  type MessagePort,
} from 'node:worker_threads';
import type { Credentials } from '../cluster/rest.ts';

/** One call to the worker. */
export type SyncCall =
  | { op: 'put'; object: Record<string, unknown> }
  | { op: 'get' | 'delete'; resource: string; namespace: string | undefined; name: string }
  | { op: 'list'; resource: string; namespace: string | undefined };

/** The worker's answer. */
export type SyncAnswer = { ok: true; value: unknown } | { ok: false; error: string };

const CALL_TIMEOUT_MS = 60_000;

/** A blocking client of one API server as one identity. */
export class ClusterSyncClient {
  readonly #worker: Worker;
  readonly #port: MessagePort;

  private constructor(worker: Worker, port: MessagePort) {
    this.#worker = worker;
    this.#port = port;
  }

  /** Starts the worker; resolves once it listens. */
  static async start(credentials: Credentials): Promise<ClusterSyncClient> {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL('./cluster-sync-worker.ts', import.meta.url), {
      workerData: { credentials, port: port2 },
      transferList: [port2],
    });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    // The worker must not keep the test process alive on its own.
    worker.unref();
    port1.unref();
    return new ClusterSyncClient(worker, port1);
  }

  /** Runs one call and returns its value, or throws the worker's error. */
  call(call: SyncCall): unknown {
    const done = new Int32Array(new SharedArrayBuffer(4));
    this.#port.postMessage({ call, done });
    if (Atomics.wait(done, 0, 0, CALL_TIMEOUT_MS) === 'timed-out')
      throw new Error(`the API server did not answer ${call.op} in ${CALL_TIMEOUT_MS} ms`);
    const message = receiveMessageOnPort(this.#port);
    if (!message) throw new Error(`no answer to ${call.op}`);
    const answer = message.message as SyncAnswer;
    if (!answer.ok) throw new Error(answer.error);
    return answer.value;
  }

  async close(): Promise<void> {
    this.#port.close();
    await this.#worker.terminate();
  }
}
