/**
 * Headless Chromium (Debian's `chromium` package) driven over the DevTools protocol with Node's
 * own WebSocket: no browser download, no driver library. The flags keep it off the network:
 * without the background-networking ones it tries to reach Google's services, which a closed
 * network refuses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
  '--mute-audio',
];

/** The browser: CHROMIUM_PATH, else `chromium` on PATH, else an error saying how to install it. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [
    env.CHROMIUM_PATH,
    ...(env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'chromium')),
    '/usr/bin/chromium',
  ].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not this one
    }
  }
  throw new Error(
    'Chromium is needed for the HTML report test: apt-get install chromium (or set CHROMIUM_PATH).',
  );
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** One page of a running browser. */
export class ChromiumPage {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #waiters = new Map<string, (() => void)[]>();
  #nextId = 1;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener('message', (event: MessageEvent) =>
      this.#receive(event.data as string),
    );
  }

  /** Connects to a page target's DevTools socket. */
  static async connect(url: string): Promise<ChromiumPage> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), {
        once: true,
      });
    });
    const page = new ChromiumPage(socket);
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    return page;
  }

  /** Sends one protocol command and returns its result. */
  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    this.#socket.send(JSON.stringify({ id, method, params }));
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** Sets the viewport, loads `url` and waits for its load event. */
  async open(url: string, width: number, height: number): Promise<void> {
    await this.viewport(width, height);
    const loaded = this.#next('Page.loadEventFired');
    const navigation = await this.send<{ errorText?: string }>('Page.navigate', { url });
    if (navigation.errorText) throw new Error(`cannot open ${url}: ${navigation.errorText}`);
    await loaded;
  }

  async viewport(width: number, height: number): Promise<void> {
    await this.send('Emulation.setDeviceMetricsOverride', {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
  }

  /** Evaluates an expression in the page and returns its value (JSON-serialisable). */
  async evaluate<T>(expression: string): Promise<T> {
    const answer = await this.send<{
      result: { value?: unknown };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    }>('Runtime.evaluate', { expression, returnByValue: true });
    if (answer.exceptionDetails) {
      const details = answer.exceptionDetails;
      throw new Error(`page evaluation failed: ${details.exception?.description ?? details.text}`);
    }
    return answer.result.value as T;
  }

  /** A PNG of the whole page at the current width, written to `path`. */
  async screenshot(path: string, width: number): Promise<void> {
    const metrics = await this.send<{ cssContentSize: { height: number } }>(
      'Page.getLayoutMetrics',
    );
    const height = Math.ceil(metrics.cssContentSize.height);
    await this.viewport(width, height);
    const shot = await this.send<{ data: string }>('Page.captureScreenshot', {
      format: 'png',
      captureBeyondViewport: true,
      clip: { x: 0, y: 0, width, height, scale: 1 },
    });
    writeFileSync(path, Buffer.from(shot.data, 'base64'));
  }

  close(): void {
    this.#socket.close();
  }

  #next(method: string): Promise<void> {
    return new Promise((resolve) => {
      const list = this.#waiters.get(method) ?? [];
      list.push(resolve);
      this.#waiters.set(method, list);
    });
  }

  #receive(data: string): void {
    const message = JSON.parse(data) as {
      id?: number;
      method?: string;
      result?: unknown;
      error?: { message: string };
    };
    if (message.id !== undefined) {
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error) pending?.reject(new Error(message.error.message));
      else pending?.resolve(message.result);
      return;
    }
    if (message.method) {
      const waiters = this.#waiters.get(message.method) ?? [];
      this.#waiters.delete(message.method);
      for (const waiter of waiters) waiter();
    }
  }
}

/** A headless Chromium with a fresh profile, removed when it closes. */
export class Chromium {
  readonly #child: ChildProcess;
  readonly #profile: string;
  readonly #port: number;

  private constructor(child: ChildProcess, profile: string, port: number) {
    this.#child = child;
    this.#profile = profile;
    this.#port = port;
  }

  static async launch(): Promise<Chromium> {
    const profile = mkdtempSync(join(tmpdir(), 'istio-canary-chromium-'));
    const child = spawn(
      findChromium(),
      [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      const port = await devToolsPort(child);
      return new Chromium(child, profile, port);
    } catch (error) {
      child.kill('SIGKILL');
      rmSync(profile, { recursive: true, force: true });
      throw error;
    }
  }

  /** The browser's first page, connected. */
  async page(): Promise<ChromiumPage> {
    const targets = (await (await fetch(`http://127.0.0.1:${this.#port}/json/list`)).json()) as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const target = targets.find((t) => t.type === 'page');
    if (!target) throw new Error('Chromium has no page target');
    return ChromiumPage.connect(target.webSocketDebuggerUrl);
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) resolve();
      else this.#child.once('exit', () => resolve());
    });
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    rmSync(this.#profile, { recursive: true, force: true });
  }
}

/** Reads the DevTools port from the line Chromium prints on stderr when it listens. */
function devToolsPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      reject(new Error(`Chromium did not start its DevTools server in 30 s: ${seen.slice(-2000)}`));
    }, 30_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4000);
      const match = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`Chromium exited (${code ?? signal}) before listening: ${seen.slice(-2000)}`),
      );
    });
  });
}
