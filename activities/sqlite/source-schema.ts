/** What discovery reads from a SQLite database: the shapes shared by discovery, planning and the report. */

/** One column as SQLite declares it (PRAGMA table_xinfo). */
export interface SourceColumn {
  name: string;
  /** The declared type as written (`VARCHAR(50)`, `unsigned big int`, `` for none). */
  declaredType: string;
  notNull: boolean;
  /** The DEFAULT expression as SQLite stores it, or null. */
  defaultSql: string | null;
  /** 1-based position in the primary key, 0 when not part of it. */
  pkPosition: number;
  /** 0 ordinary, 2 generated VIRTUAL, 3 generated STORED (never copied). */
  hidden: number;
}

/** One key part of an index. */
export interface SourceIndexPart {
  /** Column name, or null for an expression. */
  column: string | null;
  /** Expression text for expression parts (`lower(email)`). */
  expression: string | null;
  desc: boolean;
  collation: string;
}

/** A CREATE INDEX, an inline UNIQUE, or the PRIMARY KEY of a WITHOUT ROWID / non-alias table. */
export interface SourceIndex {
  name: string;
  unique: boolean;
  /** `c` CREATE INDEX, `u` UNIQUE constraint, `pk` PRIMARY KEY. */
  origin: 'c' | 'u' | 'pk';
  parts: SourceIndexPart[];
  /** The WHERE clause of a partial index, without the keyword. */
  where: string | null;
}

/** A FOREIGN KEY (PRAGMA foreign_key_list), possibly composite. */
export interface SourceForeignKey {
  parentTable: string;
  columns: string[];
  /** Parent columns; empty when declared as bare `REFERENCES parent` (its primary key). */
  parentColumns: string[];
  onUpdate: string;
  onDelete: string;
  /** `DEFERRABLE INITIALLY DEFERRED`, `DEFERRABLE`, or null. */
  deferral: string | null;
}

/** One ordinary table. */
export interface SourceTable {
  name: string;
  columns: SourceColumn[];
  withoutRowid: boolean;
  strict: boolean;
  /** The INTEGER PRIMARY KEY column that is the rowid, if any. */
  rowidAlias: string | null;
  autoincrement: boolean;
  /** sqlite_sequence.seq, when the table has a row there. */
  sequence: string | null;
  indexes: SourceIndex[];
  foreignKeys: SourceForeignKey[];
  /** CHECK constraint expressions, without the keyword and outer parentheses. */
  checks: string[];
  rowCount: number;
  /** Smallest and largest rowid (rowid tables with rows), as decimal strings. */
  rowidRange: { min: string; max: string } | null;
  /** WITHOUT ROWID tables whose leading key column holds only integers: that column's range. */
  keyRange?: { column: string; min: string; max: string } | null;
  sql: string;
}

/** Everything discovery found. */
export interface SourceSchema {
  tables: SourceTable[];
  views: { name: string; sql: string }[];
  triggers: { name: string; table: string; sql: string }[];
  /** Virtual tables (FTS, rtree): reported, not migrated. */
  virtualTables: string[];
  encoding: string;
  sqliteVersion: string;
}
