import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Secrets } from '../config/secrets.ts';
import { jsonText } from '../escape/json.ts';
import { publishNew } from '../private-file.ts';
import type { StageReport } from './report.ts';

/** Names the layout of the JSON report so that tools reading it can tell versions apart. */
export const REPORT_SCHEMA = 'istio-canary/report/v1';

/** Bounds the search for a free file name when several reports finish in the same millisecond. */
const MAX_NAME_ATTEMPTS = 100;

/** Where the report goes and what it must not contain. */
export interface JsonReportOptions {
  /** The folder; the system's temporary folder when absent (the GitHub entry passes RUNNER_TEMP). */
  dir?: string;
  /** Replaced in every string of the report: an error may quote a header or token. */
  secrets: Secrets;
}

/**
 * Writes the report as pretty JSON to `istio-canary-report-<timestamp>.json` and returns the
 * path. The file is private to the user (0600: it is uploaded as an artifact, and may be read
 * from a shared temporary folder), appears complete or not at all, and never replaces or follows
 * anything already there (see private-file.ts): a name taken, by a file or a planted link, moves
 * on to the next.
 */
export async function writeJsonReport(
  report: StageReport,
  options: JsonReportOptions,
): Promise<string> {
  const dir = options.dir ?? tmpdir();
  await mkdir(dir, { recursive: true });
  const body = `${jsonText(options.secrets.redactDeep({ schema: REPORT_SCHEMA, ...report }))}\n`;
  const stamp = reportStamp(report.finishedAt);
  const names = Array.from({ length: MAX_NAME_ATTEMPTS }, (_, attempt) =>
    join(dir, `istio-canary-report-${stamp}${attempt === 0 ? '' : `-${attempt + 1}`}.json`),
  );
  const path = await publishNew(dir, '.istio-canary-report', body, names);
  if (path === undefined) {
    throw new Error(`Could not find a free report file name in ${dir} for ${stamp}`);
  }
  return path;
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
