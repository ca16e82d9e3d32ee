/**
 * Hot, warm and cold tables (or Redis key patterns, TDengine supertables) from two samples of cumulative
 * read/write counters taken `windowSeconds` apart (pg_stat_user_tables, performance_schema, keyspace
 * sampling…). Operations per minute = (Δreads + Δwrites) / windowSeconds · 60; hot at or above
 * `usage.hotOpsPerMinute`, cold at or below `usage.coldOpsPerMinute`, warm in between.
 *
 * Counters only grow while the server runs: when either counter of a table went down between the samples
 * the server (or its statistics) was reset in the window, and the second sample alone is the best estimate
 * of the activity since. A table only in the second sample was created in the window (its counters started
 * at 0); one only in the first was dropped and is not reported.
 *
 * Pure and deterministic: imported by workflow code.
 */
import type { TableUsage } from '../contracts/assessment';
import { ASSESSMENT_RULES, type AssessmentRules } from './rules';

/** Cumulative counters of one table at one instant. */
export interface UsageCounters {
  reads: number;
  writes: number;
}

/** A counter value usable in arithmetic: non-finite or negative readings count as 0. */
function counter(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * Classifies every table of the second sample, hottest first (ties by name). `reads` and `writes` of each
 * result are the activity inside the window (the counter deltas), not the cumulative counters.
 * Throws a RangeError when `windowSeconds` is not a positive number.
 */
export function classifyUsage(
  before: Record<string, UsageCounters>,
  after: Record<string, UsageCounters>,
  windowSeconds: number,
  rules: AssessmentRules = ASSESSMENT_RULES,
): TableUsage[] {
  if (!Number.isFinite(windowSeconds) || windowSeconds <= 0) {
    throw new RangeError(`windowSeconds must be a positive number, got ${windowSeconds}`);
  }
  const rows = Object.entries(after).map(([name, now]) => {
    const then = Object.hasOwn(before, name) ? before[name] : undefined;
    const nowReads = counter(now.reads);
    const nowWrites = counter(now.writes);
    const thenReads = counter(then?.reads);
    const thenWrites = counter(then?.writes);
    const reset = nowReads < thenReads || nowWrites < thenWrites;
    const reads = reset ? nowReads : nowReads - thenReads;
    const writes = reset ? nowWrites : nowWrites - thenWrites;
    const opsPerMinute = ((reads + writes) / windowSeconds) * 60;
    const temperature: TableUsage['temperature'] =
      opsPerMinute >= rules.usage.hotOpsPerMinute
        ? 'hot'
        : opsPerMinute <= rules.usage.coldOpsPerMinute
          ? 'cold'
          : 'warm';
    return { usage: { name, reads, writes, temperature }, opsPerMinute };
  });
  rows.sort((a, b) => b.opsPerMinute - a.opsPerMinute || (a.usage.name < b.usage.name ? -1 : 1));
  return rows.map((r) => r.usage);
}
