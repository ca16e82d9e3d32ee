/**
 * The time-series POC (`runTimeSeriesPoc`) on the machine's real PostgreSQL, which has no TimescaleDB: a database
 * this file creates and drops, a shape like TDengine's `meters` supertable. Proves the native-partitions strategy
 * (one partition per day), that the load lands every row, that the probe percentiles are measured and ordered, and
 * that the scratch schema — the only thing the POC writes — is gone afterwards, also when the run is aborted
 * in the middle of the load.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PocShape, pgTypeForTdengine, runTimeSeriesPoc } from '../../activities/postgres/poc';
import { SERVERS, withPg } from '../support/servers';

const DB = `dbops_poc_test_${randomBytes(4).toString('hex')}`;
const url = `postgres://root@127.0.0.1:5432/${DB}`;
const endpoint = { url, label: 'poc-test' };

/** TDengine's example supertable: `CREATE STABLE meters (ts TIMESTAMP, current FLOAT, voltage INT, phase FLOAT)
 * TAGS (groupid INT, location BINARY(24))`, as `assessTdengine` describes it. */
const METERS: PocShape = {
  name: 'meters',
  columns: [
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'current', type: 'FLOAT' },
    { name: 'voltage', type: 'INT' },
    { name: 'phase', type: 'FLOAT' },
  ],
  tags: [
    { name: 'groupid', type: 'INT' },
    { name: 'location', type: 'BINARY(24)' },
  ],
};

/** Schemas the POC left behind in the test database. */
async function scratchSchemas(): Promise<string[]> {
  return withPg(url, async (c) => {
    const { rows } = await c.query<{ nspname: string }>(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'dbops\\_poc\\_%' ORDER BY 1`,
    );
    return rows.map((r) => r.nspname);
  });
}

/** Relations outside the system schemas: what anything but the scratch schema would add. */
async function userRelations(): Promise<string[]> {
  return withPg(url, async (c) => {
    const { rows } = await c.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1`,
    );
    return rows.map((r) => r.name);
  });
}

