/**
 * Opt-in live test of the TDengine REST client and assessment against a real taosAdapter, for the parts a stub
 * cannot prove (what the server really sends). Skipped unless TDENGINE_URL is set, e.g.
 * `TDENGINE_URL=http://127.0.0.1:6041 TDENGINE_PASSWORD=taosdata npx vitest run --project integration test/integration/tdengine-live.test.ts`
 * (the password may also be in the URL). Creates one scratch database `dbops_live_<random>` and drops it again.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessTdengine, tdengineLivePatterns } from '../../activities/tdengine/assess';
import { type TdengineEndpoint, TdengineRest } from '../../activities/tdengine/rest';

const url = process.env.TDENGINE_URL;

describe.skipIf(!url)('TDengine REST against a live server (TDENGINE_URL)', () => {
  const endpoint: TdengineEndpoint = {
    url: url ?? '',
    ...(process.env.TDENGINE_PASSWORD !== undefined ? { password: process.env.TDENGINE_PASSWORD } : {}),
  };
  const db = `dbops_live_${randomBytes(4).toString('hex')}`;
  let client: TdengineRest;

  beforeAll(async () => {
    client = new TdengineRest(endpoint);
    await client.query(`CREATE DATABASE ${db} PRECISION 'us'`);
    await client.query(
      `CREATE STABLE ${db}.meters (ts TIMESTAMP, current FLOAT, big BIGINT, bin VARBINARY(8)) TAGS (location VARCHAR(24), groupid INT)`,
    );
    await client.query(
      `INSERT INTO ${db}.d1 USING ${db}.meters TAGS ('SF', 2) VALUES (1704067200123456, 10.5, 9223372036854775807, '\\x7f8290')`,
    );
  });

  afterAll(async () => {
    await client?.query(`DROP DATABASE IF EXISTS ${db}`);
  });

  it('types what the server sends: microsecond timestamp, BIGINT beyond 2^53, VARBINARY as hex, tags', async () => {
    const { columns, rows } = await client.query('SELECT ts, current, big, bin, location, groupid FROM meters', db);
    expect(columns.map((c) => [c.name, c.type])).toEqual([
      ['ts', 'TIMESTAMP'],
      ['current', 'FLOAT'],
      ['big', 'BIGINT'],
      ['bin', 'VARBINARY'],
      ['location', 'VARCHAR'],
      ['groupid', 'INT'],
    ]);
    expect(rows).toEqual([
      {
        ts: '2024-01-01T00:00:00.123456Z',
        current: 10.5,
        big: '9223372036854775807',
        bin: '7f8290',
        location: 'SF',
        groupid: 2,
      },
    ]);
  });

  it('reports a syntax error as BadInput with the server code', async () => {
    await expect(client.query('SELEC 1')).rejects.toMatchObject({
      code: 'DBOPS_BAD_INPUT',
      message: expect.stringMatching(/\(code 0x[0-9A-F]{4}\)$/) as unknown as string,
    });
  });

  it('assesses the server: up, the scratch supertable counted exactly with its columns and tags', async () => {
    const result = await assessTdengine(endpoint, 'live');
    expect(result.up).toBe(true);
    expect(result.version).toMatch(/^\d+\.\d+/);
    expect(result.findings.find((f) => f.id === 'td.reachable')?.severity).toBe('ok');
    expect(result.supertables.find((s) => s.db === db)).toEqual({
      db,
      name: 'meters',
      rows: 1,
      rowsExact: true,
      columns: [
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'current', type: 'FLOAT' },
        { name: 'big', type: 'BIGINT' },
        { name: 'bin', type: 'VARBINARY(8)' },
      ],
      tags: [
        { name: 'location', type: 'VARCHAR(24)' },
        { name: 'groupid', type: 'INT' },
      ],
    });
    expect(Array.isArray(await tdengineLivePatterns(endpoint))).toBe(true);
  });
});
