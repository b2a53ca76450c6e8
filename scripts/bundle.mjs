// Bundles the entry points into dist/ for the runner (node24) and the CLI. Deterministic output:
// CI rebuilds and diffs dist/ against the commit, and the GitLab templates pin the SHA-256 of
// what this writes (scripts/cli-pin.ts builds it into a temporary folder given as argument).
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

const outdir = process.argv[2] ?? 'dist';
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: {
    main: 'src/github/index.ts',
    post: 'src/github/post-index.ts',
    cli: 'src/cli/index.ts',
  },
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
  // Some dependencies are CommonJS and call require(); give them one inside the ESM bundle.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
