#!/usr/bin/env node
import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);

// src/cli/index.ts
var [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || major === 22 && minor < 19) {
  process.stderr.write(
    `istio-canary needs Node.js 22.19 or newer (what @kubernetes/client-node 2.x requires); this is ${process.version}.
`
  );
  process.exit(2);
}
var { enableCompileCache } = await import("node:module");
enableCompileCache();
var { main } = await import("./chunks/process-2KEBXZRF.js");
await main();
