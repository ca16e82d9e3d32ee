/**
 * One `.tar.gz` holding a whole estate backup (every database's backup folder, the TDengine export, configuration
 * files) with a `MANIFEST.json` inside, and the check that such an archive is whole.
 *
 * Why a manifest inside: the archive travels alone (to S3 and back), so it must carry the SHA-256 and size of
 * every file it holds; a reader can then prove each entry intact without any other record. The hashes are taken
 * before packing, `MANIFEST.json` is the archive's first entry, and the packed `.part` file is read back and
 * checked against them before it is renamed into place: a file that changed while being packed fails the pack
 * instead of leaving an archive that contradicts its own manifest.
 *
 * Packing streams through the `tar` package (PAX headers for long names, gzip on the way): memory stays flat
 * whatever the size. Symbolic links are followed and hard links stored as full copies, so every entry is plain
 * content that verifies on its own. Directories are recorded through the files in them (an empty one is not kept).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { mkdir, open, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { list, Pack, type ReadEntry, type TarOptionsWithAliases, type WriteEntry } from 'tar';
import { DbopsError, ErrorCode } from '../../common/errors';

/** Name of the manifest inside every estate archive (its first entry). */
export const ESTATE_MANIFEST_FILE = 'MANIFEST.json';

/** Something to put in the archive: a file, or a directory with everything under it. */
export interface EstateArchiveEntry {
  /** A file or a directory on disk (symbolic links are followed). */
  path: string;
  /** Its name in the archive: a relative POSIX path such as `backups/pg` or `config/dbops.yaml`. */
  nameInArchive: string;
}

/** One file in the archive, as the manifest lists it. */
export interface EstateArchiveFile {
  /** Path inside the archive. */
  name: string;
  bytes: number;
  sha256: string;
}

/** A packed archive. */
export interface EstateArchive {
  path: string;
  /** Size and SHA-256 of the `.tar.gz` itself. */
  bytes: number;
  sha256: string;
  /** Every file in the archive except `MANIFEST.json`, in archive order. */
  files: EstateArchiveFile[];
}

/** Result of {@link verifyEstateArchive}. */
export interface EstateArchiveCheck {
  ok: boolean;
  /** One sentence per problem found; empty when `ok`. */
  problems: string[];
}

/** A file found on disk, with the name it gets in the archive. */
interface Source {
  absolute: string;
  name: string;
}

/**
 * Packs `entries` into the gzip-compressed tar `outPath` (through `<outPath>.part`, fsync, read-back check,
 * rename). `MANIFEST.json` comes first and holds `manifest` plus `files`: every packed file's name, size and
 * SHA-256 (a `files` key of `manifest` is replaced). Throws BadInput for a missing entry, a name that is not a
 * safe relative path, two files with one name, or a special file (socket, device); ChecksumMismatch when the
 * archive read back differs from the hashes taken before packing (a file changed meanwhile).
 */
export async function packEstateArchive(
  outPath: string,
  entries: EstateArchiveEntry[],
  manifest: Record<string, unknown>,
  options: { signal?: AbortSignal } = {},
): Promise<EstateArchive> {
  const { signal } = options;
  const out = resolve(outPath);
  const part = `${out}.part`;
  const manifestPart = `${out}.${ESTATE_MANIFEST_FILE}.part`;
  const sources = await collectSources(entries, new Set([out, part, manifestPart]));

  const files: EstateArchiveFile[] = [];
  for (const source of sources) {
    files.push({ name: source.name, ...(await hashFile(source.absolute, signal)) });
  }

  await mkdir(dirname(out), { recursive: true });
  const names = new Map<string, string>([[manifestPart, ESTATE_MANIFEST_FILE]]);
  for (const source of sources) names.set(source.absolute, source.name);
  const warnings: string[] = [];
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    await writeFile(manifestPart, `${JSON.stringify({ ...manifest, files }, null, 2)}\n`);
    const pack = new Pack({
      // Paths are given relative to / so that every entry is found by its absolute path, then renamed below.
      cwd: '/',
      gzip: { level: 6 },
      portable: true,
      follow: true,
      noDirRecurse: true,
      linkCache: new NoHardLinks(),
      onWriteEntry: (entry: WriteEntry) => {
        entry.path = names.get(entry.absolute) ?? entry.path;
      },
      onwarn: (code: string, message: string) => warnings.push(`${code}: ${message}`),
    });
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    pack.add(relative('/', manifestPart));
    for (const source of sources) pack.add(relative('/', source.absolute));
    pack.end();
    await pipeline(pack, counter, createWriteStream(part), signal ? { signal } : {});
    if (warnings.length > 0) {
      throw new DbopsError(ErrorCode.BadInput, `packing ${out} reported: ${warnings.join('; ')}`);
    }
    const handle = await open(part, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const sha256 = hash.digest('hex');
    const check = await verifyEstateArchive(part, { sha256, files });
    if (!check.ok) {
      throw new DbopsError(
        ErrorCode.ChecksumMismatch,
        `${out}: the packed archive does not match the files hashed before packing (was one written to meanwhile?): ${check.problems.join('; ')}`,
      );
    }
    await rename(part, out);
    return { path: out, bytes, sha256, files };
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  } finally {
    await rm(manifestPart, { force: true });
  }
}

