/**
 * Assessment of one SQLite file for `assessEstate`: integrity (`PRAGMA quick_check`), journal mode, free pages
 * (fragmentation), tables without a primary key or without rowid, and volume per table (exact `count(*)`, bytes
 * per table and its indexes from the `dbstat` virtual table when the library has it).
 *
 * Every read is whole-file work on a large database, so it all runs on a thread of its own (this file is also
 * that thread's script, started through read-thread.ts): the activity's thread keeps heartbeating. The file is
 * opened read-only and every read happens in one read transaction, so the numbers describe one state of it.
 * A file that cannot be opened as a database is reported down (`sqlite.reachable` critical), never thrown.
 */
import { stat } from 'node:fs/promises';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ASSESSMENT_RULES, type AssessmentRules } from '../../common/assessment/rules';
import type { CheckResult, TableVolume } from '../../common/contracts/assessment';
import { redactSecrets } from '../../common/secret-guard';
import type { AssessOptions, EngineAssessment } from '../mysql/assess';
import { quoteIdent } from './identifiers';
import { runThreadJob, threadErrorMessage, threadScript } from './read-thread';
import { finder } from '../../common/assessment/findings';
import { formatBytes } from '../../common/format';

const SCRIPT = threadScript(__dirname, 'activities/sqlite/assess');
/** Names listed in one finding's evidence; the count says how many there are. */
const LIST_NAMES = 20;

/** The thread's job. */
interface InspectJob {
  op: 'inspect';
  path: string;
}

/** What the thread reads from the file. */
interface Inspection {
  sqliteVersion: string;
  /** 'ok', the problems found on one line, or the error quick_check itself raised. */
  quickCheck: string;
  journalMode: string;
  pageSize: number;
  pageCount: number;
  freelistCount: number;
  /** `rows` is null when counting failed (see `countErrors`). */
  tables: { name: string; withoutRowid: boolean; hasPrimaryKey: boolean; rows: number | null }[];
  countErrors?: Record<string, string>;
  /** Bytes per table of the table b-tree and of its indexes; null when the library has no dbstat. */
  bytes: Record<string, { data: number; index: number }> | null;
  dbstatError?: string;
}

/**
 * Health findings, volume and facts of the SQLite file at `path`. Never throws for the file's state: a missing
 * or unreadable file, or one that is not a database, comes back as `up: false` with a critical
 * `sqlite.reachable`. Rejects only when `options.signal` aborts (the thread is stopped).
 */
