/**
 * The simulator's HTTP face: `/metrics` for Prometheus to scrape, and a small Prometheus HTTP API
 * (instant queries through promql-lite) so the demo runs where no Prometheus is installed.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { evaluate, parsePromql, PromqlLiteError, vectorResponse } from './promql-lite.ts';
import type { LiteSample } from './promql-lite.ts';

/** What the server needs from the simulator. */
export interface MetricsSource {
  metricsText(): string;
  samples(): LiteSample[];
}

/** A listening server and how to close it. */
export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Bodies of POSTed queries are tiny; anything larger is not a query. */
const MAX_BODY_BYTES = 64 * 1024;

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', JSON.stringify(body));
}

function badData(res: ServerResponse, message: string): void {
  sendJson(res, 400, { status: 'error', errorType: 'bad_data', error: message });
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > MAX_BODY_BYTES) throw new PromqlLiteError('request body too large');
  }
  return body;
}

async function queryParams(req: IncomingMessage, url: URL): Promise<URLSearchParams> {
  const params = new URLSearchParams(url.searchParams);
  if (req.method === 'POST') {
    for (const [key, value] of new URLSearchParams(await readBody(req))) params.set(key, value);
  }
  return params;
}

async function handleQuery(
  source: MetricsSource,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
) {
  try {
    const params = await queryParams(req, url);
    const query = params.get('query');
    if (query === null || query.trim() === '')
      return badData(res, 'invalid parameter "query": empty query');
    const time = params.has('time') ? Number(params.get('time')) : Date.now() / 1000;
    const result = evaluate(parsePromql(query), source.samples());
    sendJson(res, 200, vectorResponse(result, Number.isFinite(time) ? time : Date.now() / 1000));
  } catch (err) {
    if (err instanceof PromqlLiteError) return badData(res, err.message);
    throw err;
  }
}

const BUILD_INFO = {
  status: 'success',
  data: { version: '0.0.0-sandbox', revision: 'promql-lite', branch: 'sandbox', goVersion: 'none' },
};

async function handle(
  source: MetricsSource,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const readOnly = req.method === 'GET' || req.method === 'HEAD';
  if (url.pathname === '/api/v1/query' && (readOnly || req.method === 'POST'))
    return handleQuery(source, req, res, url);
  if (!readOnly) return send(res, 405, 'text/plain', 'method not allowed\n');
  switch (url.pathname) {
    case '/metrics':
      return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', source.metricsText());
    case '/api/v1/status/buildinfo':
      return sendJson(res, 200, BUILD_INFO);
    case '/-/ready':
    case '/-/healthy':
      return send(res, 200, 'text/plain', 'Simulator is Ready.\n');
    default:
      return send(res, 404, 'text/plain', 'not found\n');
  }
}

/** Serves the metrics on 127.0.0.1 (port 0 = any free port); resolves with the base URL. */
export async function serveMetrics(source: MetricsSource, port = 0): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    handle(source, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain', `${String(err)}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Prometheus keeps scrape connections alive; without this close() would wait for them.
        server.closeAllConnections();
      }),
  };
}
