import { randomBytes } from 'node:crypto';
import { link, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Files the tool writes for later steps (the JSON report, the dotenv file): readable by the user
 * only (0600), created new (O_CREAT|O_EXCL: an existing file or a planted link at the name makes
 * the open fail instead of being followed) under a random temporary name, and published whole.
 */

/** Owner read and write only: a report can quote the cluster, and folders can be shared. */
export const PRIVATE_MODE = 0o600;

/**
 * Writes `body` to a new file under an unpredictable name in `dir` and returns its path. Nobody
 * can have planted anything at a name they cannot guess, and O_EXCL refuses it if they did.
 */
export async function writeNewTemp(dir: string, prefix: string, body: string): Promise<string> {
  const path = join(dir, `${prefix}.${randomBytes(12).toString('hex')}.tmp`);
  await writeNew(path, body);
  return path;
}

/**
 * Publishes `body` at the first of `names` that is free and returns it, or undefined when all
 * are taken. A hard link makes the whole file appear at once and fails on any existing entry (a
 * file, a directory, a symbolic link, dangling or not), so nothing is ever replaced or followed.
 * Where the file system has no hard links, the file is created in place, still with O_EXCL.
 */
export async function publishNew(
  dir: string,
  prefix: string,
  body: string,
  names: readonly string[],
): Promise<string | undefined> {
  const temp = await writeNewTemp(dir, prefix, body);
  try {
    for (const name of names) {
      try {
        await link(temp, name);
        return name;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') continue;
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw error;
        if (await writeNewOrTaken(name, body)) return name;
      }
    }
    return undefined;
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Replaces `path` with `body` atomically: a reader sees the old file or the whole new one. The
 * new content is written to a new file with an unpredictable name beside it, then renamed over
 * `path`; a rename replaces a symbolic link at `path` rather than writing where it points.
 */
export async function replaceAtomically(path: string, body: string): Promise<void> {
  const temp = await writeNewTemp(dirname(path), `.${basename(path)}`, body);
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function writeNew(path: string, body: string): Promise<void> {
  const handle = await open(path, 'wx', PRIVATE_MODE);
  try {
    await handle.writeFile(body, 'utf8');
  } catch (error) {
    await handle.close();
    await rm(path, { force: true });
    throw error;
  }
  await handle.close();
}

async function writeNewOrTaken(path: string, body: string): Promise<boolean> {
  try {
    await writeNew(path, body);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}
