import http from 'node:http';
import https from 'node:https';
import {
  ResponseContext,
  wrapHttpLibrary,
  type HttpLibrary,
  type RequestContext,
} from '@kubernetes/client-node';
import { abortError } from '../net/deadline.ts';
import {
  BodyTooLargeError,
  describeNetworkFailure,
  errorCode,
  mebibytes,
  NetworkError,
  originOf,
} from '../net/errors.ts';

/**
 * Largest answer we read from the API server. A LIST of every Deployment in a crowded namespace
 * stays far below it; an answer past it is a broken or hostile server, refused before it is all
 * in memory.
 */
export const KUBE_MAX_BODY_BYTES = 64 * 1024 * 1024;

/** One request to the API server, as the transport sends it. */
export interface KubeRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** The kubeconfig's TLS settings (CA, client certificate, proxy) live in the agent. */
  agent?: http.Agent;
  /** Aborts the request wherever it is: connecting, waiting, or halfway through the body. */
  signal: AbortSignal;
  maxBodyBytes: number;
  /** For messages: "GET virtualservices/backend in shop". */
  what: string;
}

/** An answer read whole (within the limit). */
export interface KubeResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const TLS_HINTS = { authority: 'certificate-authority(-data) of the cluster in the kubeconfig' };

/**
 * Sends one request and reads the answer, bounded in time (the signal) and in size. Never follows
 * redirects. Failures are ours: NetworkError (with the errno code, for the retry decision),
 * DeadlineError or BodyTooLargeError, each naming the server.
 */
export function sendKubeRequest(request: KubeRequest): Promise<KubeResponse> {
  const server = originOf(request.url);
  const what = `${request.what} on ${server}`;
  if (request.signal.aborted) return Promise.reject(abortError(request.signal, what));
  return new Promise<KubeResponse>((resolve, reject) => {
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined)
      headers['Content-Length'] = String(Buffer.byteLength(request.body));
    const send = request.url.protocol === 'http:' ? http.request : https.request;
    const outgoing = send(
      request.url,
      { method: request.method, headers, agent: request.agent },
      (response) => {
        const tooLarge = (): void =>
          settle(
            new BodyTooLargeError(
              `${what}: the API server's answer is larger than ${mebibytes(request.maxBodyBytes)}; refused`,
            ),
          );
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > request.maxBodyBytes) return tooLarge();
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > request.maxBodyBytes) return tooLarge();
          chunks.push(chunk);
        });
        response.on('error', (error) => settle(networkError(error, server, request.what)));
        response.on('end', () =>
          settle(undefined, {
            status: response.statusCode ?? 0,
            headers: flatHeaders(response.headers),
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    let settled = false;
    // Called from the request's events only, never before `outgoing` exists.
    const settle = (error: Error | undefined, response?: KubeResponse): void => {
      if (settled) return;
      settled = true;
      request.signal.removeEventListener('abort', onAbort);
      if (error) {
        outgoing.destroy();
        reject(error);
      } else resolve(response!);
    };
    const onAbort = (): void => settle(abortError(request.signal, what));
    request.signal.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', (error) => settle(networkError(error, server, request.what)));
    outgoing.end(request.body);
  });
}

/**
 * client-node's HTTP library on our transport: the request it built (URL, auth headers) is sent
 * with the kubeconfig's agent, under `signal`, and read within the size limit.
 */
export function kubeHttpLibrary(options: {
  agent: () => Promise<http.Agent | undefined>;
  signal: AbortSignal;
  maxBodyBytes: number;
  what: string;
}): HttpLibrary {
  return wrapHttpLibrary({
    async send(context: RequestContext): Promise<ResponseContext> {
      const body = context.getBody();
      if (body !== undefined && typeof body !== 'string')
        throw new Error(`${options.what}: only JSON bodies are sent to the API server`);
      const response = await sendKubeRequest({
        method: context.getHttpMethod(),
        url: new URL(context.getUrl()),
        headers: context.getHeaders(),
        body,
        agent: await options.agent(),
        signal: options.signal,
        maxBodyBytes: options.maxBodyBytes,
        what: options.what,
      });
      return new ResponseContext(response.status, response.headers, {
        text: () => Promise.resolve(response.body.toString('utf8')),
        binary: () => Promise.resolve(response.body),
        stream: () => null,
      });
    },
  });
}

function networkError(error: unknown, server: string, what: string): Error {
  const code = errorCode(error);
  const sentence = describeNetworkFailure(error, server, TLS_HINTS);
  if (sentence) return new NetworkError(sentence, code);
  const message = error instanceof Error ? error.message : String(error);
  return new NetworkError(`${what} on ${server}: ${message}`, code);
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) flat[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
