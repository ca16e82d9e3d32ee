/**
 * The estate archive on a temporary tree shaped like the real thing (a backup folder with its manifest.json and
 * dump files, a TDengine export, a configuration file): it packs, reads back whole, carries a MANIFEST.json that
 * lists every file with its SHA-256, and any damage to the `.tar.gz` — one flipped byte, a truncation — fails the
 * check with problems that say what is wrong.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { list, type ReadEntry } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ESTATE_MANIFEST_FILE,
  packEstateArchive,
  verifyEstateArchive,
  type EstateArchive,
} from '../../activities/files/estate-archive';
import { DbopsError, ErrorCode } from '../../common/errors';

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Every entry of a .tar.gz with its content. */
async function readArchive(path: string): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  await list({
    file: path,
    onReadEntry: (entry: ReadEntry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => entries.set(entry.path, Buffer.concat(chunks)));
    },
  });
  return entries;
}

let root: string;
let tree: { backup: string; tdengine: string; config: string };
const contents = new Map<string, Buffer>();

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'dbops-estate-'));
  contents.clear();
  const backup = join(root, 'artifacts', 'backups', 'local_pg', '20261130T030000Z');
  mkdirSync(join(backup, 'extra'), { recursive: true });
  const put = (path: string, data: Buffer | string, name: string): void => {
    writeFileSync(path, data);
    contents.set(name, Buffer.from(data));
  };
  // Random bytes do not compress: the archive is large enough for damage in its middle to hit file data.
  put(join(backup, 'app.dump'), randomBytes(200_000), 'backups/local_pg/20261130T030000Z/app.dump');
  put(
    join(backup, 'globals.sql.gz'),
    gzipSync('CREATE ROLE app;\n'),
    'backups/local_pg/20261130T030000Z/globals.sql.gz',
  );
  put(join(backup, 'extra', 'zeros.bin'), Buffer.alloc(3_000_000), 'backups/local_pg/20261130T030000Z/extra/zeros.bin');
  put(
    join(backup, 'manifest.json'),
    JSON.stringify({ backupId: 'local_pg/20261130T030000Z', files: ['app.dump', 'globals.sql.gz'] }),
    'backups/local_pg/20261130T030000Z/manifest.json',
  );
  const tdengine = join(root, 'tdengine');
  mkdirSync(tdengine);
  put(join(tdengine, 'tdengine-schema.sql'), 'CREATE DATABASE `power`;\n', 'tdengine/tdengine-schema.sql');
  const config = join(root, 'dbops.yaml');
  put(config, 'artifactDir: ./artifacts\n', 'config/dbops.yaml');
  tree = { backup: join(root, 'artifacts', 'backups'), tdengine, config };
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

async function pack(out = join(root, 'out', 'backup_20261130T040000Z.tar.gz')): Promise<EstateArchive> {
  return packEstateArchive(
    out,
    [
      { path: tree.backup, nameInArchive: 'backups' },
      { path: tree.tdengine, nameInArchive: 'tdengine' },
      { path: tree.config, nameInArchive: 'config/dbops.yaml' },
    ],
    { kind: 'dbops-estate-backup', timestamp: '20261130T040000Z', targets: ['local_pg', 'tdengine'] },
  );
}

