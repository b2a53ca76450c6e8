/**
 * A stand-in for the GitHub REST API on 127.0.0.1, for unit tests and for the end-to-end tests that
 * run `dist/` with `GITHUB_API_URL` pointing here. It answers
 * `POST /repos/:owner/:repo/statuses/:sha` with 201 and a body shaped like GitHub's, records every
 * request it gets, and answers anything else with GitHub's 404.
 *
 * ```ts
 * const api = await start();            // or start({ failWith: 500 })
 * // ... run code with baseUrl / GITHUB_API_URL = api.url
 * api.requests[0].body.context;         // what was posted
 * await api.stop();
 * ```
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the double received. */
export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** The `Authorization` header (e.g. `token ghs_...`), or undefined. */
  authorization: string | undefined;
  /** Path parameters when the path is a commit status one. */
  owner?: string;
  repo?: string;
  sha?: string;
  /** The parsed JSON body; undefined when there was none or it was not JSON. */
  body: Record<string, unknown> | undefined;
}

/** How the double behaves; each can be changed on the running double too. */
export interface GitHubApiDoubleOptions {
  /** Answer status posts with this HTTP status (e.g. 500, 401) and GitHub's error body. */
  failWith?: number;
  /** Wait this long before answering, to exercise timeouts. */
  delayMs?: number;
}

/** A running double. */
export interface GitHubApiDouble {
  /** The API root to use as `baseUrl` / `GITHUB_API_URL`, without a trailing slash. */
  url: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Current behaviour; assign to change it between requests. */
  options: GitHubApiDoubleOptions;
  stop(): Promise<void>;
}

const STATUS_PATH = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([^/?]+)$/;

const ERROR_MESSAGES: Record<number, string> = {
  401: 'Bad credentials',
  403: 'Resource not accessible by integration',
  404: 'Not Found',
  422: 'Validation Failed',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** Starts the double on a free port of 127.0.0.1. */
export async function start(options: GitHubApiDoubleOptions = {}): Promise<GitHubApiDouble> {
  const requests: RecordedRequest[] = [];
  const state: GitHubApiDoubleOptions = { ...options };
  let nextId = 1;
  // Pending delays are cancelled on stop, so a long delayMs cannot keep a test process alive.
  const timers = new Set<NodeJS.Timeout>();
  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  const server = createServer((req, res) => {
    void readBody(req).then(async (raw) => {
      const recorded = record(req, raw);
      requests.push(recorded);
      if (state.delayMs) await delay(state.delayMs);
      if (res.destroyed) return;
      answer(res, recorded, state, nextId++, baseUrl());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = (): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: baseUrl(),
    requests,
    options: state,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function record(req: IncomingMessage, raw: string): RecordedRequest {
  const path = req.url ?? '/';
  const match = STATUS_PATH.exec(path.split('?')[0] ?? '');
  return {
    method: req.method ?? 'GET',
    path,
    authorization: req.headers.authorization,
    ...(match
      ? {
          owner: decodeURIComponent(match[1]),
          repo: decodeURIComponent(match[2]),
          sha: decodeURIComponent(match[3]),
        }
      : {}),
    body: parseJson(raw),
  };
}

function answer(
  res: ServerResponse,
  request: RecordedRequest,
  state: GitHubApiDoubleOptions,
  id: number,
  url: string,
): void {
  if (request.method !== 'POST' || request.sha === undefined) return sendError(res, 404);
  if (state.failWith !== undefined) return sendError(res, state.failWith);
  const body = request.body ?? {};
  const now = new Date().toISOString();
  send(res, 201, {
    url: `${url}/repos/${request.owner}/${request.repo}/statuses/${request.sha}`,
    id,
    node_id: `SC_${id}`,
    state: body.state,
    description: body.description ?? null,
    target_url: body.target_url ?? null,
    context: body.context ?? 'default',
    created_at: now,
    updated_at: now,
    creator: { login: 'github-actions[bot]', id: 41898282, type: 'Bot' },
  });
}

function sendError(res: ServerResponse, status: number): void {
  send(res, status, {
    message: ERROR_MESSAGES[status] ?? 'Error',
    documentation_url: 'https://docs.github.com/rest/commits/statuses#create-a-commit-status',
    status: String(status),
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(raw: string): Record<string, unknown> | undefined {
  if (raw === '') return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