/**
 * Checks an estate archive against what its packing reported: the archive's own SHA-256, then every entry read
 * back (gzip and tar framing decoded, each file re-hashed) against `expected.files`, and `MANIFEST.json` against
 * the same list. Never throws for a damaged archive: a truncated, altered or unreadable one gives `ok: false` and
 * one problem per finding (bad archive hash, unreadable stream, missing, extra, resized or altered files).
 */
export async function verifyEstateArchive(
  path: string,
  expected: { sha256: string; files: EstateArchiveFile[] },
): Promise<EstateArchiveCheck> {
  const problems: string[] = [];
  let whole: { bytes: number; sha256: string };
  try {
    whole = await hashFile(path);
  } catch (err) {
    return { ok: false, problems: [`${path} cannot be read: ${(err as Error).message}`] };
  }
  if (whole.sha256 !== expected.sha256) {
    problems.push(
      `the archive (${whole.bytes} bytes) hashes to sha256 ${whole.sha256}, expected ${expected.sha256}: it was altered or truncated`,
    );
  }

  const found = new Map<string, { bytes: number; sha256: string; complete: boolean }>();
  const duplicates = new Set<string>();
  let manifestText: string | undefined;
  let readable = true;
  try {
    await list({
      file: path,
      // Our own archive, only hashed and never written out: highly compressible dumps must not trip the
      // zip-bomb guard.
      maxDecompressionRatio: Number.POSITIVE_INFINITY,
      onwarn: (code: string, message: string) => problems.push(`${code}: ${message}`),
      onReadEntry: (entry: ReadEntry) => {
        if (entry.type === 'Directory') return;
        const name = entry.path;
        if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
          problems.push(`${name}: unexpected ${entry.type} entry (an estate archive holds only files)`);
          return;
        }
        if (found.has(name)) duplicates.add(name);
        const record = { bytes: 0, sha256: '', complete: false };
        found.set(name, record);
        const entryHash = createHash('sha256');
        const keep: Buffer[] | undefined = name === ESTATE_MANIFEST_FILE ? [] : undefined;
        entry.on('data', (chunk: Buffer) => {
          entryHash.update(chunk);
          record.bytes += chunk.length;
          keep?.push(chunk);
        });
        entry.on('end', () => {
          record.sha256 = entryHash.digest('hex');
          record.complete = record.bytes === entry.size;
          if (keep) manifestText = Buffer.concat(keep).toString('utf8');
        });
      },
    });
  } catch (err) {
    readable = false;
    problems.push(`the archive cannot be read to its end: ${(err as Error).message}`);
  }

  for (const name of duplicates) problems.push(`${name}: stored more than once`);
  const wanted = new Map(expected.files.map((f) => [f.name, f]));
  for (const file of expected.files) {
    const got = found.get(file.name);
    if (got === undefined) {
      problems.push(
        readable
          ? `${file.name}: missing from the archive`
          : `${file.name}: not reached (the archive stops being readable before it)`,
      );
    } else if (!got.complete || got.bytes !== file.bytes) {
      problems.push(`${file.name}: ${got.bytes} bytes read, expected ${file.bytes}`);
    } else if (got.sha256 !== file.sha256) {
      problems.push(`${file.name}: sha256 ${got.sha256}, expected ${file.sha256}`);
    }
  }
  for (const name of found.keys()) {
    if (name !== ESTATE_MANIFEST_FILE && !wanted.has(name)) problems.push(`${name}: in the archive but not expected`);
  }
  if (readable || found.has(ESTATE_MANIFEST_FILE)) {
    problems.push(...manifestProblems(manifestText, found.has(ESTATE_MANIFEST_FILE), expected.files));
  }
  return { ok: problems.length === 0, problems };
}