describe('runTimeSeriesPoc on PostgreSQL without TimescaleDB', () => {
  beforeAll(async () => {
    await withPg(SERVERS.postgres, (c) => c.query(`CREATE DATABASE ${DB} TEMPLATE template0`));
  });

  afterAll(async () => {
    await withPg(SERVERS.postgres, (c) => c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`));
  });

  it('maps TDengine types to PostgreSQL types', () => {
    const pgOf = (t: string): string => pgTypeForTdengine(t).pg;
    expect(pgOf('TIMESTAMP')).toBe('timestamptz');
    expect(pgOf('BINARY(24)')).toBe('varchar(24)');
    expect(pgOf('VARCHAR(64)')).toBe('varchar(64)');
    expect(pgOf('NCHAR(10)')).toBe('varchar(10)');
    expect(pgOf('FLOAT')).toBe('real');
    expect(pgOf('DOUBLE')).toBe('double precision');
    expect(pgOf('BOOL')).toBe('boolean');
    expect(pgOf('TINYINT')).toBe('smallint');
    expect(pgOf('SMALLINT')).toBe('smallint');
    expect(pgOf('INT')).toBe('integer');
    expect(pgOf('BIGINT')).toBe('bigint');
    expect(pgOf('JSON')).toBe('jsonb');
    expect(pgTypeForTdengine('GEOMETRY(100)')).toEqual({ pg: 'text', unknown: true });
  });

  it('loads a meters-like supertable into daily partitions and times the probes, leaving nothing behind', async () => {
    const before = await userRelations();
    const result = await runTimeSeriesPoc(endpoint, METERS, { rows: 200_000, runs: 5 });

    expect(result.strategy).toBe('native-partitions');
    expect(result.partitions).toBe(7);
    expect(result.rows).toBe(200_000);
    expect(result.schema).toMatch(/^dbops_poc_[0-9a-f]{8}$/);
    expect(result.table).toBe(`"${result.schema}"."meters"`);
    expect(result.insertSeconds).toBeGreaterThan(0);
    expect(result.insertRowsPerSecond).toBeGreaterThan(0);
    expect(result.notes.join('\n')).toMatch(/TimescaleDB .*not (available|installed)/);

    expect(result.queries.map((q) => q.name)).toEqual([
      'last_hour_one_device',
      'day_hourly_by_device',
      'full_range_count',
    ]);
    for (const q of result.queries) {
      expect(q.p50Ms).toBeGreaterThan(0);
      expect(q.p50Ms).toBeLessThanOrEqual(q.p95Ms);
      expect(q.p95Ms).toBeLessThanOrEqual(q.p99Ms);
      expect(q.rows).toBeGreaterThan(0);
    }
    const [lastHour, day, count] = result.queries;
    // 2000 points per device over 7 days: one every 5.04 minutes, so 11 or 12 in an hour.
    expect(lastHour?.rows).toBeGreaterThanOrEqual(11);
    expect(lastHour?.rows).toBeLessThanOrEqual(12);
    expect(day?.rows).toBe(100 * 24); // 100 devices × 24 hourly buckets
    expect(count?.rows).toBe(1);

    expect(await scratchSchemas()).toEqual([]);
    expect(await userRelations()).toEqual(before);
  });

  it('drops the scratch schema when aborted in the middle of the load', async () => {
    // The first INSERT into the POC's table notifies `poc_load` (delivered when that batch commits): the test then
    // aborts while later batches are still to come. The trigger is attached by an event trigger on CREATE TABLE.
    await withPg(url, (c) =>
      c.query(`
        CREATE FUNCTION public.poc_loaded() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('poc_load', TG_TABLE_SCHEMA); RETURN NULL; END $$;
        CREATE FUNCTION public.poc_watch() RETURNS event_trigger LANGUAGE plpgsql AS $$
        DECLARE r record;
        BEGIN
          FOR r IN SELECT d.objid, d.object_identity FROM pg_event_trigger_ddl_commands() d
                     JOIN pg_class c ON c.oid = d.objid
                    WHERE d.object_type = 'table' AND c.relkind = 'p'
                      AND d.schema_name LIKE 'dbops\\_poc\\_%' LOOP
            EXECUTE format('CREATE TRIGGER poc_loaded AFTER INSERT ON %s FOR EACH STATEMENT '
                           'EXECUTE FUNCTION public.poc_loaded()', r.object_identity);
          END LOOP;
        END $$;
        CREATE EVENT TRIGGER poc_watch ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION public.poc_watch();
      `),
    );
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    try {
      const controller = new AbortController();
      let loadedSchema: string | undefined;
      listener.on('notification', (n) => {
        if (n.channel !== 'poc_load' || loadedSchema !== undefined) return;
        loadedSchema = n.payload;
        controller.abort(new Error('operator cancelled the POC'));
      });
      await listener.query('LISTEN poc_load');

      const started = Date.now();
      await expect(
        runTimeSeriesPoc(endpoint, METERS, { rows: 20_000_000, runs: 5, signal: controller.signal }),
      ).rejects.toThrow('operator cancelled the POC');
      expect(Date.now() - started).toBeLessThan(20_000); // 20 M rows would take minutes: it stopped at the abort
      expect(loadedSchema).toMatch(/^dbops_poc_[0-9a-f]{8}$/);
      expect(await scratchSchemas()).toEqual([]);
    } finally {
      await listener.end();
      await withPg(url, (c) =>
        c.query(
          'DROP EVENT TRIGGER IF EXISTS poc_watch; DROP FUNCTION IF EXISTS public.poc_watch(), public.poc_loaded()',
        ),
      );
    }
  });

  it('refuses bad options before touching the server', async () => {
    await expect(runTimeSeriesPoc(endpoint, METERS, { rows: 0, runs: 5 })).rejects.toThrow(/rows/);
    await expect(runTimeSeriesPoc(endpoint, METERS, { rows: 10, runs: 5, days: 0 })).rejects.toThrow(/days/);
    expect(await scratchSchemas()).toEqual([]);
  });
});
