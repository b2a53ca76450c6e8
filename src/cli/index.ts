// Checked before anything else is loaded: @kubernetes/client-node 2.x fails at import on an older
// Node with an error that does not say why.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `istio-canary needs Node.js 22.19 or newer (what @kubernetes/client-node 2.x requires); this is ${process.version}.\n`,
  );
  process.exit(2);
}
const { main } = await import('./process.ts');
await main();
