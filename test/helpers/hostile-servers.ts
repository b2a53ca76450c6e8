import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';

/** A request a hostile server saw. */
export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A loopback server that misbehaves on purpose; `bytesSent` counts body bytes it managed to write. */
export interface HostileServer {
  url: string;
  seen: Seen[];
  bytesSent(): number;
  close(): Promise<void>;
}

type Handler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  count: (n: number) => void,
) => void;

/** Starts `handler` on 127.0.0.1, over TLS when `tls` is given. */
export async function startHostile(
  handler: Handler,
  tls?: { cert: string; key: string },
): Promise<HostileServer> {
  const seen: Seen[] = [];
  let sent = 0;
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    handler(req, res, (n) => (sent += n));
  };
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    seen,
    bytesSent: () => sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Never answers; the request stays open until the client gives up. */
export const hang: Handler = () => undefined;

/**
 * Answers 200 at once, then sends one byte of a JSON body every `everyMs`: no idle timeout ever
 * fires. Stops when the client goes, and after `maxBytes` in any case.
 */
export function trickle(everyMs: number, maxBytes = 600): Handler {
  return (_req, res, count) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{');
    let bytes = 1;
    const timer = setInterval(() => {
      if (bytes >= maxBytes || res.destroyed) return clearInterval(timer);
      res.write(' ');
      count(1);
      bytes++;
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  };
}

/**
 * Answers 200 with `totalBytes` of a JSON-looking body, streamed with backpressure, so that
 * `bytesSent` shows how much the client let through before it hung up. `declare` sends a
 * Content-Length up front.
 */
export function huge(totalBytes: number, declare = false): Handler {
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  return (_req, res, count) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(declare ? { 'content-length': String(totalBytes) } : {}),
    });
    let left = totalBytes;
    const pump = (): void => {
      while (left > 0 && !res.destroyed) {
        const piece = chunk.subarray(0, Math.min(chunk.length, left));
        left -= piece.length;
        count(piece.length);
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    res.on('close', () => (left = 0));
    pump();
  };
}

/** Redirects every request to `location` with `status`. */
export function redirect(location: string, status = 302): Handler {
  return (_req, res) => {
    res.writeHead(status, { location });
    res.end();
  };
}

/**
 * A kubeconfig whose one context points at `server`, with a bearer token or, given `exec`, the
 * command of an exec credential plugin.
 */
export function kubeconfigFor(
  server: string,
  cluster: { ca?: string; tlsServerName?: string; skipTlsVerify?: boolean } = {},
  exec?: { command: string; args: string[] },
): string {
  const user = exec
    ? {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          interactiveMode: 'Never',
          ...exec,
        },
      }
    : { token: 'hostile-test-token' };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'hostile',
        cluster: {
          server,
          ...(cluster.ca
            ? { 'certificate-authority-data': Buffer.from(cluster.ca).toString('base64') }
            : {}),
          ...(cluster.tlsServerName ? { 'tls-server-name': cluster.tlsServerName } : {}),
          ...(cluster.skipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}),
        },
      },
    ],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'c', context: { cluster: 'hostile', user: 'u', namespace: 'shop' } }],
    'current-context': 'c',
  });
}
