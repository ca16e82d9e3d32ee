/** MIGRATION_REPORT.md and its JSON twin, from the workflow's result. Rendering is pure; writing is not. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MigrationReportData } from '../../common/contracts/migration';

/** The Markdown report. */
export function renderMarkdown(r: MigrationReportData): string {
  const lines = [
    `# Migration report — ${r.workflowId}`,
    '',
    `- **Status:** ${r.status}`,
    `- **Source:** ${r.source} (sha256 before ${r.sourceSha256Before ?? '-'}, after ${r.sourceSha256After ?? '-'})`,
    `- **Target:** ${r.target}, schema \`${r.schema}\``,
    ...(r.error ? [`- **Error:** ${r.error.type}: ${r.error.message}`] : []),
    `- **Rollback:** ${r.rollback}`,
    ...(r.rolledBackSchema
      ? [
          `- **Migrated schema kept as:** \`${r.rolledBackSchema}\` (rolled back; it may hold rows written during the window)`,
        ]
      : []),
    ...(r.ignoredSignals ?? []).map((s) => `- **Signal ignored:** ${s}`),
    '',
    '## Tables',
    '',
    '| table | rows source | rows target | checksum source | checksum target | match |',
    '| --- | ---: | ---: | --- | --- | --- |',
    ...r.verification.map(
      (v) =>
        `| ${v.table} | ${v.rowsSource} | ${v.rowsTarget} | \`${v.checksumSource}\` | \`${v.checksumTarget}\` | ${v.match ? 'yes' : '**NO**'} |`,
    ),
    '',
    '## Type decisions',
    '',
    '| table.column | SQLite type | PostgreSQL type | why |',
    '| --- | --- | --- | --- |',
    ...(r.plan?.tables ?? []).flatMap((t) =>
      t.columns.map((c) => `| ${t.name}.${c.name} | ${c.sourceType || '(none)'} | ${c.targetType} | ${c.reason} |`),
    ),
    '',
    '## Keys, indexes and foreign keys',
    '',
    ...(r.plan?.tables ?? []).flatMap((t) => [
      ...t.indexes.map(
        (ix) =>
          `- ${t.name}: ${ix.kind} \`${ix.name}\` (${ix.keys.join(', ')})${ix.where ? ` WHERE ${ix.where}` : ''} ← ${ix.sourceName}`,
      ),
      ...t.foreignKeys.map(
        (fk) =>
          `- ${t.name}: foreign key \`${fk.name}\` (${fk.columns.join(', ')}) → ${fk.parentTable}${fk.orphans ? ` NOT VALID (${fk.orphans} orphan rows: ${fk.orphanSample.join('; ')})` : ''}`,
      ),
    ]),
    '',
    '## Not migrated',
    '',
    ...((r.plan?.notMigrated ?? []).length
      ? (r.plan?.notMigrated ?? []).map((n) => `- ${n.kind} \`${n.name}\`: ${n.why}`)
      : ['- nothing']),
    '',
    '## Warnings',
    '',
    ...(r.warnings.length ? r.warnings.map((w) => `- ${w}`) : ['- none']),
    '',
    '## Timings (ms)',
    '',
    ...Object.entries(r.timingsMs).map(([step, ms]) => `- ${step}: ${ms}`),
    '',
  ];
  return lines.join('\n');
}

/** Writes both files into `dir`; returns their paths. */
export function writeReports(dir: string, data: MigrationReportData): { markdown: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const markdown = join(dir, 'MIGRATION_REPORT.md');
  const json = join(dir, 'migration-report.json');
  writeFileSync(markdown, renderMarkdown(data));
  writeFileSync(json, `${JSON.stringify(data, null, 2)}\n`);
  return { markdown, json };
}
