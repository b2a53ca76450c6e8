/**
 * The CRDs the control plane installs, read from the published Go modules in GOMODCACHE: Istio's
 * networking.istio.io CRDs (with their OpenAPI schemas and CEL rules) from istio.io/api, and the
 * Gateway API standard channel from sigs.k8s.io/gateway-api. The versions are the ones the
 * validation webhook's go.mod resolves, so the schemas and the webhook's rules agree.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { MODULES_DIR } from './binaries.ts';

const run = promisify(execFile);

/** Where `go mod download` put a module the webhook's go.mod requires. */
export async function moduleDir(path: string): Promise<{ dir: string; version: string }> {
  const cwd = join(MODULES_DIR, 'istio-validation');
  await run('go', ['mod', 'download', path], { cwd });
  const { stdout } = await run('go', ['list', '-m', '-json', path], { cwd });
  const info = JSON.parse(stdout) as { Dir?: string; Version: string };
  if (!info.Dir) throw new Error(`go mod download ${path} left no directory`);
  return { dir: info.Dir, version: info.Version };
}

function crdsIn(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Record<string, unknown> | null)
    .filter((o): o is Record<string, unknown> => o?.kind === 'CustomResourceDefinition');
}

/** Istio's networking.istio.io CRDs and the Gateway API standard-channel CRDs. */
export async function crdManifests(): Promise<Record<string, unknown>[]> {
  const istio = await moduleDir('istio.io/api');
  const gateway = await moduleDir('sigs.k8s.io/gateway-api');
  const istioCrds = crdsIn(
    readFileSync(join(istio.dir, 'kubernetes', 'customresourcedefinitions.gen.yaml'), 'utf8'),
  ).filter((crd) => (crd.spec as { group: string }).group === 'networking.istio.io');
  const standard = join(gateway.dir, 'config', 'crd', 'standard');
  const gatewayCrds = readdirSync(standard)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => crdsIn(readFileSync(join(standard, f), 'utf8')));
  return [...istioCrds, ...gatewayCrds];
}
