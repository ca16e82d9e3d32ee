/**
 * The assessment activities: one per step and target, each read-only on the assessed database (the engine
 * modules open read-only sessions under statement timeouts), returning findings, counts, sizes and timings —
 * never table data. A target that is down is reported down by its engine module, not thrown.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { activityInfo, cancellationSignal } from '@temporalio/activity';
import type {
  AssessedEngine,
  CheckResult,
  ProbeResult,
  QueryPattern,
  VolumeReport,
} from '../../common/contracts/assessment';
import { probesFromLivePatterns } from '../../common/assessment/probes';
import { ASSESSMENT_RULES } from '../../common/assessment/rules';
import { percentiles, regressionPct } from '../../common/assessment/percentiles';
import { DbopsError, ErrorCode } from '../../common/errors';
import type { ActivityDeps } from '../deps';
import { withFailureMapping } from '../failures';
import { runArtifactDir } from '../files/artifact-paths';
import { keepAlive } from '../keep-alive';
import { assessMysql, mysqlLivePatterns, mysqlRunProbe, mysqlUsageCounters } from '../mysql/assess';
import { assessPostgres, pgDefaultProbes, pgLivePatterns, pgRunProbe, pgUsageCounters } from '../postgres/assess';
import { type PocResult, type PocShape, runTimeSeriesPoc } from '../postgres/poc';
import { assessRedis, redisLivePatterns, redisUsageCounters } from '../redis/assess';
import { createS3Client } from '../s3/client';
import { hashObject, uploadFile } from '../s3/transfer';
import { localBackupDir } from '../backup/store';
import { packEstateArchive, verifyEstateArchive } from '../files/estate-archive';
import { exportTdengine } from '../tdengine/export';
import { type SourceProbe, tdengineTimeRangeProbes } from '../tdengine/probes';
import { assessSqlite } from '../sqlite/assess';
import { assessTdengine, tdengineLivePatterns } from '../tdengine/assess';
import { backupAgeFinding } from './backup-age';
import { scanCode } from './code-scan';
import { checkConfigFiles } from './config-files';
import { writeReports, type ReportData } from './report';
import { type AssessTarget, databaseTarget, describeAssessTarget, tdengineEndpoint } from './targets';

/** What one target's health step found. */
export interface TargetAssessment {
  up: boolean;
  version?: string;
  findings: CheckResult[];
  volume?: VolumeReport;
  facts: Record<string, number | string | boolean | null>;
  /** TDengine only: its supertables (for the plan, and their shape for the POC). */
  supertables?: {
    db: string;
    name: string;
    rows: number;
    columns: { name: string; type: string }[];
    tags: { name: string; type: string }[];
  }[];
}

/** A previous assessment, as far as growth and regressions need it. */
export interface PreviousAssessment {
  timestamp: string;
  totalBytes: Record<string, number>;
  probes: ProbeResult[];
}

type Counters = Record<string, { reads: number; writes: number }>;

/** The POC's shape when the estate has no TDengine supertable to copy: smart-meter readings. */
const DEFAULT_POC_SHAPE: PocShape = {
  name: 'meters',
  columns: [
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'current', type: 'FLOAT' },
    { name: 'voltage', type: 'INT' },
    { name: 'phase', type: 'FLOAT' },
  ],
  tags: [
    { name: 'groupid', type: 'INT' },
    { name: 'location', type: 'BINARY(24)' },
  ],
};

