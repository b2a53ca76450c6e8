#!/usr/bin/env node
// Checked before anything else is loaded: @kubernetes/client-node 2.x fails at import on an older
// Node with an error that does not say why.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `istio-canary needs Node.js 22.19 or newer (what @kubernetes/client-node 2.x requires); this is ${process.version}.\n`,
  );
  process.exit(2);
}
// Compiling the bundle is most of the start-up; Node keeps the compiled code on disk between runs
// on one machine (a laptop, a shell runner). NODE_DISABLE_COMPILE_CACHE=1 turns it off.
const { enableCompileCache } = await import('node:module');
enableCompileCache();
const { main } = await import('./process.ts');
await main();
