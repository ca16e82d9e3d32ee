/** Reads version, database name and size from a MySQL or MariaDB server. */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { ServerFacts } from '../../common/server-facts';

/** One round trip: version, current database, its data + index size from information_schema. */
export async function describeMysql(pool: Pool): Promise<ServerFacts> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT VERSION() AS version, DATABASE() AS db,
            (SELECT COALESCE(SUM(data_length + index_length), 0)
               FROM information_schema.tables WHERE table_schema = DATABASE()) AS size`,
  );
  const row = rows[0];
  if (!row) throw new Error('MySQL returned no row for the server description');
  return { version: String(row.version), database: String(row.db ?? ''), sizeBytes: Number(row.size) };
}
