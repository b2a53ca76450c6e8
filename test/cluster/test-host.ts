/**
 * A test host the API server may proxy to. kube-apiserver refuses to proxy to loopback (and
 * rejects loopback addresses in Endpoints), so the default `k8s://` Prometheus URL can only be
 * tested through an address that is not 127.0.0.1. This makes a network namespace of our own with
 * a veth pair (iproute2; needs root), gives the namespace end a 10.x address, and forwards TCP from
 * there to a service on the host's loopback, in two hops: a forwarder inside the namespace to the
 * host end of the pair, and one on the host end to 127.0.0.1.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { waitFor } from './processes.ts';

const run = promisify(execFile);
const FORWARDER = resolve(import.meta.dirname, 'tcp-forward.ts');

/** A running test host: a namespace with one address, forwarding one port to the host. */
export interface TestHost {
  /** Address of the namespace end, where the forwarded port listens. */
  address: string;
  port: number;
  remove(): Promise<void>;
}

async function ip(args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(
      `ip ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}. The test host needs iproute2 and root (CAP_NET_ADMIN).`,
      { cause: error },
    );
  }
}

/** A /30 in 10.231.0.0/16 not on any interface here yet. */
async function freeSubnet(): Promise<[string, string]> {
  const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show']);
  for (let i = 0; i < 50; i++) {
    const third = randomInt(0, 256);
    const fourth = randomInt(0, 64) * 4;
    const prefix = `10.231.${third}.`;
    if (stdout.includes(`${prefix}${fourth + 1}/`) || stdout.includes(`${prefix}${fourth + 2}/`))
      continue;
    return [`${prefix}${fourth + 1}`, `${prefix}${fourth + 2}`];
  }
  throw new Error('no free 10.231.x.y/30 for the test host');
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      resolvePort(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

/** Forwards to 127.0.0.1:`port`; `destroyAll` ends every open connection (the peer may be gone). */
function forwardTo(port: number): { server: Server; destroyAll(): void } {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const server = createServer((socket) => {
    const upstream = connect(port, '127.0.0.1');
    track(socket);
    track(upstream);
    socket.pipe(upstream).pipe(socket);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  return { server, destroyAll: () => sockets.forEach((s) => s.destroy()) };
}

const NETNS_PREFIX = 'icanary-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Deletes test hosts left by test processes that died before removing them (a killed run); the
 * namespace's name carries its creator's pid, and deleting it deletes its end of the veth pair
 * and so the pair.
 */
async function removeOrphans(): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }));
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0];
    const pid = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(name)?.[1];
    if (pid !== undefined && !alive(Number(pid)))
      await run('ip', ['netns', 'del', name]).catch(() => undefined);
  }
}

/** Creates the namespace and forwards `<address>:<port>` to `127.0.0.1:<targetPort>`. */
export async function startTestHost(targetPort: number, port = 9090): Promise<TestHost> {
  await removeOrphans();
  const id = `${process.pid.toString(36)}${randomInt(0, 1296).toString(36)}`;
  const netns = `${NETNS_PREFIX}${process.pid}-${randomInt(0, 1296).toString(36)}`;
  const hostEnd = `icv${id}h`.slice(0, 15);
  const nsEnd = `icv${id}n`.slice(0, 15);
  const [hostAddress, address] = await freeSubnet();
  let forwarder: ChildProcess | undefined;
  const forward = forwardTo(targetPort);
  const hostServer = forward.server;
  const remove = async () => {
    forwarder?.kill('SIGTERM');
    hostServer.close();
    // Connections from the namespace would linger half-closed once the veth pair is gone.
    forward.destroyAll();
    await run('ip', ['link', 'del', hostEnd]).catch(() => undefined);
    await run('ip', ['netns', 'del', netns]).catch(() => undefined);
  };
  try {
    await ip(['netns', 'add', netns]);
    await ip(['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd]);
    await ip(['link', 'set', nsEnd, 'netns', netns]);
    await ip(['addr', 'add', `${hostAddress}/30`, 'dev', hostEnd]);
    await ip(['link', 'set', hostEnd, 'up']);
    await ip(['netns', 'exec', netns, 'ip', 'addr', 'add', `${address}/30`, 'dev', nsEnd]);
    await ip(['netns', 'exec', netns, 'ip', 'link', 'set', nsEnd, 'up']);
    await ip(['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']);
    const hostPort = await listen(hostServer, hostAddress);
    forwarder = spawn(
      'ip',
      [
        'netns',
        'exec',
        netns,
        process.execPath,
        FORWARDER,
        `${address}:${port}`,
        `${hostAddress}:${hostPort}`,
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      () =>
        new Promise<boolean>((ok) => {
          const socket = connect(port, address, () => {
            socket.destroy();
            ok(true);
          });
          socket.on('error', () => ok(false));
        }),
      15_000,
      () => `the forwarder in network namespace ${netns} did not listen on ${address}:${port}`,
      100,
    );
    return { address, port, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
