/**
 * `node tcp-forward.ts LISTEN_HOST:PORT TARGET_HOST:PORT`: forwards every TCP connection, until
 * SIGTERM. Run inside the test host's network namespace (see test-host.ts).
 */
import { connect, createServer } from 'node:net';

function split(spec: string | undefined): [string, number] {
  const at = spec?.lastIndexOf(':') ?? -1;
  if (!spec || at < 0) throw new Error('usage: tcp-forward.ts LISTEN_HOST:PORT TARGET_HOST:PORT');
  return [spec.slice(0, at), Number(spec.slice(at + 1))];
}

const [listenHost, listenPort] = split(process.argv[2]);
const [targetHost, targetPort] = split(process.argv[3]);
const server = createServer((socket) => {
  const upstream = connect(targetPort, targetHost);
  socket.pipe(upstream).pipe(socket);
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
});
server.listen(listenPort, listenHost);
process.on('SIGTERM', () => process.exit(0));
