/**
 * A writer for a stream that may close under us: `| head`, a terminal that went away, a runner
 * that stopped reading. The stream's first error marks it closed and later writes are dropped
 * silently, so logging never throws and never crashes the process: a rollout under way must
 * still finish or restore its route.
 */
export function safeWriter(stream: NodeJS.WriteStream): (text: string) => void {
  let closed = false;
  const close = (): void => {
    closed = true;
  };
  protectStream(stream, close);
  return (text) => {
    if (closed || stream.destroyed || !stream.writable) return;
    try {
      stream.write(text);
    } catch {
      close();
    }
  };
}

const protectedStreams = new WeakSet<NodeJS.WriteStream>();

/**
 * Gives `stream` an error listener, so that a write to a closed pipe (EPIPE) is an event we
 * ignore rather than an uncaught error. For code that writes to the stream directly, such as
 * @actions/core on stdout.
 */
export function protectStream(stream: NodeJS.WriteStream, onError?: () => void): void {
  if (onError) stream.on('error', onError);
  if (protectedStreams.has(stream)) return;
  protectedStreams.add(stream);
  stream.on('error', () => undefined);
}
