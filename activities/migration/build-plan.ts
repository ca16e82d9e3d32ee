/**
 * Turns discovery + profiles into the migration plan: target types with reasons, defaults, chunks, keys,
 * indexes, foreign keys, and the list of what cannot be migrated. Pure.
 */
import type { ExportOptions } from '../../common/contracts/migration';
import type { ColumnProfile } from '../sqlite/profile-columns';
import type { SourceIndex, SourceSchema, SourceTable } from '../sqlite/source-schema';
import { quoteNames } from '../sqlite/sql-text';
import { chooseType } from './choose-type';
import { fitName, qi } from '../postgres/identifiers';
import type { ColumnPlan, IndexPlan, MigrationPlan, TablePlan } from '../../common/contracts/migration-plan';
import { translateDefault } from './translate-default';

/** PostgreSQL's limit on columns per table. */
const PG_MAX_COLUMNS = 1600;

/** The largest TEXT or BLOB value dbops copies. */
const MAX_VALUE_BYTES = 256 * 2 ** 20;

/** Options that shape the plan: the input's export options, and what profiling found about orphan rows. */
export type PlanOptions = ExportOptions & {
  /** Orphan rows per table and foreign-key index, from PRAGMA foreign_key_check. */
  orphans: Record<string, Record<number, { count: number; sample: string[] }>>;
};

/** Builds the plan; problems that must stop the run are in `fatal`. */
export function buildPlan(
  schema: SourceSchema,
  profiles: Record<string, Record<string, ColumnProfile>>,
  options: PlanOptions,
): MigrationPlan {
  // Every table, column and view name, for the SQL text PostgreSQL must read with SQLite's case rules.
  const allNames = [
    ...schema.tables.flatMap((t) => [t.name, ...t.columns.map((c) => c.name)]),
    ...schema.views.map((v) => v.name),
  ];
  const plan: MigrationPlan = {
    tables: [],
    views: schema.views.map((v) => ({ ...v, sql: quoteNames(v.sql, allNames) })),
    notMigrated: [],
    warnings: [],
    fatal: [],
  };
  const known = new Set(schema.tables.map((t) => t.name));
  for (const ref of options.fullText ?? []) {
    if (!/^[^.]+\.[^.]+$/.test(ref) || !known.has(ref.split('.')[0] ?? ''))
      plan.fatal.push(`fullText "${ref}": expected table.column of a migrated table`);
  }
  for (const name of [...(options.tables ?? []), ...(options.exclude ?? [])]) {
    if (!known.has(name))
      plan.fatal.push(
        `table "${name}" (from --tables/--exclude) does not exist in the source; tables: ${[...known].join(', ')}`,
      );
  }
  const selectedTables = schema.tables.filter((t) => selected(t.name, options));
  for (const table of selectedTables) {
    const long = [table.name, ...table.columns.map((c) => c.name)].filter((n) => Buffer.byteLength(n) > 63);
    if (long.length > 0) {
      plan.fatal.push(
        `table "${table.name}": ${long.map((n) => `"${n}"`).join(', ')} ${long.length === 1 ? 'is' : 'are'} longer than 63 bytes, ` +
          'which PostgreSQL would truncate (and two names could collide): rename in the source, or leave the table out with --exclude',
      );
    }
  }
  for (const table of selectedTables) {
    const stored = table.columns.filter((c) => c.hidden === 0).length;
    if (stored > PG_MAX_COLUMNS)
      plan.fatal.push(
        `table "${table.name}" has ${stored} columns and PostgreSQL allows at most ${PG_MAX_COLUMNS}: ` +
          'split it in the source, or leave it out with --exclude',
      );
  }
  const usedNames = new Set<string>();
  for (const table of selectedTables) {
    plan.tables.push(planTable(table, profiles[table.name] ?? {}, options, plan, usedNames, selectedTables));
  }
  for (const trigger of schema.triggers) {
    plan.notMigrated.push({
      kind: 'trigger',
      name: trigger.name,
      why: 'SQLite trigger bodies are not translated; recreate it in PL/pgSQL',
    });
  }
  for (const name of schema.virtualTables) {
    plan.notMigrated.push({
      kind: 'virtual table',
      name,
      why: 'virtual tables (FTS, rtree) have no PostgreSQL equivalent; use the GIN full-text option',
    });
  }
  return plan;
}

