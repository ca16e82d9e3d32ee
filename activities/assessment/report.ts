/**
 * The assessment's outputs, written with the run (and uploaded to S3 by the caller):
 * `DATABASE_ASSESSMENT_REPORT.md` (findings, scores, volume, hot/cold, query patterns, latency; SVG charts
 * beside it), `WEEK2_MIGRATION_PLAN.md`, `database_assessment_<ts>.json` (everything measured) and
 * `performance_baseline.json` (the probes, for the next run's regression check). No table data: names,
 * counts, sizes and timings only.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  AssessResult,
  DatabaseAssessment,
  ProbeResult,
  QueryPattern,
  TableUsage,
} from '../../common/contracts/assessment';
import type { PocResult } from '../postgres/poc';
import type { SourceProbe } from '../tdengine/probes';
import { barChart } from './svg';

/** Everything the reports are made from. */
export interface ReportData {
  timestamp: string;
  workflowId: string;
  overall: AssessResult['overall'];
  databases: DatabaseAssessment[];
  usage: Record<string, TableUsage[]>;
  usageUnknown: Record<string, string>;
  patterns: Record<string, QueryPattern[]>;
  codePatterns: QueryPattern[];
  /** Reads and writes per table found in the scanned code, with the files. */
  codeTables?: Record<string, { reads: number; writes: number; files: string[] }>;
  probes: ProbeResult[];
  plan?: { id: 'A' | 'B'; title: string; reasons: string[]; order: string[]; risks: string[] };
  backup?: AssessResult['backup'];
  poc?: PocResult & {
    target: string;
    source?: { target: string; table: string; rows: number };
    sourceProbes?: SourceProbe[];
    sourceProbeError?: string;
  };
  windowSeconds: number;
}

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;

