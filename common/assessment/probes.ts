/**
 * Probes derived from the engine's own top statements (pg_stat_statements, MySQL digests): the most
 * frequent reads that can run as they stand — a single SELECT without parameter placeholders (`$1`, `?`),
 * without locking clauses or side effects. Pure.
 */
import type { QueryPattern } from '../contracts/assessment';

const PLACEHOLDER = /\$\d+|\?/;
const UNSAFE =
  /\b(for\s+(update|share|no\s+key\s+update|key\s+share)|into\s+(outfile|dumpfile)|nextval|setval|pg_sleep|sleep\s*\(|lock\s+in\s+share\s+mode)\b/i;

/** Up to `max` runnable probes from the live patterns, most called first. */
export function probesFromLivePatterns(patterns: QueryPattern[], max = 3): { name: string; sql: string }[] {
  return patterns
    .filter((p) => p.kind === 'select')
    .filter((p) => /^\s*(select|with)\b/i.test(p.text))
    .filter((p) => !PLACEHOLDER.test(p.text) && !UNSAFE.test(p.text))
    .filter((p) => !p.text.replace(/;\s*$/, '').includes(';'))
    .sort((a, b) => (b.calls ?? 0) - (a.calls ?? 0))
    .slice(0, max)
    .map((p) => ({ name: `live: ${p.text.replace(/\s+/g, ' ').slice(0, 48)}`, sql: p.text.replace(/;\s*$/, '') }));
}
