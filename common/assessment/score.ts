/**
 * Health scores (0–100) from check findings: per database with {@link scoreFindings}, for the whole estate
 * with {@link scoreEstate}. The numbers (weights, penalties, cap, bands) come from rules.json.
 *
 * Per database — a multi-engine generalisation of MySQLTuner's weighted score, minus its half credit:
 * - each category scores `max(0, 100 − Σ penalties)`, one penalty per finding whatever its `count`
 *   (critical 40, warning 15, info 3, ok 0 with the shipped rules);
 * - `unknown` findings (no privilege, missing extension) are left out of the score entirely and lower the
 *   coverage instead (`known / total`, 0..1): an unmeasured check neither helps nor hurts;
 * - overall = `Σ weight·score / Σ weight` over the categories with at least one known finding, rounded;
 * - a critical finding in a `criticalCapCategories` category (down, backup too old, bgsave error…) caps the
 *   overall at `criticalCap` (59): such a database is never "good", however clean the rest is. `cappedBy`
 *   names every such finding whenever the cap applies, even when the weighted score was already lower;
 * - no known finding at all → score 0, coverage 0, band poor: nothing measured is not healthy.
 * A database that is down gets one critical availability finding from the caller: 100 − 40 = 60 in the
 * only scored category, capped to 59.
 *
 * Estate — every database counts once, whatever its engine's number of checks (PostgreSQL has many more
 * than SQLite, which must not make it dominate):
 * - score = the mean of the per-database scores over databases with coverage > 0 (a database of which
 *   nothing could be measured has no score to average; it shows up in the coverage instead), rounded;
 * - capped at `criticalCap` when any database is capped, `cappedBy` being the union of theirs;
 * - coverage = the mean of every database's coverage (including the ones with coverage 0);
 * - byCategory = per category, the mean over the databases that scored that category;
 * - no database, or none with coverage > 0 → score 0, band poor.
 *
 * Pure and deterministic: imported by workflow code.
 */
import type { CheckCategory, CheckResult, HealthScore } from '../contracts/assessment';
import { CHECK_CATEGORIES } from '../contracts/assessment';
import { ASSESSMENT_RULES, type AssessmentRules } from './rules';

/** The band of a (rounded) score, from the rules' lower bounds: excellent ≥ 90, good ≥ 70, fair ≥ 50. */
export function bandOf(score: number, rules: AssessmentRules = ASSESSMENT_RULES): HealthScore['band'] {
  if (score >= rules.bands.excellent) return 'excellent';
  if (score >= rules.bands.good) return 'good';
  if (score >= rules.bands.fair) return 'fair';
  return 'poor';
}

/** The penalty one finding costs its category: 0 for `ok` (and `unknown`, which is never scored). */
function penaltyOf(finding: CheckResult, rules: AssessmentRules): number {
  switch (finding.severity) {
    case 'critical':
      return rules.penalties.critical;
    case 'warning':
      return rules.penalties.warning;
    case 'info':
      return rules.penalties.info;
    default:
      return 0;
  }
}

/** Coverage to three decimals, so reports and JSON stay readable (2/3 → 0.667). */
function roundCoverage(ratio: number): number {
  return Math.round(ratio * 1000) / 1000;
}

/** The score of nothing measured. */
function emptyScore(coverage = 0): HealthScore {
  return { score: 0, band: 'poor', coverage: roundCoverage(coverage), byCategory: {} };
}

/** Why one finding caps the score, for people: `<target>: <id> critical (<title>)`. */
function capReason(finding: CheckResult): string {
  return `${finding.target}: ${finding.id} critical (${finding.title})`;
}

/**
 * The health score of one database from its findings (see the file comment for the scheme).
 * `rules` defaults to the shipped rules.json.
 */
export function scoreFindings(findings: CheckResult[], rules: AssessmentRules = ASSESSMENT_RULES): HealthScore {
  const known = findings.filter((f) => f.severity !== 'unknown');
  const coverage = findings.length === 0 ? 0 : known.length / findings.length;
  if (known.length === 0) return emptyScore(coverage);

  const penalties = new Map<CheckCategory, number>();
  for (const finding of known) {
    penalties.set(finding.category, (penalties.get(finding.category) ?? 0) + penaltyOf(finding, rules));
  }

  const byCategory: Partial<Record<CheckCategory, number>> = {};
  let weighted = 0;
  let weights = 0;
  for (const category of CHECK_CATEGORIES) {
    const penalty = penalties.get(category);
    if (penalty === undefined) continue;
    const score = Math.max(0, 100 - penalty);
    byCategory[category] = score;
    const weight = rules.weights[category];
    weighted += weight * score;
    weights += weight;
  }

  let score = weights > 0 ? Math.round(weighted / weights) : 0;
  const capCategories: readonly string[] = rules.criticalCapCategories;
  const cappedBy = known.filter((f) => f.severity === 'critical' && capCategories.includes(f.category)).map(capReason);
  if (cappedBy.length > 0) score = Math.min(score, rules.criticalCap);

  return {
    score,
    band: bandOf(score, rules),
    coverage: roundCoverage(coverage),
    byCategory,
    ...(cappedBy.length > 0 ? { cappedBy } : {}),
  };
}

/**
 * The estate's health from the per-database scores: the mean of the databases that measured anything,
 * capped when any database is capped (see the file comment). `rules` defaults to the shipped rules.json.
 */
export function scoreEstate(perDatabase: HealthScore[], rules: AssessmentRules = ASSESSMENT_RULES): HealthScore {
  if (perDatabase.length === 0) return emptyScore();
  const coverage = perDatabase.reduce((sum, db) => sum + db.coverage, 0) / perDatabase.length;
  const scored = perDatabase.filter((db) => db.coverage > 0);
  if (scored.length === 0) return emptyScore(coverage);

  let score = Math.round(scored.reduce((sum, db) => sum + db.score, 0) / scored.length);
  const cappedBy = perDatabase.flatMap((db) => db.cappedBy ?? []);
  if (cappedBy.length > 0) score = Math.min(score, rules.criticalCap);

  const byCategory: Partial<Record<CheckCategory, number>> = {};
  for (const category of CHECK_CATEGORIES) {
    const values = scored.map((db) => db.byCategory[category]).filter((v): v is number => v !== undefined);
    if (values.length > 0) byCategory[category] = Math.round(values.reduce((a, b) => a + b, 0) / values.length);
  }

  return {
    score,
    band: bandOf(score, rules),
    coverage: roundCoverage(coverage),
    byCategory,
    ...(cappedBy.length > 0 ? { cappedBy } : {}),
  };
}