describe('estate archive', () => {
  it('packs every file of every entry, with its own hash, and verifies', async () => {
    const archive = await pack();

    // In the order of the entries; a directory's files in name order.
    expect(archive.files.map((f) => f.name)).toEqual([
      'backups/local_pg/20261130T030000Z/app.dump',
      'backups/local_pg/20261130T030000Z/extra/zeros.bin',
      'backups/local_pg/20261130T030000Z/globals.sql.gz',
      'backups/local_pg/20261130T030000Z/manifest.json',
      'tdengine/tdengine-schema.sql',
      'config/dbops.yaml',
    ]);
    for (const file of archive.files) {
      const data = contents.get(file.name)!;
      expect(file).toEqual({ name: file.name, bytes: data.length, sha256: sha256(data) });
    }
    const bytes = readFileSync(archive.path);
    expect(archive.bytes).toBe(bytes.length);
    expect(archive.sha256).toBe(sha256(bytes));
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    // Written through a .part file that is gone once the archive is in place.
    expect(readdirSync(join(root, 'out'))).toEqual(['backup_20261130T040000Z.tar.gz']);

    expect(await verifyEstateArchive(archive.path, archive)).toEqual({ ok: true, problems: [] });
  });

  it('carries MANIFEST.json first: the given manifest plus every file with its size and sha256', async () => {
    const archive = await pack();
    const entries = await readArchive(archive.path);

    expect([...entries.keys()][0]).toBe(ESTATE_MANIFEST_FILE);
    expect([...entries.keys()].slice(1).sort()).toEqual([...contents.keys()].sort());
    // Compared by hash: a deep equality of megabyte buffers is needlessly slow.
    for (const [name, data] of contents) expect(sha256(entries.get(name)!)).toBe(sha256(data));

    const manifest = JSON.parse(entries.get(ESTATE_MANIFEST_FILE)!.toString('utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      kind: 'dbops-estate-backup',
      timestamp: '20261130T040000Z',
      targets: ['local_pg', 'tdengine'],
    });
    expect(manifest['files']).toEqual(archive.files);
    for (const [name, data] of contents) {
      expect(manifest['files']).toContainEqual({ name, bytes: data.length, sha256: sha256(data) });
    }
  });

  it('fails verification when one byte of the archive is flipped', async () => {
    const archive = await pack();
    const bytes = readFileSync(archive.path);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(archive.path, bytes);

    const check = await verifyEstateArchive(archive.path, archive);

    expect(check.ok).toBe(false);
    expect(check.problems[0]).toMatch(/^the archive \(\d+ bytes\) hashes to sha256 [0-9a-f]{64}, expected /);
    // The damage is also found in the content, not only in the archive's hash.
    expect(check.problems[1]).toMatch(/^the archive cannot be read to its end: /);
  });

  it('fails verification when the archive is truncated, naming the files it lost', async () => {
    const archive = await pack();
    truncateSync(archive.path, Math.floor(archive.bytes / 2));

    const check = await verifyEstateArchive(archive.path, archive);

    expect(check.ok).toBe(false);
    expect(check.problems.join('\n')).toMatch(/hashes to sha256 .* it was altered or truncated/);
    expect(check.problems.join('\n')).toMatch(/cannot be read to its end|Truncated input/);
    // The file cut in the middle and the ones after it are named.
    expect(check.problems.some((p) => /bytes read, expected/.test(p))).toBe(true);
    expect(check.problems).toContain('config/dbops.yaml: not reached (the archive stops being readable before it)');
  });

  it('fails verification when the expected list disagrees with the archive', async () => {
    const archive = await pack();
    const [first, ...rest] = archive.files;
    const altered = { ...first!, sha256: '0'.repeat(64) };

    const check = await verifyEstateArchive(archive.path, {
      sha256: archive.sha256,
      files: [altered, ...rest, { name: 'backups/other.dump', bytes: 1, sha256: '1'.repeat(64) }],
    });

    expect(check.ok).toBe(false);
    expect(check.problems).toContain(`${first!.name}: sha256 ${first!.sha256}, expected ${'0'.repeat(64)}`);
    expect(check.problems).toContain('backups/other.dump: missing from the archive');
    expect(check.problems).toContain(`${ESTATE_MANIFEST_FILE}: does not list backups/other.dump`);
  });

  it('reports a missing archive as a problem, not an exception', async () => {
    const check = await verifyEstateArchive(join(root, 'nope.tar.gz'), { sha256: '0'.repeat(64), files: [] });
    expect(check.ok).toBe(false);
    expect(check.problems[0]).toMatch(/nope\.tar\.gz cannot be read: ENOENT/);
  });

  it('refuses unsafe or clashing names and missing entries, leaving nothing behind', async () => {
    const out = join(root, 'out', 'a.tar.gz');
    const attempt = async (entries: { path: string; nameInArchive: string }[]): Promise<DbopsError> => {
      const err = await packEstateArchive(out, entries, {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DbopsError);
      return err as DbopsError;
    };
    for (const name of ['../etc/passwd', '/abs', 'a/./b', '', ESTATE_MANIFEST_FILE]) {
      expect((await attempt([{ path: tree.config, nameInArchive: name }])).code).toBe(ErrorCode.BadInput);
    }
    const clash = await attempt([
      { path: tree.config, nameInArchive: 'config/x' },
      { path: join(tree.tdengine, 'tdengine-schema.sql'), nameInArchive: 'config/x' },
    ]);
    expect(clash.message).toMatch(/"config\/x" would hold both/);
    expect((await attempt([{ path: join(root, 'absent'), nameInArchive: 'absent' }])).code).toBe(ErrorCode.BadInput);
    expect(() => readdirSync(join(root, 'out'))).toThrow(/ENOENT/);
  });
});