/** Writes every report into `dir`; returns their paths by name. */
export async function writeReports(dir: string, data: ReportData): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const paths: Record<string, string> = {};
  const put = async (name: string, text: string): Promise<void> => {
    const path = join(dir, name);
    await writeFile(path, text);
    paths[name] = path;
  };

  const sizes = barChart(
    'Size per database',
    data.databases.map((d) => ({
      label: d.target,
      value: d.volume?.totalBytes ?? 0,
      text: mb(d.volume?.totalBytes ?? 0),
    })),
  );
  await put('sizes.svg', sizes);
  const usageBars = Object.entries(data.usage).flatMap(([target, tables]) =>
    tables.slice(0, 10).map((t) => ({
      label: `${target}: ${t.name}`.slice(0, 40),
      value: t.reads + t.writes,
      text: `${t.temperature} (${t.reads} r / ${t.writes} w)`,
      color: t.temperature === 'hot' ? '#d0584a' : t.temperature === 'warm' ? '#e0a040' : '#7a9cc6',
    })),
  );
  await put('hot-cold.svg', barChart(`Operations in ${data.windowSeconds} s`, usageBars));
  await put(
    'latency.svg',
    barChart(
      'Probe latency p95 (ms)',
      data.probes.map((p) => ({
        label: `${p.target}: ${p.name}`.slice(0, 40),
        value: p.p95Ms,
        text: `p50 ${p.p50Ms.toFixed(2)} · p95 ${p.p95Ms.toFixed(2)} · p99 ${p.p99Ms.toFixed(2)}`,
      })),
    ),
  );

  const lines: string[] = [
    `# Database assessment — ${data.timestamp}`,
    '',
    `Workflow \`${data.workflowId}\`. Overall health **${data.overall.score}/100 (${data.overall.band})**, coverage ${Math.round(data.overall.coverage * 100)} % of checks known${data.overall.cappedBy?.length ? `; capped by ${data.overall.cappedBy.join(', ')}` : ''}.`,
    '',
    '| database | engine | up | version | score | band | coverage | size |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...data.databases.map(
      (d) =>
        `| ${d.target} | ${d.engine} | ${d.up ? 'yes' : '**down**'} | ${d.version ?? ''} | ${d.score.score} | ${d.score.band} | ${Math.round(d.score.coverage * 100)} % | ${mb(d.volume?.totalBytes ?? 0)} |`,
    ),
    '',
    '![Size per database](sizes.svg)',
    '',
    '## Findings',
  ];
  for (const d of data.databases) {
    lines.push('', `### ${d.target} (${d.engine})`, '');
    if (d.error) lines.push(`Could not be assessed: ${d.error.type}: ${d.error.message}`, '');
    const notable = d.findings.filter((f) => f.severity !== 'ok');
    if (notable.length === 0) lines.push('All checks ok.');
    for (const f of notable)
      lines.push(
        `- **${f.severity}** \`${f.id}\` (${f.category}) ${f.title}: ${f.evidence}${f.threshold ? ` [rule: ${f.threshold}]` : ''}${f.recommendation ? ` — ${f.recommendation}` : ''}`,
      );
    const ok = d.findings.filter((f) => f.severity === 'ok').map((f) => `\`${f.id}\``);
    if (ok.length > 0) lines.push('', `ok: ${ok.join(', ')}`);
  }
  lines.push('', '## Volume', '');
  for (const d of data.databases) {
    if (!d.volume) continue;
    lines.push(`### ${d.target}`, '', '| table | rows | exact | data | index |', '| --- | --- | --- | --- | --- |');
    for (const t of [...d.volume.tables]
      .sort((a, b) => b.dataBytes + b.indexBytes - a.dataBytes - a.indexBytes)
      .slice(0, 25))
      lines.push(
        `| ${t.name} | ${t.rows} | ${t.rowsExact ? 'yes' : 'estimate'} | ${mb(t.dataBytes)} | ${mb(t.indexBytes)} |`,
      );
    if (d.volume.tables.length > 25) lines.push(`| … ${d.volume.tables.length - 25} more | | | | |`);
    if (d.volume.growthBytesPerDay !== undefined)
      lines.push('', `Growth since the previous assessment: ${mb(d.volume.growthBytesPerDay)}/day.`);
    lines.push('');
  }
  lines.push(`## Hot and cold (window ${data.windowSeconds} s)`, '', '![Hot and cold](hot-cold.svg)', '');
  for (const [target, tables] of Object.entries(data.usage)) {
    lines.push(
      `- ${target}: ${tables.map((t) => `${t.name} ${t.temperature} (${t.reads} r, ${t.writes} w)`).join('; ') || 'no tables'}`,
    );
  }
  for (const [target, why] of Object.entries(data.usageUnknown)) lines.push(`- ${target}: unknown — ${why}`);
  lines.push('', '## Query patterns', '');
  for (const [target, patterns] of Object.entries(data.patterns)) {
    lines.push(`### ${target} (live)`, '');
    for (const p of patterns.slice(0, 15))
      lines.push(
        `- ${p.kind} ${p.calls !== undefined ? `×${p.calls}` : ''}${p.meanMs !== undefined ? ` mean ${p.meanMs.toFixed(2)} ms` : ''}: \`${p.text.slice(0, 160)}\``,
      );
    lines.push('');
  }
  const codeTables = Object.entries(data.codeTables ?? {});
  if (codeTables.length > 0) {
    const top = (key: 'reads' | 'writes') =>
      [...codeTables]
        .filter(([, v]) => v[key] > 0)
        .sort((a, b) => b[1][key] - a[1][key])
        .slice(0, 10)
        .map(([t, v]) => `${t} (${v[key]}, in ${v.files.length} file(s))`)
        .join(', ') || 'none';
    lines.push(
      '### Most-read and most-written tables in the code',
      '',
      `- read: ${top('reads')}`,
      `- written: ${top('writes')}`,
      '',
    );
  }
  if (data.codePatterns.length > 0) {
    lines.push('### From code', '');
    for (const p of data.codePatterns.slice(0, 40))
      lines.push(
        `- ${p.kind} on ${p.tables.join(', ') || '—'}: \`${p.text.slice(0, 120)}\` (${(p.files ?? []).join(', ')})`,
      );
    lines.push('');
  }
  lines.push(
    '## Performance baseline',
    '',
    '![Latency](latency.svg)',
    '',
    '| target | probe | runs | p50 ms | p95 ms | p99 ms | rows | vs previous |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const p of data.probes)
    lines.push(
      `| ${p.target} | ${p.name} | ${p.runs} | ${p.p50Ms.toFixed(2)} | ${p.p95Ms.toFixed(2)} | ${p.p99Ms.toFixed(2)} | ${p.rows} | ${p.regressionPct === undefined ? '—' : `${p.regressionPct > 0 ? '+' : ''}${p.regressionPct.toFixed(1)} %`} |`,
    );
  lines.push('', '## Backup', '');
  lines.push(
    data.backup
      ? `Backed up and verified: ${data.backup.backupIds.join(', ') || 'none'}${data.backup.failed.length ? `; FAILED: ${data.backup.failed.join(', ')}` : ''}.${data.backup.archive ? ` Everything in one archive: ${data.backup.archive.s3} (${data.backup.archive.files} files, ${mb(data.backup.archive.bytes)}, sha256 ${data.backup.archive.sha256}), read back and verified.` : ''}`
      : 'Not backed up in this run (backup: false).',
  );
  if (!data.plan)
    lines.push(
      '',
      'No migration plan was written: a plan rests on a verified backup of every database, and this run has none.',
    );
  await put('DATABASE_ASSESSMENT_REPORT.md', `${lines.join('\n')}\n`);

  if (data.plan) {
    const plan = data.plan;
    await put(
      'WEEK2_MIGRATION_PLAN.md',
      [
        `# Week-2 migration plan — Plan ${plan.id}: ${plan.title}`,
        '',
        `From assessment \`${data.workflowId}\` (${data.timestamp}); every reason below is a measured fact.`,
        '',
        '## Why',
        '',
        ...plan.reasons.map((r) => `- ${r}`),
        '',
        '## Order',
        '',
        ...plan.order.map((o, i) => `${i + 1}. ${o}`),
        '',
        '## Risks',
        '',
        ...plan.risks.map((r) => `- ${r}`),
        '',
      ].join('\n'),
    );
  }
  if (data.poc) {
    const poc = data.poc;
    await put(
      'POC_VALIDATION_REPORT.md',
      [
        `# POC validation — time series on PostgreSQL (${poc.target})`,
        '',
        `Strategy: **${poc.strategy}**${poc.partitions ? ` (${poc.partitions} daily partitions, BRIN on the time column)` : ''}; scratch schema \`${poc.schema}\` (dropped after the run).`,
        poc.source
          ? `Shape copied from ${poc.source.target} \`${poc.source.table}\` (${poc.source.rows.toLocaleString('en-US')} rows there).`
          : 'Shape: smart-meter readings (no TDengine supertable in the estate).',
        '',
        `Loaded ${poc.rows} synthetic rows in ${poc.insertSeconds.toFixed(2)} s: **${Math.round(poc.insertRowsPerSecond)} rows/s**.`,
        '',
        '| query | PostgreSQL p50 ms | p95 ms | p99 ms | rows | source p95 ms | source rows |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        ...poc.queries.map((q) => {
          const src = poc.sourceProbes?.find((x) => x.name === q.name);
          return `| ${q.name} | ${q.p50Ms.toFixed(2)} | ${q.p95Ms.toFixed(2)} | ${q.p99Ms.toFixed(2)} | ${q.rows} | ${src ? src.p95Ms.toFixed(2) : '—'} | ${src ? src.rows : '—'} |`;
        }),
        ...(poc.sourceProbeError
          ? ['', `The same probes could not be run on the source: ${poc.sourceProbeError}`]
          : []),
        ...(poc.sourceProbes
          ? [
              '',
              'Source timings include the REST round trip (as an application over taosAdapter sees them); the source holds its real data, the POC synthetic rows.',
            ]
          : []),
        '',
        ...poc.notes.map((n) => `- ${n}`),
        '',
      ].join('\n'),
    );
  }
  await put(
    `database_assessment_${data.timestamp}.json`,
    `${JSON.stringify({ formatVersion: 1, ...data }, null, 2)}\n`,
  );
  await put(
    'performance_baseline.json',
    `${JSON.stringify({ formatVersion: 1, timestamp: data.timestamp, probes: data.probes }, null, 2)}\n`,
  );
  return paths;
}
