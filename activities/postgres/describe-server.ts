/** Reads version, database name and size from a PostgreSQL server. */
import type pg from 'pg';
import type { ServerFacts } from '../../common/server-facts';

/** One round trip: version, current database, its size. */
export async function describePostgres(pool: pg.Pool): Promise<ServerFacts> {
  const { rows } = await pool.query<{ version: string; database: string; size: string }>(
    `SELECT current_setting('server_version') AS version,
            current_database() AS database,
            pg_database_size(current_database())::text AS size`,
  );
  const row = rows[0];
  if (!row) throw new Error('PostgreSQL returned no row for the server description');
  return { version: row.version, database: row.database, sizeBytes: Number(row.size) };
}