/** Differences between the `files` listed in the archive's MANIFEST.json and the expected list. */
function manifestProblems(text: string | undefined, present: boolean, expected: EstateArchiveFile[]): string[] {
  if (!present) return [`${ESTATE_MANIFEST_FILE}: missing from the archive`];
  if (text === undefined) return [`${ESTATE_MANIFEST_FILE}: not read to its end`];
  let listed: unknown;
  try {
    listed = (JSON.parse(text) as { files?: unknown }).files;
  } catch (err) {
    return [`${ESTATE_MANIFEST_FILE}: not valid JSON (${(err as Error).message})`];
  }
  if (!Array.isArray(listed)) return [`${ESTATE_MANIFEST_FILE}: has no "files" list`];
  const problems: string[] = [];
  const inManifest = new Map<string, { bytes?: unknown; sha256?: unknown }>();
  for (const item of listed as { name?: unknown; bytes?: unknown; sha256?: unknown }[]) {
    if (typeof item?.name === 'string') inManifest.set(item.name, item);
  }
  for (const file of expected) {
    const item = inManifest.get(file.name);
    if (item === undefined) problems.push(`${ESTATE_MANIFEST_FILE}: does not list ${file.name}`);
    else if (item.sha256 !== file.sha256 || item.bytes !== file.bytes) {
      problems.push(
        `${ESTATE_MANIFEST_FILE}: lists ${file.name} as ${String(item.bytes)} bytes, sha256 ${String(item.sha256)}; expected ${file.bytes} bytes, sha256 ${file.sha256}`,
      );
    }
  }
  const names = new Set(expected.map((f) => f.name));
  for (const name of inManifest.keys()) {
    if (!names.has(name)) problems.push(`${ESTATE_MANIFEST_FILE}: lists ${name}, which is not expected`);
  }
  return problems;
}

/** Every file under the entries, with its archive name; directories walked in name order. */
async function collectSources(entries: EstateArchiveEntry[], skip: ReadonlySet<string>): Promise<Source[]> {
  const sources: Source[] = [];
  const taken = new Map<string, string>();
  const add = (absolute: string, name: string): void => {
    const earlier = taken.get(name);
    if (earlier !== undefined) {
      throw new DbopsError(ErrorCode.BadInput, `"${name}" would hold both ${earlier} and ${absolute} in the archive`);
    }
    taken.set(name, absolute);
    sources.push({ absolute, name });
  };
  const walk = async (dir: string, name: string, ancestors: ReadonlySet<string>): Promise<void> => {
    const real = await realpath(dir);
    if (ancestors.has(real)) {
      throw new DbopsError(ErrorCode.BadInput, `${dir} leads back into itself through a symbolic link`);
    }
    const inside = new Set(ancestors).add(real);
    const children = (await readdir(dir)).sort();
    for (const child of children) {
      const absolute = join(dir, child);
      if (skip.has(absolute)) continue;
      const st = await statOf(absolute);
      if (st.isDirectory()) await walk(absolute, `${name}/${child}`, inside);
      else if (st.isFile()) add(absolute, `${name}/${child}`);
      else throw notPackable(absolute);
    }
  };
  for (const entry of entries) {
    const name = archiveName(entry.nameInArchive);
    const absolute = resolve(entry.path);
    const st = await statOf(absolute);
    if (st.isDirectory()) await walk(absolute, name, new Set());
    else if (st.isFile()) add(absolute, name);
    else throw notPackable(absolute);
  }
  return sources;
}

/** A validated archive name: relative, POSIX, no `.`/`..` segments, not the manifest's. */
function archiveName(raw: string): string {
  const name = raw.replace(/\/+$/, '');
  const bad =
    name === '' ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.includes('\0') ||
    posix.normalize(name) !== name ||
    name.split('/').some((s) => s === '.' || s === '..');
  if (bad) {
    throw new DbopsError(
      ErrorCode.BadInput,
      `"${raw}" is not a valid name in the archive: use a relative path such as backups/pg or config/dbops.yaml`,
    );
  }
  if (name === ESTATE_MANIFEST_FILE) {
    throw new DbopsError(ErrorCode.BadInput, `"${raw}": ${ESTATE_MANIFEST_FILE} is the archive's own manifest`);
  }
  return name;
}

async function statOf(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (err) {
    throw new DbopsError(ErrorCode.BadInput, `${path} cannot be archived: ${(err as Error).message}`, { cause: err });
  }
}

function notPackable(path: string): DbopsError {
  return new DbopsError(ErrorCode.BadInput, `${path} is neither a file nor a directory and cannot be archived`);
}

/** SHA-256 and size of a file, streamed. */
async function hashFile(path: string, signal?: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, signal ? { signal } : {}) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** A link cache that never remembers: a file with several hard links is stored as content each time. */
class NoHardLinks extends Map<Parameters<NonNullable<TarOptionsWithAliases['linkCache']>['set']>[0], string> {
  override set(): this {
    return this;
  }
}
