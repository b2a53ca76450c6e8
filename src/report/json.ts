import { randomBytes } from 'node:crypto';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StageReport } from './report.ts';

/** Names the layout of the JSON report so that tools reading it can tell versions apart. */
export const REPORT_SCHEMA = 'istio-canary/report/v1';

/** Bounds the search for a free file name when several reports finish in the same millisecond. */
const MAX_NAME_ATTEMPTS = 100;

/**
 * Writes the report as pretty JSON to `istio-canary-report-<timestamp>.json` in `dir` and returns
 * the path. The caller chooses the folder (the GitHub entry passes `RUNNER_TEMP`); the default is
 * the system's temporary folder. The file appears complete or not at all: it is written under a
 * temporary name and renamed, so a reader polling the folder never sees half a report.
 */
export async function writeJsonReport(
  report: StageReport,
  dir: string = tmpdir(),
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const body = `${JSON.stringify({ schema: REPORT_SCHEMA, ...report }, null, 2)}\n`;
  const temp = join(
    dir,
    `.istio-canary-report-${process.pid}-${randomBytes(6).toString('hex')}.tmp`,
  );
  await writeFile(temp, body, { encoding: 'utf8', mode: 0o644 });
  try {
    const target = await freePath(dir, reportStamp(report.finishedAt));
    await rename(temp, target);
    return target;
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * `20250102T030405123Z`: sortable, and free of the colons that Windows runners refuse in names.
 * Taken from the report's end, so a re-read of the same report names the same moment.
 */
export function reportStamp(finishedAt: string, now: () => number = Date.now): string {
  const parsed = Date.parse(finishedAt);
  const date = new Date(Number.isNaN(parsed) ? now() : parsed);
  return date.toISOString().replace(/[-:.]/g, '');
}

/** The first report name in `dir` not yet taken: two stages in one job must not overwrite each other. */
async function freePath(dir: string, stamp: string): Promise<string> {
  for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++) {
    const suffix = attempt === 0 ? '' : `-${attempt + 1}`;
    const candidate = join(dir, `istio-canary-report-${stamp}${suffix}.json`);
    if (!(await exists(candidate))) return candidate;
  }
  throw new Error(`Could not find a free report file name in ${dir} for ${stamp}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
