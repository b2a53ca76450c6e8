import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A package registry that knows one version of one package, for `npm pack <name>@<version>` and
 * `npm install`: the package document at `/<name>` and the tarball it points to, with the
 * integrity npm checks. Whoever runs a registry chooses what it serves; the tests use it to
 * serve the real tarball, or one a squatter published under the name.
 */
export class NpmRegistry {
  readonly #server: Server;
  readonly url: string;
  readonly #tarballRequests: () => number;

  private constructor(server: Server, url: string, tarballRequests: () => number) {
    this.#server = server;
    this.url = url;
    this.#tarballRequests = tarballRequests;
  }

  /** Tarball requests served, to tell "refused after fetching" from "never fetched". */
  get tarballRequests(): number {
    return this.#tarballRequests();
  }

  static async serve(name: string, version: string, tarball: Buffer): Promise<NpmRegistry> {
    let tarballRequests = 0;
    const server = createServer((request, response) => {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const file = `/${name}/-/${name}-${version}.tgz`;
      if (request.url === `/${name}`) {
        const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
        const shasum = createHash('sha1').update(tarball).digest('hex');
        const document = {
          name,
          'dist-tags': { latest: version },
          versions: {
            [version]: { name, version, dist: { tarball: `${base}${file}`, integrity, shasum } },
          },
        };
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(document));
        return;
      }
      if (request.url === file) {
        tarballRequests++;
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        response.end(tarball);
        return;
      }
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{"error":"not found"}');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    return new NpmRegistry(server, `http://127.0.0.1:${port}`, () => tarballRequests);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((done) => this.#server.close(() => done()));
  }
}
