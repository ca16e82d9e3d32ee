/**
 * quick_check and count(*) of a large SQLite file run on a thread: the activity's event loop keeps turning
 * (heartbeats, workflow tasks) while they work. On the main thread the loop could not turn even once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows, quickCheck } from '../../activities/sqlite/file-thread';

describe('SQLite whole-file reads on a thread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dbops-thread-'));
  const path = join(dir, 'big.db');

  beforeAll(() => {
    const db = new Database(path);
    db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400000)
             INSERT INTO t SELECT i, printf('%0100d', i) FROM n;
             CREATE INDEX t_v ON t (v);`);
    db.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `work` and counts how often the event loop turned before it finished. */
  async function turnsDuring<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
    let turns = 0;
    let running = true;
    const spin = (): void => {
      if (!running) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const value = await work().finally(() => (running = false));
    return { value, turns };
  }

  it('quick_check answers ok while the event loop keeps turning', async () => {
    const { value, turns } = await turnsDuring(() => quickCheck(path));
    expect(value).toBe('ok');
    expect(turns).toBeGreaterThan(1);
  });

  it('count(*) answers the row count while the event loop keeps turning', async () => {
    const { value, turns } = await turnsDuring(() => countRows(path, 't'));
    expect(value).toBe(400_000);
    expect(turns).toBeGreaterThan(1);
  });

  it('a file that is not SQLite fails with SQLite’s own code, carried across the thread', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a database\n'.repeat(100));
    await expect(quickCheck(text)).rejects.toMatchObject({ code: 'SQLITE_NOTADB' });
  });
});
