/**
 * The facts the plan rules read (common/assessment/plan.ts), gathered from what the assessment measured:
 * volumes, the largest time-series table, how Redis is used, which MySQL features are in use, whether the
 * PostgreSQL can host TimescaleDB, and how many of the queries are time-range queries. Pure (workflow code).
 */
import type { TargetAssessment } from '../activities/assessment/activities';
import type { AssessTarget } from '../activities/assessment/targets';
import type { PlanFacts } from '../common/assessment/plan';
import { scoreFindings } from '../common/assessment/score';
import type { QueryPattern, TableUsage } from '../common/contracts/assessment';

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value)
    ? value
    : typeof value === 'string' && value !== '' && !Number.isNaN(Number(value))
      ? Number(value)
      : undefined;

/** Time-range query shapes: TDengine windows and SQL ranges on a time column. */
const TIME_RANGE = /\b(interval\s*\(|between\b|ts\s*[<>]=?|time\s*[<>]=?|created_at\s*[<>]=?|last_row\s*\()/i;

/** Builds the plan's facts from the per-target assessments. */
export function buildPlanFacts(
  targets: AssessTarget[],
  health: TargetAssessment[],
  _usage: Record<string, TableUsage[]>,
  patterns: Record<string, QueryPattern[]>,
  codePatterns: QueryPattern[],
): PlanFacts {
  const facts: PlanFacts = { volumes: [] };
  targets.forEach((target, i) => {
    const h = health[i];
    if (!h) return;
    if (h.volume) facts.volumes.push(h.volume);
    const f = h.facts;
    switch (target.engine) {
      case 'tdengine': {
        const largest = [...(h.supertables ?? [])].sort((a, b) => b.rows - a.rows)[0];
        if (largest && (!facts.timeSeries || largest.rows > facts.timeSeries.rows))
          facts.timeSeries = {
            target: target.name,
            name: `${largest.db}.${largest.name}`,
            rows: largest.rows,
            ...(num(f.ingestRowsPerSecond) !== undefined ? { ingestRowsPerSecond: num(f.ingestRowsPerSecond) } : {}),
          };
        break;
      }
      case 'redis': {
        const keys = num(f.keys);
        const withTtl = num(f.keysWithTtl);
        const hit = h.findings.find((x) => x.id === 'redis.hit_rate');
        facts.redis = {
          target: target.name,
          usedBytes: num(f.usedMemory) ?? h.volume?.totalBytes ?? 0,
          ...(typeof hit?.value === 'number' ? { hitRatePct: hit.value } : {}),
          ...(keys !== undefined && keys > 0 && withTtl !== undefined
            ? { ttlKeySharePct: Math.round((withTtl / keys) * 1000) / 10 }
            : {}),
          ...(typeof f.maxmemoryPolicy === 'string' ? { evictionPolicy: f.maxmemoryPolicy } : {}),
        };
        break;
      }
      case 'mysql':
        facts.mysql = {
          target: target.name,
          nonInnoDbTables: num(f.nonInnoDbTables ?? f.non_innodb_tables) ?? countOf(h, 'mysql.non_innodb_tables'),
          fullTextIndexes: num(f.fullTextIndexes ?? f.fulltext_indexes) ?? 0,
          fullTextOnMyIsam: num(f.fullTextOnMyIsam ?? f.fulltext_on_myisam) ?? 0,
          spatialIndexes: num(f.spatialIndexes ?? f.spatial_indexes) ?? 0,
          triggers: num(f.triggers) ?? 0,
          routines: num(f.routines) ?? 0,
        };
        break;
      case 'postgres':
        if (!facts.postgres || (!facts.postgres.up && h.up))
          facts.postgres = {
            target: target.name,
            up: h.up,
            timescaledbAvailable: f.timescaledbAvailable === true || f.timescaledb_available === true,
            health: scoreFindings(h.findings),
          };
        break;
      default:
        break;
    }
  });
  const all = [...Object.values(patterns).flat(), ...codePatterns];
  const timeSeriesQueries = all.filter((p) => p.kind === 'tdengine' || TIME_RANGE.test(p.text));
  facts.queries = {
    timeSeries: timeSeriesQueries.length,
    timeRange: timeSeriesQueries.filter((p) => TIME_RANGE.test(p.text)).length,
  };
  return facts;
}

function countOf(h: TargetAssessment, id: string): number {
  const finding = h.findings.find((x) => x.id === id);
  return finding?.count ?? (finding && finding.severity !== 'ok' ? 1 : 0);
}
