/** The config files an assessment may archive: inside the worker's directory, not hidden, small, secret-free. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkConfigFiles } from '../../activities/assessment/config-files';

const root = mkdtempSync(join(tmpdir(), 'dbops-config-files-'));
const outside = mkdtempSync(join(tmpdir(), 'dbops-outside-'));
mkdirSync(join(root, 'conf'));
writeFileSync(join(root, 'conf', 'postgresql.conf'), 'shared_buffers = 128MB\nmax_connections = 100\n');
writeFileSync(join(root, 'conf', 'app.json'), JSON.stringify({ db: { host: 'db', password: 'hunter2' } }));
writeFileSync(join(root, 'conf', 'worker.env'), 'DBOPS_PASSWORD_LOCAL_PG=hunter2\n');
writeFileSync(join(root, '.env'), 'X=1\n');
writeFileSync(join(outside, 'my.cnf'), '[mysqld]\n');

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('checkConfigFiles', () => {
  it('accepts a plain config file under the worker directory', async () => {
    expect(await checkConfigFiles(['conf/postgresql.conf'], root)).toEqual([join(root, 'conf', 'postgresql.conf')]);
  });

  it('refuses files holding secrets, hidden files and files outside the directory, naming each', async () => {
    await expect(checkConfigFiles(['conf/app.json'], root)).rejects.toThrow(/conf\/app.json holds a password/);
    await expect(checkConfigFiles(['conf/worker.env'], root)).rejects.toThrow(/worker.env holds a password/);
    await expect(checkConfigFiles(['.env'], root)).rejects.toThrow(/hidden file/);
    await expect(checkConfigFiles([join(outside, 'my.cnf')], root)).rejects.toThrow(/outside the worker's directory/);
    await expect(checkConfigFiles(['conf/missing.conf'], root)).rejects.toThrow(/does not exist/);
  });
});
