/**
 * Which configuration files an assessment may pack into its archive. Anyone who can start a workflow names
 * them, and the archive goes to S3, so the worker only takes plain files inside its own working directory,
 * never a dot-file (`.env`, `.pgpass`), at most 1 MiB, and none that holds a secret (a password in a URL, a
 * `password=` setting, a secret-looking JSON key) — so the archive cannot carry credentials off the host.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, relative, resolve, sep } from 'node:path';
import { DbopsError, ErrorCode } from '../../common/errors';
import { findSecrets, stringHasSecret } from '../../common/secret-guard';

const MAX_BYTES = 1024 * 1024;

/** The absolute paths of `files`, each checked; throws BadInput / SecretInInput naming the first refused one. */
export async function checkConfigFiles(files: string[], root = process.cwd()): Promise<string[]> {
  const base = await realpath(root);
  const checked: string[] = [];
  for (const file of files) {
    let path: string;
    try {
      path = await realpath(resolve(base, file));
    } catch {
      throw new DbopsError(ErrorCode.BadInput, `config file ${file} does not exist on the worker's host`);
    }
    const inside = relative(base, path);
    if (inside.startsWith('..') || inside.startsWith(sep) || inside === '')
      throw new DbopsError(
        ErrorCode.BadInput,
        `config file ${file} is outside the worker's directory ${base}: only files under it can be archived`,
      );
    if (inside.split(sep).some((part) => part.startsWith('.')))
      throw new DbopsError(
        ErrorCode.BadInput,
        `config file ${file} is a hidden file or in a hidden folder: not archived`,
      );
    const info = await stat(path);
    if (!info.isFile() || info.size > MAX_BYTES)
      throw new DbopsError(ErrorCode.BadInput, `config file ${file} is not a regular file of at most 1 MiB`);
    const text = await readFile(path, 'utf8');
    let structured: unknown;
    try {
      structured = JSON.parse(text);
    } catch {
      structured = undefined;
    }
    const secret =
      stringHasSecret(text) ||
      /\b[A-Z0-9_]*(PASSWORD|SECRET|TOKEN|API_KEY)[A-Z0-9_]*\s*[=:]\s*\S+/i.test(text) ||
      (structured !== undefined && findSecrets(structured, basename(path)).length > 0);
    if (secret)
      throw new DbopsError(
        ErrorCode.SecretInInput,
        `config file ${file} holds a password or secret: it is not archived (remove the secret from the file, or leave the file out)`,
      );
    checked.push(path);
  }
  return checked;
}
