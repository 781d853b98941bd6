/**
 * Files that hold keys (the registry with every device and policy key, the emulator CA's private
 * key) are readable by their owner only, whatever the umask: the mode is set at creation and again
 * with chmod (a umask can only remove bits, and an existing file keeps its old mode on write).
 */
import { promises as fsp } from 'node:fs';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Creates `dir` (and its parents) if needed and makes `dir` itself 0700. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await fsp.chmod(dir, PRIVATE_DIR_MODE);
}

/** Makes an existing file 0600 (one left by an older run); nothing when it does not exist. */
export async function tightenFile(file: string): Promise<void> {
  try {
    await fsp.chmod(file, PRIVATE_FILE_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Writes a key file 0600 (created so, then chmod: it may have existed with a wider mode). */
export async function writePrivateFile(file: string, data: string | Uint8Array): Promise<void> {
  await fsp.writeFile(file, data, { mode: PRIVATE_FILE_MODE });
  await fsp.chmod(file, PRIVATE_FILE_MODE);
}
