/**
 * The contract of `assessEstate`: its input, the facts each step measures, the findings (checks) they
 * produce, and the result. Pure; imported by the workflow, the activities, the CLI and the tests.
 *
 * Every check is a finding with a severity; a check that could not run (no privilege, no extension) is
 * `unknown` with the reason — never half credit (see common/assessment/score.ts).
 */
import { z } from 'zod';
import type { Engine } from '../connection-ref';

/** The workflow type, as operators type it in the Web UI. */
export const ASSESS_WORKFLOW = 'assessEstate';

/** Engines an assessment covers: dbops' four plus TDengine over its REST API. */
export type AssessedEngine = Engine | 'tdengine';

/** Severity of one finding. */
export type Severity = 'ok' | 'info' | 'warning' | 'critical' | 'unknown';

/** Score categories and their weights (sum 100); rules/assessment-rules.json holds the numbers. */
export const CHECK_CATEGORIES = [
  'availability',
  'performance',
  'maintenance',
  'capacity',
  'schema',
  'durability',
] as const;
export type CheckCategory = (typeof CHECK_CATEGORIES)[number];

/** One finding of one check on one database. */
export interface CheckResult {
  /** Stable id, e.g. `pg.cache_hit`, `mysql.non_innodb_tables`, `redis.last_save`. */
  id: string;
  engine: AssessedEngine;
  /** The assessed target's name (connection name or folder-safe label). */
  target: string;
  category: CheckCategory;
  severity: Severity;
  /** One line for people: what was checked. */
  title: string;
  /** The measured value (a number where one exists), or null when unknown. */
  value: number | string | null;
  /** The rule applied, e.g. `warn < 99 %, critical < 95 %`. */
  threshold?: string;
  /** The numbers behind the verdict, or why it is unknown. */
  evidence: string;
  /** What to do, when not ok. */
  recommendation?: string;
  /** How many objects the finding covers (50 unused indexes are one finding with count 50). */
  count?: number;
}

/** Size and rows of one table (or Redis key pattern / TDengine supertable). */
export interface TableVolume {
  /** `schema.table`, `db0:user:*`, `db.stable`. */
  name: string;
  rows: number;
  /** True when `rows` is an exact count; false for statistics estimates. */
  rowsExact: boolean;
  dataBytes: number;
  indexBytes: number;
}

/** Volume of one database. */
export interface VolumeReport {
  target: string;
  engine: AssessedEngine;
  totalBytes: number;
  tables: TableVolume[];
  /** Growth since a previous assessment, when one was given: bytes per day. */
  growthBytesPerDay?: number;
}

/** Reads and writes of one table or key pattern over the sampling window. */
export interface TableUsage {
  name: string;
  reads: number;
  writes: number;
  /** hot / warm / cold, from the rules' thresholds on operations per minute. */
  temperature: 'hot' | 'warm' | 'cold';
}

/** One live or code-found query pattern. */
export interface QueryPattern {
  /** Normalised text (literals replaced), never row data. */
  text: string;
  kind: 'select' | 'insert' | 'update' | 'delete' | 'ddl' | 'redis' | 'tdengine' | 'other';
  tables: string[];
  calls?: number;
  meanMs?: number;
  /** For code-found patterns: where. */
  files?: string[];
}

/** Latency of one probe run K times. */
export interface ProbeResult {
  target: string;
  name: string;
  sql: string;
  runs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  rows: number;
  /** Versus a previous baseline: (p95 now − p95 before) / p95 before, in %. */
  regressionPct?: number;
}

/** Score of one database, or of the estate. */
export interface HealthScore {
  score: number;
  band: 'excellent' | 'good' | 'fair' | 'poor';
  /** Known checks / all checks (unknowns excluded from the score, shown here). */
  coverage: number;
  byCategory: Partial<Record<CheckCategory, number>>;
  /** Why the score was capped at 59, if it was. */
  cappedBy?: string[];
}

/** Input of `assessEstate`. */
export const assessInputSchema = z.strictObject({
  /** Connection names, password-free URLs, SQLite paths, `tdengine://host:6041` / `http(s)://…` REST endpoints. */
  targets: z.array(z.string().min(1)).max(100).optional(),
  /** Directories (on the worker's host) scanned for SQL, Redis calls and TDengine statements. */
  codeDirs: z.array(z.string().min(1)).max(20).optional(),
  /** Seconds between the two usage samples (default 60). */
  windowSeconds: z.number().int().min(1).max(3600).optional(),
  /** Probe queries per target name; default: derived per large table. */
  probes: z
    .array(z.strictObject({ target: z.string().min(1), name: z.string().min(1), sql: z.string().min(1) }))
    .max(200)
    .optional(),
  /** Runs per probe (default 20). */
  probeRuns: z.number().int().min(1).max(1000).optional(),
  /** Back up every target first (default true); the plan is written only after that backup is verified. */
  backup: z.boolean().optional(),
  /** Configuration files (on the worker's host) to pack into the estate archive with the backups. */
  configFiles: z.array(z.string().min(1)).max(100).optional(),
  /** Run the time-series POC on the chosen PostgreSQL (default false). */
  poc: z.boolean().optional(),
  /** Synthetic rows the POC loads (default 200,000). */
  pocRows: z.number().int().min(1_000).max(100_000_000).optional(),
  /** Path (on the worker) of a previous `database_assessment_<ts>.json`, for growth and regressions. */
  previous: z.string().min(1).optional(),
});
export type AssessInput = z.infer<typeof assessInputSchema>;

/** Per-database part of the result. */
export interface DatabaseAssessment {
  target: string;
  engine: AssessedEngine;
  up: boolean;
  version?: string;
  score: HealthScore;
  findings: CheckResult[];
  volume?: VolumeReport;
  error?: { type: string; message: string };
}

/** Result of `assessEstate`. */
export interface AssessResult {
  status: 'completed';
  /** The estate's overall score (`overall.score`), first in the result for the Web UI. */
  score?: number;
  /** Path of DATABASE_ASSESSMENT_REPORT.md on the worker's host (the S3 copy: `reports`). */
  report?: string;
  timestamp: string;
  overall: HealthScore;
  databases: DatabaseAssessment[];
  plan?: { id: 'A' | 'B'; title: string; reasons: string[] };
  backup?: {
    backupIds: string[];
    failed: string[];
    archive?: { path: string; s3: string; sha256: string; bytes: number; files: number };
  };
  /** The time-series POC's figures, when it ran. */
  poc?: {
    strategy: 'timescaledb' | 'native-partitions';
    rows: number;
    insertRowsPerSecond: number;
    queries: { name: string; p50Ms: number; p95Ms: number; p99Ms: number }[];
  };
  reports: Record<string, string>;
}
