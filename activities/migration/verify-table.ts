/**
 * Step 6: the content check (docs/architecture.md: verification compares content), every row, independent
 * of the COPY encoder. The source side: each row's canonical text built by SQLite and hashed on the read
 * threads while the import read the backup (one checksum per chunk, in the ledger). The target side: the
 * same canonical text built by PostgreSQL from the typed columns and hashed and summed by PostgreSQL itself
 * (canonical-target.ts), so no row travels back to Node. Row counts and checksums must match, the chunks
 * must cover every row of the source table, and every column must have the type the plan chose. After a
 * mismatch, one checksum per column on both sides names the columns that differ.
 */
import type pg from 'pg';
import { countRows } from '../sqlite/file-thread';
import { qualified } from '../postgres/identifiers';
import type { TableVerification } from '../../common/contracts/migration';
import type { TablePlan } from '../../common/contracts/migration-plan';
import { columnTypeProblems, targetChecksum, targetColumnChecksums } from './canonical-target';
import { parseRowHash, RowHashSum } from './row-hash';
import { sourceColumnChecksums } from './source-thread';

/** Compares one table on both sides (the PostgreSQL half and the source count run at once). */
export async function verifyTable(
  pool: pg.Pool,
  schema: string,
  backupPath: string,
  table: TablePlan,
  signal?: AbortSignal,
): Promise<TableVerification> {
  const [source, target, types] = await Promise.all([
    digestSource(pool, schema, backupPath, table, signal),
    targetChecksum(pool, schema, table, signal),
    columnTypeProblems(pool, schema, table),
  ]);
  let problem = source.problem ?? (types.length > 0 ? types.join('; ') : undefined);
  const match = problem === undefined && source.rows === target.rows && source.value === target.value;
  let columns: string[] | undefined;
  if (!match && problem === undefined && source.rows === target.rows) {
    columns = await differingColumns(pool, schema, backupPath, table, signal);
    problem = `column(s) ${columns.join(', ')} differ`;
  }
  return {
    table: table.name,
    rowsSource: source.rows,
    rowsTarget: target.rows,
    checksumSource: source.value,
    checksumTarget: target.value,
    match,
    ...(problem ? { problem } : {}),
    ...(columns ? { differingColumns: columns } : {}),
  };
}

/**
 * The SQLite side: the checksums the import computed for each chunk as it read them (recorded in the ledger
 * with the chunk, in the same transaction), summed; and the table's row count read from the backup itself,
 * so a row that no chunk covered is still noticed.
 */
async function digestSource(
  pool: pg.Pool,
  schema: string,
  backupPath: string,
  table: TablePlan,
  signal?: AbortSignal,
): Promise<{ rows: number; value: string; problem?: string }> {
  const rows = await countRows(backupPath, table.name, signal); // on a thread: a full scan on a large table
  const ledger = await pool.query<{ chunk: number; source_digest: string }>(
    `SELECT chunk, source_digest FROM ${qualified(schema, '__dbops_chunks')} WHERE table_name = $1`,
    [table.name],
  );
  const sum = new RowHashSum();
  const older = ledger.rows.filter((r) => parseRowHash(r.source_digest) === null).map((r) => r.chunk);
  for (const row of ledger.rows) if (!older.includes(row.chunk)) sum.merge(row.source_digest);
  const recorded = new Set(ledger.rows.map((r) => r.chunk));
  const missing = table.chunks.filter((c) => !recorded.has(c.index)).map((c) => c.index);
  const problem =
    missing.length > 0
      ? `chunk(s) ${missing.join(', ')} have no import record`
      : older.length > 0
        ? `chunk(s) ${older.join(', ')} were imported by an older dbops whose checksums cannot be compared; run the migration again`
        : sum.rows !== rows
          ? `the imported chunks cover ${sum.rows} of the source's ${rows} rows`
          : undefined;
  return { rows, value: sum.value, ...(problem ? { problem } : {}) };
}

/**
 * The columns to blame (only run after a mismatch): those whose values differ, else the one whose removal
 * makes the rows match again (values swapped between rows), each with its target type.
 */
async function differingColumns(
  pool: pg.Pool,
  schema: string,
  backupPath: string,
  table: TablePlan,
  signal?: AbortSignal,
): Promise<string[]> {
  for (const mode of ['each', 'without'] as const) {
    const [source, target] = await Promise.all([
      sourceColumnChecksums(backupPath, table, mode, signal),
      targetColumnChecksums(pool, schema, table, mode, signal),
    ]);
    // each: the columns whose own checksums differ; without: the columns whose removal makes the rows
    // match again (all of them would blame none).
    const blamed =
      mode === 'each'
        ? table.columns.filter((_, i) => source[i] !== target[i])
        : table.columns.filter((_, i) => source[i] === target[i]);
    if (blamed.length > 0 && (mode === 'each' || blamed.length < table.columns.length))
      return blamed.map((c) => `${c.name} (${c.targetType})`);
  }
  return ['(no single column: the rows differ as wholes)'];
}