export async function assessSqlite(
  path: string,
  target: string,
  rules: AssessmentRules = ASSESSMENT_RULES,
  options: AssessOptions = {},
): Promise<EngineAssessment> {
  options.signal?.throwIfAborted();
  const make = finder('sqlite', target);
  let inspection: Inspection;
  try {
    if (path === '') throw new Error('no file path is configured for this target');
    const file = await stat(path);
    if (!file.isFile()) throw new Error(`${path} is not a regular file`);
    const job: InspectJob = { op: 'inspect', path };
    inspection = (await runThreadJob(SCRIPT, job, () => undefined, options.signal)) as Inspection;
  } catch (err) {
    options.signal?.throwIfAborted();
    const message = redactSecrets(`${path || '(no path)'}: ${(err as Error).message ?? String(err)}`);
    return {
      up: false,
      findings: [
        make('sqlite.reachable', 'availability', 'File opens as a SQLite database', {
          severity: 'critical',
          value: 'down',
          evidence: message,
          recommendation: 'Fix the path or the file permissions on the worker, or restore the file from a backup.',
        }),
      ],
      facts: { error: message },
    };
  }

  const i = inspection;
  const fileBytes = i.pageCount * i.pageSize;
  const findings: CheckResult[] = [
    make('sqlite.reachable', 'availability', 'File opens as a SQLite database', {
      severity: 'ok',
      value: 'up',
      evidence: `${path} opened read-only (${formatBytes(fileBytes)}, SQLite ${i.sqliteVersion})`,
    }),
    make('sqlite.integrity', 'durability', 'Integrity (PRAGMA quick_check)', {
      severity: i.quickCheck === 'ok' ? 'ok' : 'critical',
      value: i.quickCheck === 'ok' ? 'ok' : 'corrupt',
      evidence: `quick_check: ${i.quickCheck.slice(0, 500)}`,
      recommendation:
        'The file is damaged: restore it from a backup, or salvage what is readable with the sqlite3 shell (.recover) into a new file.',
    }),
  ];

  const mode = i.journalMode.toLowerCase();
  const unsafe = mode === 'off' || mode === 'memory';
  findings.push(
    make('sqlite.journal_mode', 'durability', 'Journal mode', {
      severity: unsafe ? 'warning' : 'ok',
      value: mode,
      threshold: 'warn for off / memory (a crash mid-write can corrupt the file)',
      evidence:
        mode === 'wal'
          ? 'write-ahead log: readers do not block the writer'
          : unsafe
            ? `journal_mode ${mode}: no rollback journal on disk`
            : `rollback journal (${mode}): durable; WAL would let readers run during writes`,
      recommendation: 'Use PRAGMA journal_mode=WAL (or DELETE) in the application that writes the file.',
    }),
  );

  // rules.json has no SQLite section: free pages are judged like MySQL's free space inside table files.
  const freeBytes = i.freelistCount * i.pageSize;
  const freePct = i.pageCount > 0 ? round((i.freelistCount / i.pageCount) * 100) : 0;
  const frag = rules.mysql;
  findings.push(
    make('sqlite.fragmentation', 'maintenance', 'Free pages inside the file', {
      severity: freePct > frag.fragmentationWarnPct && freeBytes > frag.fragmentationMinBytes ? 'warning' : 'ok',
      value: freePct,
      threshold: `warn: free pages > ${frag.fragmentationWarnPct} % and > ${formatBytes(frag.fragmentationMinBytes)}`,
      evidence: `${i.freelistCount} free of ${i.pageCount} pages of ${i.pageSize} bytes (${formatBytes(freeBytes)} reclaimable)`,
      recommendation: 'Run VACUUM in a quiet hour (it rewrites the file; needs as much free disk as the file).',
    }),
  );

  const noPk = i.tables.filter((t) => !t.hasPrimaryKey).map((t) => t.name);
  findings.push(
    make('sqlite.tables_without_pk', 'schema', 'Tables without a primary key', {
      severity: noPk.length > 0 ? 'warning' : 'ok',
      value: noPk.length,
      count: noPk.length,
      threshold: 'warn ≥ 1',
      evidence:
        noPk.length > 0
          ? `no primary key: ${listNames(noPk)}`
          : `every one of ${i.tables.length} tables has a primary key`,
      recommendation:
        'Declare a primary key: rows are otherwise identified by a rowid that VACUUM may renumber, and a migration cannot verify them one by one.',
    }),
  );
  const withoutRowid = i.tables.filter((t) => t.withoutRowid).map((t) => t.name);
  findings.push(
    make('sqlite.without_rowid', 'schema', 'WITHOUT ROWID tables', {
      severity: 'ok',
      value: withoutRowid.length,
      count: withoutRowid.length,
      evidence:
        withoutRowid.length > 0
          ? `clustered on their primary key: ${listNames(withoutRowid)}`
          : 'no WITHOUT ROWID tables (all tables are rowid tables)',
    }),
  );

  // A table that could not be counted (damaged) is left out of the volume; facts.countErrors names it.
  const tables: TableVolume[] = i.tables.flatMap((t) =>
    t.rows === null
      ? []
      : [
          {
            name: t.name,
            rows: t.rows,
            rowsExact: true,
            dataBytes: i.bytes?.[t.name]?.data ?? 0,
            indexBytes: i.bytes?.[t.name]?.index ?? 0,
          },
        ],
  );
  return {
    up: true,
    version: i.sqliteVersion,
    findings,
    volume: { target, engine: 'sqlite', totalBytes: fileBytes, tables },
    facts: {
      sqliteVersion: i.sqliteVersion,
      journalMode: mode,
      pageSize: i.pageSize,
      pageCount: i.pageCount,
      freelistCount: i.freelistCount,
      fileBytes,
      tables: i.tables.length,
      ...(i.countErrors
        ? {
            countErrors: Object.entries(i.countErrors)
              .map(([t, e]) => `${t}: ${e}`)
              .join('; '),
          }
        : {}),
      bytesPerTable: i.bytes
        ? 'dbstat'
        : `unknown: the SQLite library has no dbstat (${i.dbstatError ?? 'not compiled in'}); table bytes are 0`,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Thread side

/** Everything the assessment reads, in one read transaction of a read-only connection. */
function inspect(path: string): Inspection {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const pragma = (name: string): unknown => db.pragma(name, { simple: true });
    // The first read: a file that is not a database fails here (SQLITE_NOTADB), before anything is reported.
    const journalMode = String(pragma('journal_mode'));
    // One read transaction for every read below. Ended with ROLLBACK (it wrote nothing): on a damaged file
    // SQLite keeps reporting the corruption on COMMIT, which must not cost the findings already read.
    db.exec('BEGIN');
    try {
      let quickCheck: string;
      try {
        quickCheck = (db.pragma('quick_check') as { quick_check: string }[])
          .map((r) => r.quick_check)
          .join('; ')
          .replace(/\s*\n\s*/g, '; ');
      } catch (err) {
        quickCheck = `quick_check failed: ${(err as Error).message}`;
      }
      const schema = db
        .prepare(
          `SELECT type, name, tbl_name AS tbl, sql FROM sqlite_schema
            WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
               OR type = 'index' AND name LIKE 'sqlite\\_autoindex\\_%' ESCAPE '\\'`,
        )
        .all() as { type: string; name: string; tbl: string; sql: string | null }[];
      const tableNames = schema
        .filter((s) => s.type === 'table' && !/^\s*CREATE\s+VIRTUAL\b/i.test(s.sql ?? ''))
        .map((s) => s.name)
        .sort();
      const withoutRowid = withoutRowidTables(db, schema);
      const countErrors: Record<string, string> = {};
      const tables = tableNames.map((name) => {
        const columns = db.prepare(`PRAGMA table_info(${quoteIdent(name)})`).all() as { pk: number }[];
        let rows: number | null = null;
        try {
          rows = Number(
            db
              .prepare(`SELECT count(*) FROM ${quoteIdent(name)}`)
              .pluck()
              .get(),
          );
        } catch (err) {
          countErrors[name] = (err as Error).message; // a damaged b-tree: quick_check says more
        }
        return { name, withoutRowid: withoutRowid.has(name), hasPrimaryKey: columns.some((c) => c.pk > 0), rows };
      });
      let bytes: Inspection['bytes'] = null;
      let dbstatError: string | undefined;
      try {
        const pages = db.prepare(`SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name`).all() as {
          name: string;
          bytes: number;
        }[];
        const indexOf = new Map(schema.filter((s) => s.type === 'index').map((s) => [s.name, s.tbl]));
        bytes = Object.fromEntries(tableNames.map((t) => [t, { data: 0, index: 0 }]));
        for (const page of pages) {
          const owner = indexOf.get(page.name);
          if (owner !== undefined && bytes[owner]) bytes[owner].index += Number(page.bytes);
          else if (bytes[page.name]) bytes[page.name]!.data += Number(page.bytes);
        }
      } catch (err) {
        dbstatError = (err as Error).message;
      }
      return {
        sqliteVersion: String(db.prepare('SELECT sqlite_version()').pluck().get()),
        quickCheck,
        journalMode,
        pageSize: Number(pragma('page_size')),
        pageCount: Number(pragma('page_count')),
        freelistCount: Number(pragma('freelist_count')),
        tables,
        bytes,
        ...(dbstatError !== undefined ? { dbstatError } : {}),
        ...(Object.keys(countErrors).length > 0 ? { countErrors } : {}),
      };
    } finally {
      try {
        if (db.inTransaction) db.exec('ROLLBACK');
      } catch {
        // closing the connection below ends the transaction anyway
      }
    }
  } finally {
    db.close();
  }
}

/** WITHOUT ROWID tables: from PRAGMA table_list (SQLite 3.37+), else from their CREATE statement. */
function withoutRowidTables(db: Database.Database, schema: { type: string; name: string; sql: string | null }[]) {
  try {
    const list = db.prepare(`PRAGMA main.table_list`).all() as { name: string; wr: number }[];
    return new Set(list.filter((t) => t.wr === 1).map((t) => t.name));
  } catch {
    return new Set(
      schema
        .filter((s) => s.type === 'table' && /\)\s*(STRICT\s*,\s*)?WITHOUT\s+ROWID\b/i.test(s.sql ?? ''))
        .map((s) => s.name),
    );
  }
}

if (!isMainThread && parentPort && (workerData as InspectJob | null)?.op === 'inspect') {
  try {
    parentPort.postMessage({ type: 'end', result: inspect((workerData as InspectJob).path) });
  } catch (err) {
    parentPort.postMessage(threadErrorMessage(err));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Findings and helpers

function listNames(names: string[]): string {
  const shown = names.slice(0, LIST_NAMES).join(', ');
  return names.length > LIST_NAMES ? `${shown} … and ${names.length - LIST_NAMES} more` : shown;
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
