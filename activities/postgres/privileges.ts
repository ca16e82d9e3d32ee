/**
 * Owners and grants of schemas and tables, read from the catalogs and re-applied with plain GRANT / ALTER
 * … OWNER statements (never by writing catalogs), so that an object that replaces another keeps who may
 * use it. Column-level grants and default privileges are not carried.
 */
import type pg from 'pg';
import { qi, qualified } from './identifiers';

/** Who owns an object and what was granted on it. */
export interface Access {
  owner: string;
  grants: { privilege: string; grantee: string; grantable: boolean }[];
}

/** The owner and grants of a schema, or null when it does not exist. */
export async function schemaAccess(client: pg.PoolClient, schema: string): Promise<Access | null> {
  const { rows } = await client.query<{
    owner: string;
    privilege: string | null;
    grantee: string | null;
    grantable: boolean | null;
  }>(
    `SELECT pg_get_userbyid(n.nspowner) AS owner, a.privilege_type AS privilege,
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
            a.is_grantable AS grantable
       FROM pg_namespace n LEFT JOIN LATERAL aclexplode(n.nspacl) a ON true
      WHERE n.nspname = $1`,
    [schema],
  );
  return collect(rows).get('') ?? null;
}

/** Owner and grants of every table (and view, sequence) in a schema, by name. */
export async function tableAccess(client: pg.PoolClient, schema: string): Promise<Map<string, Access>> {
  const { rows } = await client.query<{
    name: string;
    owner: string;
    privilege: string | null;
    grantee: string | null;
    grantable: boolean | null;
  }>(
    `SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner, a.privilege_type AS privilege,
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
            a.is_grantable AS grantable
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN LATERAL aclexplode(c.relacl) a ON true
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
    [schema],
  );
  return collect(rows);
}

/** Makes `schema` owned and granted as `access` says. */
export async function applySchemaAccess(client: pg.PoolClient, schema: string, access: Access): Promise<void> {
  await client.query(`ALTER SCHEMA ${qi(schema)} OWNER TO ${qi(access.owner)}`);
  for (const grant of access.grants) await client.query(grantSql(grant, `SCHEMA ${qi(schema)}`));
}

/** Makes `schema.table` owned and granted as `access` says. */
export async function applyTableAccess(
  client: pg.PoolClient,
  schema: string,
  table: string,
  access: Access,
): Promise<void> {
  await client.query(`ALTER TABLE ${qualified(schema, table)} OWNER TO ${qi(access.owner)}`);
  for (const grant of access.grants) await client.query(grantSql(grant, `TABLE ${qualified(schema, table)}`));
}

function grantSql(grant: Access['grants'][number], on: string): string {
  const to = grant.grantee === 'PUBLIC' ? 'PUBLIC' : qi(grant.grantee);
  return `GRANT ${grant.privilege} ON ${on} TO ${to}${grant.grantable ? ' WITH GRANT OPTION' : ''}`;
}

function collect(
  rows: { name?: string; owner: string; privilege: string | null; grantee: string | null; grantable: boolean | null }[],
): Map<string, Access> {
  const byName = new Map<string, Access>();
  for (const row of rows) {
    const key = row.name ?? '';
    const access = byName.get(key) ?? { owner: row.owner, grants: [] };
    if (row.privilege && row.grantee)
      access.grants.push({ privilege: row.privilege, grantee: row.grantee, grantable: row.grantable === true });
    byName.set(key, access);
  }
  return byName;
}
