import { mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Secrets } from '../config/secrets.ts';
import { publishNew } from '../private-file.ts';
import { renderHtmlReport } from './html.ts';
import type { StageReport } from './report.ts';

/** Bounds the search for a free name when the one beside the JSON report is taken. */
const MAX_NAME_ATTEMPTS = 100;

/** Where the page goes and what it must not contain. */
export interface HtmlReportFileOptions {
  /** The JSON report of the same run: the page is written beside it, with the same name. */
  jsonPath: string;
  /** Replaced in every string of the page, as in the JSON report. */
  secrets: Secrets;
}

/**
 * Writes the HTML report beside the JSON report, `istio-canary-report-<timestamp>.html`, and
 * returns its path. Written as the JSON report is (see private-file.ts): private to the user
 * (0600), complete or not at all, never over or through anything already there; when the name
 * beside the JSON report is taken (a file, a planted link), `-2`, `-3`, ... are tried.
 */
export async function writeHtmlReport(
  report: StageReport,
  options: HtmlReportFileOptions,
): Promise<string> {
  const dir = dirname(options.jsonPath);
  await mkdir(dir, { recursive: true });
  const base = basename(options.jsonPath).replace(/\.json$/, '');
  const body = renderHtmlReport(report, options.secrets, {
    jsonName: basename(options.jsonPath),
  });
  const names = Array.from({ length: MAX_NAME_ATTEMPTS }, (_, attempt) =>
    join(dir, `${base}${attempt === 0 ? '' : `-${attempt + 1}`}.html`),
  );
  const path = await publishNew(dir, '.istio-canary-report', body, names);
  if (path === undefined) {
    throw new Error(`Could not find a free HTML report file name in ${dir} for ${base}`);
  }
  return path;
}
