/**
 * The migration plan: what export decided and every later step (and the workflow, as a type) works from.
 * It travels through workflow history, so it carries names, types, counts and decisions — never table data.
 */

/** How values are converted on the way in (and normalised for verification). */
export type TargetKind =
  'bigint' | 'boolean' | 'double' | 'numeric' | 'text' | 'jsonb' | 'timestamptz' | 'date' | 'bytea';

/** Something the source has that the run does not create, and why. */
export interface NotMigrated {
  kind: string;
  name: string;
  why: string;
}

/** One target column. */
export interface ColumnPlan {
  name: string;
  sourceType: string;
  targetType: string;
  kind: TargetKind;
  reason: string;
  notNull: boolean;
  /** PostgreSQL DEFAULT expression, or null. */
  defaultSql: string | null;
  identity: boolean;
  /** timestamptz only: the IANA zone values without an offset are read in (absent: UTC). */
  timeZone?: string;
  /** text and numeric: whether the column holds REAL values (those alone need JavaScript to be spelled exactly). */
  reals?: boolean;
}

/** A key range [from, to], both inclusive, of the rowid or of `column`, or the whole table when absent. */
export interface ChunkPlan {
  index: number;
  from?: string;
  to?: string;
  /** The integer column the range is on (the leading primary-key column of a WITHOUT ROWID table), else the rowid. */
  column?: string;
}

/** One index or key to build after the load. */
export interface IndexPlan {
  /** Name in PostgreSQL (unique in the schema, ≤ 63 bytes). */
  name: string;
  sourceName: string;
  kind: 'primary' | 'unique_constraint' | 'index';
  unique: boolean;
  /** Key list, already PostgreSQL SQL (quoted columns, expressions, DESC). */
  keys: string[];
  where: string | null;
  note?: string;
  /** Index method when not btree (the GIN seed extras). */
  method?: 'gin';
}

/** One foreign key to add after the load. */
export interface ForeignKeyPlan {
  name: string;
  columns: string[];
  parentTable: string;
  parentColumns: string[];
  onDelete: string;
  onUpdate: string;
  /** `DEFERRABLE INITIALLY DEFERRED`, `DEFERRABLE`, or null, as declared in SQLite. */
  deferral: string | null;
  /** Orphan rows found in the source: the key is added NOT VALID and the rows are reported. */
  orphans: number;
  orphanSample: string[];
}

/** One table. */
export interface TablePlan {
  name: string;
  columns: ColumnPlan[];
  withoutRowid: boolean;
  rowidAlias: string | null;
  rowCount: number;
  chunks: ChunkPlan[];
  /** Value the identity sequence is set to after the load (max of sqlite_sequence.seq and max(id)). */
  sequenceValue: string | null;
  indexes: IndexPlan[];
  foreignKeys: ForeignKeyPlan[];
  checks: string[];
  /** Columns named updated_at that get a BEFORE UPDATE trigger setting now(). */
  updatedAtColumns: string[];
  /** Every INTEGER value is within ±2^53, so rows can be read as plain numbers (faster than BigInt). */
  integersFitDouble?: boolean;
}

/** The whole plan. */
export interface MigrationPlan {
  tables: TablePlan[];
  views: { name: string; sql: string }[];
  /** Objects that cannot be migrated, and why (triggers, virtual tables…). */
  notMigrated: NotMigrated[];
  warnings: string[];
  /** Problems that stop the run before the target is touched. */
  fatal: string[];
  /** CPUs of the worker that planned (the default concurrency follows it: more would only cost memory). */
  hostParallelism?: number;
}
