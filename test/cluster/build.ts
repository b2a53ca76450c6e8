/**
 * `npm run cluster:build`: builds the control plane's binaries that are not current, and prints
 * for each whether it was rebuilt and how long it took.
 */
import { cacheDir, ensureBinaries } from './binaries.ts';

const started = performance.now();
const results = await ensureBinaries({ log: (line) => process.stderr.write(`build: ${line}\n`) });
for (const r of results)
  process.stdout.write(
    `${r.name}: ${r.built ? `built in ${r.seconds} s` : 'current'} (${r.path})\n`,
  );
process.stdout.write(
  `cache ${cacheDir()}; ${((performance.now() - started) / 1000).toFixed(1)} s in all\n`,
);