function selected(name: string, options: PlanOptions): boolean {
  const only = options.tables ?? [];
  return (only.length === 0 || only.includes(name)) && !(options.exclude ?? []).includes(name);
}

function planTable(
  table: SourceTable,
  profiles: Record<string, ColumnProfile>,
  options: PlanOptions,
  plan: MigrationPlan,
  usedNames: Set<string>,
  selected: SourceTable[],
): TablePlan {
  const columns: ColumnPlan[] = [];
  for (const column of table.columns) {
    if (column.hidden !== 0) {
      plan.notMigrated.push({
        kind: 'generated column',
        name: `${table.name}.${column.name}`,
        why: 'generated columns are not copied; re-add it with GENERATED ALWAYS AS',
      });
      continue;
    }
    const profile = profiles[column.name];
    if (!profile) throw new Error(`no profile for ${table.name}.${column.name}`);
    const isAlias = table.rowidAlias === column.name;
    const choice = chooseType(table.name, column, profile, isAlias, options.sourceTimeZone);
    if (choice.fatal) plan.fatal.push(choice.fatal);
    if (profile.maxValueBytes > MAX_VALUE_BYTES)
      plan.fatal.push(
        `${table.name}.${column.name} holds a value of ${(profile.maxValueBytes / 2 ** 20).toFixed(0)} MiB; dbops copies ` +
          `values up to ${MAX_VALUE_BYTES / 2 ** 20} MiB (COPY spells bytes as hex, twice the size, and PostgreSQL ` +
          'refuses a field over 1 GB): move such values out of the database, or leave the table out with --exclude',
      );
    if (choice.widened && options.strict) plan.fatal.push(`--strict: ${table.name}.${column.name} ${choice.widened}`);
    const timeZone = choice.kind === 'timestamptz' ? options.sourceTimeZone : undefined;
    const def = translateDefault(column.defaultSql, choice.kind, timeZone);
    if (def.warning) plan.warnings.push(`${table.name}.${column.name}: ${def.warning}`);
    columns.push({
      name: column.name,
      sourceType: column.declaredType,
      targetType: choice.sqlType,
      kind: choice.kind,
      reason: choice.reason,
      // A rowid alias never holds NULL; other NOT NULLs are kept as declared (SQLite enforced them).
      notNull: column.notNull || isAlias || (table.withoutRowid && column.pkPosition > 0),
      defaultSql: isAlias ? null : def.sql,
      identity: isAlias,
      ...(timeZone ? { timeZone } : {}),
      ...(choice.kind === 'text' || choice.kind === 'numeric' ? { reals: profile.reals > 0 } : {}),
    });
  }

  const pkColumns = table.columns
    .filter((c) => c.pkPosition > 0)
    .sort((a, b) => a.pkPosition - b.pkPosition)
    .map((c) => c.name);
  const indexes: IndexPlan[] = [];
  // A PRIMARY KEY that is not a rowid alias may hold NULLs in a rowid table (a SQLite quirk): PostgreSQL's
  // primary key cannot, so such a key becomes a UNIQUE index (NULLs stay distinct, as in SQLite).
  const nullKeys = table.withoutRowid ? [] : pkColumns.filter((c) => (profiles[c]?.nulls ?? 0) > 0);
  if (nullKeys.length > 0) {
    plan.warnings.push(
      `${table.name}: PRIMARY KEY (${pkColumns.join(', ')}) holds NULL in ${nullKeys
        .map((c) => `${c} (${profiles[c]?.nulls ?? 0} row(s))`)
        .join(', ')}, which SQLite allows and PostgreSQL does not: created as a UNIQUE index instead`,
    );
  }
  if (pkColumns.length > 0) {
    indexes.push({
      name: claim(usedNames, `${table.name}_pkey`),
      sourceName: 'PRIMARY KEY',
      kind: nullKeys.length > 0 ? 'index' : 'primary',
      unique: true,
      keys: pkColumns.map(qi),
      where: null,
    });
  }
  for (const index of table.indexes.filter((ix) => ix.origin !== 'pk'))
    indexes.push(planIndex(table, index, usedNames, plan));

  const foreignKeys = table.foreignKeys.flatMap((fk, i) => {
    // SQLite resolves REFERENCES case-insensitively: so does the plan, and it keeps the parent's own spelling.
    const parent = selected.find((t) => t.name.toLowerCase() === fk.parentTable.toLowerCase());
    if (!parent) {
      plan.warnings.push(`${table.name}: foreign key to "${fk.parentTable}" skipped: that table is not migrated`);
      return [];
    }
    const parentColumns =
      fk.parentColumns.length > 0
        ? fk.parentColumns.map(
            (name) => parent.columns.find((c) => c.name.toLowerCase() === name.toLowerCase())?.name ?? name,
          )
        : parent.columns.filter((c) => c.pkPosition > 0).map((c) => c.name);
    if (!isParentKey(parent, parentColumns)) {
      const name = `${table.name}(${fk.columns.join(', ')}) → ${fk.parentTable}(${parentColumns.join(', ')})`;
      const why =
        'PostgreSQL requires the referenced columns to be the primary key or a plain UNIQUE key of the parent, and ' +
        'they are not; add a unique index on them in the source (if the data allows) and migrate again';
      plan.notMigrated.push({ kind: 'foreign key', name, why });
      plan.warnings.push(`foreign key ${name} not created: ${why}`);
      return [];
    }
    const orphans = options.orphans[table.name]?.[i] ?? { count: 0, sample: [] };
    if (orphans.count > 0) {
      const message = `${table.name}(${fk.columns.join(', ')}) → ${fk.parentTable}: ${orphans.count} orphan row(s) in the source (${orphans.sample.join('; ')})`;
      if (options.strict) plan.fatal.push(`--strict: ${message}`);
      else
        plan.warnings.push(
          `${message}; the foreign key is created NOT VALID (existing rows unchecked, new rows checked)`,
        );
    }
    return [
      {
        name: claim(usedNames, `${table.name}_${fk.columns.join('_')}_fkey`),
        columns: fk.columns,
        parentTable: parent.name,
        parentColumns,
        onDelete: fk.onDelete,
        onUpdate: fk.onUpdate,
        deferral: fk.deferral,
        orphans: orphans.count,
        orphanSample: orphans.sample,
      },
    ];
  });

  indexes.push(...extraIndexes(table.name, columns, options, plan, usedNames));

  const updatedAtColumns = columns
    .filter((c) => c.name.toLowerCase() === 'updated_at' && c.kind === 'timestamptz')
    .map((c) => c.name);
  const sequenceValue =
    table.rowidAlias === null
      ? null
      : [table.sequence, table.rowidRange?.max]
          .filter((v): v is string => v !== null && v !== undefined)
          .reduce<string | null>((a, b) => (a === null || BigInt(b) > BigInt(a) ? b : a), null);
  return {
    name: table.name,
    columns,
    withoutRowid: table.withoutRowid,
    rowidAlias: table.rowidAlias,
    rowCount: table.rowCount,
    chunks: planChunks(table, options.chunkRows),
    sequenceValue,
    indexes,
    foreignKeys,
    checks: table.checks.map((check) =>
      quoteNames(
        check,
        table.columns.map((c) => c.name),
      ),
    ),
    updatedAtColumns,
    integersFitDouble: Object.values(profiles).every((p) => withinDouble(p.intMin) && withinDouble(p.intMax)),
  };
}

