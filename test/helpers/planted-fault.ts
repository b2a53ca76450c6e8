// Preloaded into the CLI or the action under test (node --import): once a line matching
// PLANTED_FAULT_AFTER has been written to stdout, it throws from a callback (PLANTED_FAULT=exception)
// or leaves a rejected promise unhandled (PLANTED_FAULT=rejection), as a bug outside the
// rollout's own flow would. Nothing of the product is mocked: the built bundle runs as shipped.
const kind = process.env.PLANTED_FAULT;
const after = new RegExp(process.env.PLANTED_FAULT_AFTER ?? '$^');
let fired = false;
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((...args: Parameters<typeof write>) => {
  const written = write(...args);
  if (!fired && after.test(String(args[0]))) {
    fired = true;
    setImmediate(() => {
      if (kind === 'rejection') void Promise.reject(new Error('planted rejection'));
      else throw new Error('planted exception');
    });
  }
  return written;
}) as typeof process.stdout.write;
