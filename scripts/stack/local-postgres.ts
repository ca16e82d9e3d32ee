/** The local PostgreSQL as the developer scripts (bench, history recorder) use it: a scratch database each. */
import pg from 'pg';

/** The local server's maintenance database, as the superuser the stack expects (trust auth). */
export const LOCAL_PG_ADMIN = 'postgres://root@127.0.0.1:5432/postgres';

/** Runs one statement on the maintenance database. */
export async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client(LOCAL_PG_ADMIN);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Drops (forcing sessions out) and creates database `name`; returns its password-free URL. */
export async function freshDatabase(name: string): Promise<string> {
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${name}`);
  return `postgres://root@127.0.0.1:5432/${name}`;
}