/** The optional seed extras: GIN on jsonb columns, GIN full-text on chosen text columns. */
function extraIndexes(
  table: string,
  columns: ColumnPlan[],
  options: PlanOptions,
  plan: MigrationPlan,
  usedNames: Set<string>,
): IndexPlan[] {
  const extras: IndexPlan[] = [];
  if (options.ginJsonb) {
    for (const c of columns.filter((col) => col.kind === 'jsonb')) {
      extras.push({
        name: claim(usedNames, `${table}_${c.name}_gin`),
        sourceName: 'option ginJsonb',
        kind: 'index',
        unique: false,
        keys: [qi(c.name)],
        where: null,
        method: 'gin',
      });
    }
  }
  for (const ref of options.fullText ?? []) {
    const [t, col] = ref.split('.');
    if (t !== table) continue;
    const c = columns.find((x) => x.name === col);
    if (!c || c.kind !== 'text') {
      plan.fatal.push(
        `fullText "${ref}": ${c ? `column is ${c.targetType}, not text` : 'no such column'}; give table.column of a text column`,
      );
      continue;
    }
    extras.push({
      name: claim(usedNames, `${table}_${c.name}_fts`),
      sourceName: 'option fullText',
      kind: 'index',
      unique: false,
      keys: [`to_tsvector('simple', ${qi(c.name)})`],
      where: null,
      method: 'gin',
    });
  }
  return extras;
}