/** Builds the assessment activities around the worker's shared dependencies. */
export function createAssessmentActivities({ config }: ActivityDeps) {
  const server = (ref: string) => {
    const t = databaseTarget(ref, config);
    return { url: t.url ?? '', password: t.password, label: t.label, path: t.path };
  };

  /** The engine module's own health and volume checks of one target. */
  const assessEngine = async (target: AssessTarget): Promise<TargetAssessment> => {
    const signal = cancellationSignal();
    switch (target.engine as AssessedEngine) {
      case 'postgres':
        return assessPostgres(server(target.ref), target.name, ASSESSMENT_RULES, { signal });
      case 'mysql':
        return assessMysql(server(target.ref), target.name, ASSESSMENT_RULES, { signal });
      case 'redis':
        return assessRedis(server(target.ref), target.name, ASSESSMENT_RULES, { signal });
      case 'sqlite':
        return assessSqlite(server(target.ref).path ?? '', target.name, ASSESSMENT_RULES);
      case 'tdengine': {
        const result = await assessTdengine(tdengineEndpoint(target.ref), target.name, ASSESSMENT_RULES);
        return {
          ...result,
          supertables: result.supertables.map(({ db, name, rows, columns, tags }) => ({
            db,
            name,
            rows,
            columns,
            tags,
          })),
        };
      }
    }
  };

  return {
    /** Classifies the targets (every configured connection when none are given); bad ones are reported, not thrown. */
    async assessmentTargets(input: {
      targets?: string[];
    }): Promise<{ targets: AssessTarget[]; invalid: { ref: string; error: { type: string; message: string } }[] }> {
      return withFailureMapping('assessmentTargets', async () => {
        const refs = input.targets?.length ? input.targets : Object.keys(config.connections).sort();
        const targets: AssessTarget[] = [];
        const invalid: { ref: string; error: { type: string; message: string } }[] = [];
        for (const ref of refs) {
          try {
            targets.push(describeAssessTarget(ref, config));
          } catch (err) {
            if (!(err instanceof DbopsError)) throw err;
            invalid.push({ ref, error: { type: err.code, message: err.message } });
          }
        }
        return { targets, invalid };
      });
    },

    /** Health and volume of one target. */
    async assessmentHealth(input: { target: AssessTarget }): Promise<TargetAssessment> {
      const { target } = input;
      return withFailureMapping(`assessmentHealth ${target.name}`, () =>
        keepAlive({ step: 'health', target: target.name }, async () => {
          const assessed = await assessEngine(target);
          if (target.engine === 'tdengine') return assessed;
          // Durability from dbops' own records: the newest verified backup of this database.
          const age = await backupAgeFinding(
            config,
            target.engine,
            target.name,
            target.name,
            ASSESSMENT_RULES,
            Date.now(),
          );
          return { ...assessed, findings: [...assessed.findings, age] };
        }),
      );
    },

    /** The engine's cumulative read/write counters per table (or command family); `unknown` when unavailable. */
    async assessmentUsage(input: { target: AssessTarget }): Promise<{ counters: Counters; unknown?: string }> {
      const { target } = input;
      return withFailureMapping(`assessmentUsage ${target.name}`, async () => {
        try {
          switch (target.engine as AssessedEngine) {
            case 'postgres':
              return { counters: await pgUsageCounters(server(target.ref)) };
            case 'mysql': {
              const counters = await mysqlUsageCounters(server(target.ref));
              return Object.keys(counters).length > 0
                ? { counters }
                : {
                    counters,
                    unknown:
                      'no per-table I/O counters: performance_schema is OFF and MariaDB userstat is OFF (enable either to classify tables hot or cold)',
                  };
            }
            case 'redis':
              return { counters: await redisUsageCounters(server(target.ref)) };
            default:
              return { counters: {}, unknown: `${target.engine} keeps no per-table operation counters` };
          }
        } catch (err) {
          return { counters: {}, unknown: (err as Error).message };
        }
      });
    },

    /** The engine's own statement statistics (pg_stat_statements, digests, commandstats, SHOW QUERIES). */
    async assessmentPatterns(input: { target: AssessTarget }): Promise<{ patterns: QueryPattern[]; unknown?: string }> {
      const { target } = input;
      return withFailureMapping(`assessmentPatterns ${target.name}`, async () => {
        try {
          switch (target.engine as AssessedEngine) {
            case 'postgres':
              return await pgLivePatterns(server(target.ref));
            case 'mysql':
              return await mysqlLivePatterns(server(target.ref));
            case 'redis':
              return await redisLivePatterns(server(target.ref));
            case 'tdengine':
              return { patterns: await tdengineLivePatterns(tdengineEndpoint(target.ref)) };
            default:
              return { patterns: [], unknown: 'SQLite keeps no statement statistics' };
          }
        } catch (err) {
          return { patterns: [], unknown: (err as Error).message };
        }
      });
    },

    /** Scans code directories (on the worker's host) for SQL, Redis calls and TDengine statements. */
    async assessmentCodeScan(input: { dirs: string[] }): Promise<{
      files: number;
      patterns: QueryPattern[];
      byTable: Record<string, { reads: number; writes: number; files: string[] }>;
      unparsed: number;
    }> {
      return withFailureMapping('assessmentCodeScan', () =>
        keepAlive({ step: 'code' }, async () => {
          const scan = await scanCode(input.dirs);
          return { files: scan.files, patterns: scan.patterns, byTable: scan.byTable, unparsed: scan.unparsed.length };
        }),
      );
    },

    /** Runs the probes of one target K times each (given ones, else a key lookup and a range scan per large table). */
    async assessmentProbes(input: {
      target: AssessTarget;
      probes: { name: string; sql: string }[];
      runs: number;
      previous?: ProbeResult[];
    }): Promise<ProbeResult[]> {
      const { target } = input;
      return withFailureMapping(`assessmentProbes ${target.name}`, () =>
        keepAlive({ step: 'probes', target: target.name }, async () => {
          if (target.engine !== 'postgres' && target.engine !== 'mysql') return [];
          const endpoint = server(target.ref);
          // Configured probes; else the top runnable live statements plus a key lookup and a range scan per
          // large table (PostgreSQL).
          let probes = input.probes;
          if (probes.length === 0) {
            const live =
              target.engine === 'postgres' ? await pgLivePatterns(endpoint) : await mysqlLivePatterns(endpoint);
            probes = [
              ...probesFromLivePatterns(live.patterns),
              ...(target.engine === 'postgres' ? await pgDefaultProbes(endpoint) : []),
            ];
          }
          const results: ProbeResult[] = [];
          for (const probe of probes) {
            const run =
              target.engine === 'postgres'
                ? await pgRunProbe(endpoint, probe.sql, input.runs)
                : await mysqlRunProbe(endpoint, probe.sql, input.runs);
            const p = percentiles(run.durationsMs);
            const before = input.previous?.find((q) => q.target === target.name && q.name === probe.name);
            results.push({
              target: target.name,
              name: probe.name,
              sql: probe.sql,
              runs: run.durationsMs.length,
              p50Ms: p.p50,
              p95Ms: p.p95,
              p99Ms: p.p99,
              rows: run.rows,
              ...(before ? { regressionPct: regressionPct(p.p95, before.p95Ms) } : {}),
            });
          }
          return results;
        }),
      );
    },

    /**
     * The time-series POC on a scratch schema of the chosen PostgreSQL (the only write of an assessment, and
     * dropped at the end): the largest TDengine supertable's shape, or a meters-like default, loaded with
     * synthetic rows; insert rate and time-range query percentiles.
     */
    async assessmentPoc(input: {
      target: AssessTarget;
      shape?: PocShape;
      rows: number;
      runs: number;
      /** The TDengine supertable the shape came from: the same probes are timed there too. */
      source?: { target: AssessTarget; db: string; stable: string };
    }): Promise<PocResult & { sourceProbes?: SourceProbe[]; sourceProbeError?: string }> {
      return withFailureMapping(`assessmentPoc ${input.target.name}`, () =>
        keepAlive({ step: 'poc', target: input.target.name }, async () => {
          const shape = input.shape ?? DEFAULT_POC_SHAPE;
          const result = await runTimeSeriesPoc(server(input.target.ref), shape, {
            rows: input.rows,
            runs: input.runs,
            signal: cancellationSignal(),
          });
          if (!input.source) return result;
          const deviceTag = shape.tags[0]?.name ?? 'tbname';
          const endpoint = tdengineEndpoint(input.source.target.ref);
          try {
            const sourceProbes = await tdengineTimeRangeProbes(
              { url: endpoint.url, user: endpoint.user, ...(endpoint.password ? { password: endpoint.password } : {}) },
              input.source.db,
              input.source.stable,
              deviceTag,
              input.runs,
            );
            return { ...result, sourceProbes };
          } catch (err) {
            return { ...result, sourceProbeError: (err as Error).message };
          }
        }),
      );
    },

    /**
     * The backup of everything as one file: every backup folder this run verified, the TDengine schema and
     * row counts exported over REST, and the given configuration files, packed into `backup_<ts>.tar.gz` with
     * a manifest, uploaded to S3 and verified (the archive read back in full, locally and from S3).
     */
    async assessmentArchive(input: {
      timestamp: string;
      backupIds: string[];
      tdengine: AssessTarget[];
      configFiles: string[];
    }): Promise<{ path: string; s3: string; sha256: string; bytes: number; files: number }> {
      return withFailureMapping('assessmentArchive', () =>
        keepAlive({ step: 'archive' }, async () => {
          const workflowId = activityInfo().workflowExecution?.workflowId ?? 'unknown-workflow';
          const dir = runArtifactDir(config.artifactDir, 'assessments', workflowId);
          const entries = input.backupIds.map((id) => ({
            path: localBackupDir(config, id),
            nameInArchive: `backups/${id}`,
          }));
          const exported: Record<string, unknown> = {};
          for (const target of input.tdengine) {
            const out = join(dir, 'tdengine', target.name);
            const endpoint = tdengineEndpoint(target.ref);
            const result = await exportTdengine(
              { url: endpoint.url, user: endpoint.user, ...(endpoint.password ? { password: endpoint.password } : {}) },
              out,
              // Exact counts of multi-billion-row supertables take minutes: well inside this step's 30 minutes.
              { signal: cancellationSignal(), timeoutMs: 10 * 60_000 },
            );
            exported[target.name] = { databases: result.databases, rowCounts: result.rowCounts };
            entries.push({ path: out, nameInArchive: `tdengine/${target.name}` });
          }
          for (const file of await checkConfigFiles(input.configFiles))
            entries.push({ path: file, nameInArchive: `config/${basename(file)}` });
          const archivePath = join(dir, `backup_${input.timestamp}.tar.gz`);
          const archive = await packEstateArchive(
            archivePath,
            entries,
            {
              timestamp: input.timestamp,
              workflowId,
              backupIds: input.backupIds,
              tdengine: exported,
              configFiles: input.configFiles,
            },
            { signal: cancellationSignal() },
          );
          const s3 = createS3Client(config.s3);
          try {
            const key = `assessments/${workflowId}/backup_${input.timestamp}.tar.gz`;
            await uploadFile(s3, config.s3.bucket, key, archivePath, undefined, config.backup.sse);
            const check = await verifyEstateArchive(archivePath, archive);
            const remote = await hashObject(s3, config.s3.bucket, key);
            if (!check.ok || remote.sha256 !== archive.sha256)
              throw new DbopsError(
                ErrorCode.BackupCorrupt,
                `the estate archive ${archivePath} failed verification: ${[...check.problems, ...(remote.sha256 !== archive.sha256 ? [`s3://${config.s3.bucket}/${key} hashes to ${remote.sha256}, expected ${archive.sha256}`] : [])].join('; ')}`,
              );
            return {
              path: archivePath,
              s3: `s3://${config.s3.bucket}/${key}`,
              sha256: archive.sha256,
              bytes: archive.bytes,
              files: archive.files.length,
            };
          } finally {
            s3.destroy();
          }
        }),
      );
    },

    /** Reads a previous assessment's JSON (on the worker's host) for growth and regressions. */
    async assessmentPrevious(input: { path: string }): Promise<PreviousAssessment> {
      return withFailureMapping('assessmentPrevious', async () => {
        let data: ReportData;
        try {
          data = JSON.parse(await readFile(input.path, 'utf8')) as ReportData;
        } catch (err) {
          throw new DbopsError(
            ErrorCode.BadInput,
            `previous assessment ${input.path} cannot be read as JSON (${(err as Error).message}): give the path of a database_assessment_<ts>.json or performance_baseline.json on the worker's host`,
          );
        }
        // A database_assessment_<ts>.json gives sizes and probes; a performance_baseline.json probes only.
        return {
          timestamp: data.timestamp,
          totalBytes: Object.fromEntries((data.databases ?? []).map((d) => [d.target, d.volume?.totalBytes ?? 0])),
          probes: data.probes ?? [],
        };
      });
    },

    /** Writes the reports with the run and uploads them to S3 under `assessments/<workflowId>/`. */
    async assessmentReports(input: { data: ReportData; upload: boolean }): Promise<Record<string, string>> {
      return withFailureMapping('assessmentReports', async () => {
        const workflowId = activityInfo().workflowExecution?.workflowId ?? 'unknown-workflow';
        const dir = runArtifactDir(config.artifactDir, 'assessments', workflowId);
        const paths = await writeReports(dir, input.data);
        if (input.upload) {
          const s3 = createS3Client(config.s3);
          try {
            for (const [name, path] of Object.entries(paths)) {
              const uploaded = await uploadFile(s3, config.s3.bucket, `assessments/${workflowId}/${name}`, path);
              paths[`s3:${name}`] = `s3://${uploaded.bucket}/${uploaded.key}`;
            }
          } finally {
            s3.destroy();
          }
        }
        return paths;
      });
    },
  };
}