function planIndex(table: SourceTable, index: SourceIndex, usedNames: Set<string>, plan: MigrationPlan): IndexPlan {
  const auto = index.name.startsWith('sqlite_autoindex_');
  const columnsPart = index.parts.map((p) => p.column ?? 'expr').join('_');
  const name = claim(usedNames, auto ? `${table.name}_${columnsPart}_key` : index.name);
  let note: string | undefined;
  const keys = index.parts.map((part) => {
    let key =
      part.column !== null
        ? qi(part.column)
        : `(${quoteNames(
            part.expression ?? '',
            table.columns.map((c) => c.name),
          )})`;
    if (part.collation.toUpperCase() === 'NOCASE') {
      key = `lower(${key})`;
      note = 'COLLATE NOCASE rebuilt as lower(); queries must compare lower() to use it';
    }
    return part.desc ? `${key} DESC` : key;
  });
  if (note) plan.warnings.push(`index ${index.name} on ${table.name}: ${note}`);
  const constraint =
    index.origin === 'u' &&
    index.where === null &&
    index.parts.every((p) => p.column !== null && p.collation.toUpperCase() !== 'NOCASE' && !p.desc);
  return {
    name,
    sourceName: index.name,
    kind: constraint ? 'unique_constraint' : 'index',
    unique: index.unique,
    keys,
    where:
      index.where === null
        ? null
        : quoteNames(
            index.where,
            table.columns.map((c) => c.name),
          ),
    ...(note ? { note } : {}),
  };
}

/**
 * Splits a table into key ranges of about `chunkRows` rows: by rowid, or by the leading integer key of a
 * WITHOUT ROWID table; other WITHOUT ROWID tables are one chunk.
 */
export function planChunks(
  table: Pick<SourceTable, 'rowCount' | 'rowidRange' | 'keyRange'>,
  chunkRows: number,
): TablePlan['chunks'] {
  const range = table.rowidRange ?? table.keyRange;
  if (!range || table.rowCount <= chunkRows) return [{ index: 0 }];
  const column = table.rowidRange ? undefined : table.keyRange?.column;
  const min = BigInt(range.min);
  const max = BigInt(range.max);
  const count = BigInt(Math.ceil(table.rowCount / chunkRows));
  const span = (max - min + 1n + count - 1n) / count;
  const chunks: TablePlan['chunks'] = [];
  for (let i = 0n; i < count; i++) {
    const from = min + i * span;
    if (from > max) break;
    const to = i === count - 1n ? max : from + span - 1n;
    chunks.push({
      index: Number(i),
      from: from.toString(),
      to: (to > max ? max : to).toString(),
      ...(column === undefined ? {} : { column }),
    });
  }
  return chunks;
}

function claim(used: Set<string>, wanted: string): string {
  let name = fitName(wanted);
  for (let n = 2; used.has(name); n++) name = fitName(`${wanted}_${n}`);
  used.add(name);
  return name;
}

/** True when `columns` are the parent's primary key or a plain (full, column-only, BINARY) UNIQUE key. */
function isParentKey(parent: SourceTable, columns: string[]): boolean {
  const wanted = new Set(columns.map((c) => c.toLowerCase()));
  const same = (keys: (string | null)[]) =>
    keys.length === wanted.size && keys.every((k) => k !== null && wanted.has(k.toLowerCase()));
  const pk = parent.columns.filter((c) => c.pkPosition > 0).map((c) => c.name);
  if (same(pk)) return true;
  return parent.indexes.some(
    (ix) =>
      ix.unique &&
      ix.where === null &&
      ix.parts.every((p) => p.collation.toUpperCase() === 'BINARY') &&
      same(ix.parts.map((p) => p.column)),
  );
}

/** True for null or an integer JavaScript numbers hold exactly (|v| < 2^53). */
function withinDouble(value: string | null): boolean {
  return value === null || Number.isSafeInteger(Number(value));
}
