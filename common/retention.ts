/**
 * Backup retention as a pure decision: given the backups a store holds (from their manifests), a policy and
 * the current instant, which to keep and which to delete, each with every reason. It follows restic `forget`
 * semantics so operators can reason about it with a tool they know: keep rules are ORed, calendar buckets
 * (daily, weekly, monthly, yearly) use natural boundaries in a time zone and count only periods that HAVE a
 * backup (an outage does not shrink what `daily: 7` keeps), and in each period the most recent one is kept.
 *
 * dbops additions, all on the side of keeping too much rather than too little:
 * - the newest verified backup (or, when none is verified, the newest unverified one) is never deleted,
 *   however old it is: a store must never be emptied of its last restorable copy;
 * - `minKeep` (Barman's minimum_redundancy) keeps at least that many good backups, newest first;
 * - `bad` backups (failed verification) never fill a calendar bucket, minKeep or the newest-verified rule.
 *   Inside the `keepWithinDays` window they are kept (reason "within N days (failed verification)") so an
 *   operator can inspect them; older ones are deleted. A pinned backup is kept whatever its status;
 * - a backup dated more than {@link FUTURE_TOLERANCE_MS} after `now` (clock skew), or whose date cannot be
 *   read, is not decided by the policy at all: it is kept and reported, and fills no bucket.
 * The window is inclusive: a backup exactly `keepWithinDays` days old is kept. The output is ordered newest
 * first (ties by id), so plans are stable and diffable.
 *
 * Pure and deterministic: no Node APIs beyond `Intl`, `now` is a parameter. Workflows import it.
 */
import { z } from 'zod';
import { DbopsError, ErrorCode } from './errors';

/** How long backups are kept. Counts are per calendar period that has at least one backup. */
export interface RetentionPolicy {
  /** Keep everything taken within this many days of `now` (0 only together with gfs or minKeep). */
  keepWithinDays: number;
  /** restic's --keep-daily/weekly/monthly/yearly: the newest good backup of each of the last n periods. */
  gfs?: { daily?: number; weekly?: number; monthly?: number; yearly?: number };
  /** Never go below this many good (not bad) backups, newest first. */
  minKeep?: number;
  /** IANA zone whose calendar defines days, ISO weeks, months and years; default UTC. */
  timeZone?: string;
}

/** One backup as its manifest describes it. */
export interface RetentionCandidate {
  /** Backup id, e.g. `local_pg/20261130T030000Z`. */
  id: string;
  /** ISO-8601 instant with an explicit zone (`Z` or `±hh:mm`). */
  takenAt: string;
  /** `bad` = failed verification. */
  status: 'verified' | 'unverified' | 'bad';
  /** Kept whatever the policy says. */
  pinned?: boolean;
}

/** What happens to one backup, and every reason why. */
export interface RetentionDecision {
  id: string;
  action: 'keep' | 'delete';
  reasons: string[];
}

/** How far in the future a backup's date may be (clock skew between hosts) and still be decided by the policy. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** Reason given to backups dated beyond {@link FUTURE_TOLERANCE_MS} after `now`. */
export const FUTURE_REASON = 'taken in the future (clock skew?): ignored';

const DAY_MS = 86_400_000;
const GFS_KINDS = ['daily', 'weekly', 'monthly', 'yearly'] as const;
type GfsKind = (typeof GFS_KINDS)[number];

// An instant with an explicit zone: without one, Date.parse would read local time (not deterministic).
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

function got(input: unknown): string {
  return input === undefined ? 'nothing' : JSON.stringify(input);
}

/** True when `timeZone` is an IANA zone this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone });
    return true;
  } catch {
    return false;
  }
}

const count = (field: string) => {
  const message = (i: { input?: unknown }) => `${field} must be a whole number ≥ 0, got ${got(i.input)}`;
  return z.number({ error: message }).int({ error: message }).min(0, { error: message });
};

const policyShape = {
  keepWithinDays: count('keepWithinDays'),
  gfs: z
    .strictObject(
      {
        daily: count('gfs.daily'),
        weekly: count('gfs.weekly'),
        monthly: count('gfs.monthly'),
        yearly: count('gfs.yearly'),
      },
      {
        error: (i) =>
          i.code === 'unrecognized_keys'
            ? `gfs: unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')} (the fields are ${GFS_KINDS.join(', ')})`
            : `gfs must be an object such as {"daily": 7, "weekly": 4}, got ${got(i.input)}`,
      },
    )
    .partial()
    .optional(),
  minKeep: count('minKeep').optional(),
  timeZone: z
    .string({ error: (i) => `timeZone must be an IANA zone name such as "Europe/Paris", got ${got(i.input)}` })
    .refine(isValidTimeZone, {
      error: (i) => `timeZone ${got(i.input)} is not an IANA zone this runtime knows, e.g. "UTC" or "Europe/Paris"`,
    })
    .optional(),
};

/**
 * The policy's schema: types, ranges, no unknown keys, and no empty policy (restic refuses one too: it
 * would delete everything but the newest backup). `keepWithinDays` may be 0 only when a gfs count or
 * minKeep is at least 1.
 */
export const retentionPolicySchema = z
  .strictObject(policyShape, {
    error: (i) =>
      i.code === 'unrecognized_keys'
        ? `unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}: check the spelling (the fields are ${Object.keys(policyShape).join(', ')})`
        : `a retention policy must be an object such as {"keepWithinDays": 30}, got ${got(i.input)}`,
  })
  .superRefine((policy, ctx) => {
    const other = GFS_KINDS.some((k) => (policy.gfs?.[k] ?? 0) > 0) || (policy.minKeep ?? 0) > 0;
    if (policy.keepWithinDays === 0 && !other) {
      ctx.addIssue({
        code: 'custom',
        path: ['keepWithinDays'],
        message: `the retention policy keeps nothing: set keepWithinDays to 1 or more, or a gfs count or minKeep ≥ 1 (got keepWithinDays ${policy.keepWithinDays})`,
      });
    }
  });

/** What is wrong with a policy, one sentence per problem (empty when it is valid). */
export function retentionPolicyProblems(policy: unknown): string[] {
  const parsed = retentionPolicySchema.safeParse(policy);
  return parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date of an instant in a zone. */
function localDate(ms: number, timeZone: string): { year: number; month: number; day: number } {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, format);
  }
  const part = (type: string) => Number(format.formatToParts(ms).find((p) => p.type === type)?.value);
  return { year: part('year'), month: part('month'), day: part('day') };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** ISO-8601 week of a calendar date: weeks run Monday–Sunday and belong to the year of their Thursday. */
export function isoWeek(year: number, month: number, day: number): string {
  const date = Date.UTC(year, month - 1, day);
  const weekday = ((new Date(date).getUTCDay() + 6) % 7) + 1; // Monday 1 … Sunday 7
  const thursday = date + (4 - weekday) * DAY_MS;
  const weekYear = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(weekYear, 0, 1)) / DAY_MS / 7) + 1;
  return `${pad(weekYear, 4)}-W${pad(week)}`;
}

/** The calendar periods an instant belongs to in a zone, as they appear in reasons. */
function periods(ms: number, timeZone: string): Record<GfsKind, string> {
  const { year, month, day } = localDate(ms, timeZone);
  return {
    daily: `${pad(year, 4)}-${pad(month)}-${pad(day)}`,
    weekly: isoWeek(year, month, day),
    monthly: `${pad(year, 4)}-${pad(month)}`,
    yearly: pad(year, 4),
  };
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parseInstant(text: string): number | undefined {
  if (typeof text !== 'string' || !INSTANT.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Decides, for every candidate, keep or delete with all the reasons, newest first. Throws a BadInput
 * DbopsError when the policy is invalid or `now` is not an ISO-8601 instant: nothing is decided then.
 */
export function planRetention(
  candidates: RetentionCandidate[],
  policy: RetentionPolicy,
  now: string,
): RetentionDecision[] {
  const problems = retentionPolicyProblems(policy);
  if (problems.length > 0) {
    throw new DbopsError(ErrorCode.BadInput, `invalid retention policy: ${problems.join('; ')}`);
  }
  const nowMs = parseInstant(now);
  if (nowMs === undefined) {
    throw new DbopsError(ErrorCode.BadInput, `now must be an ISO-8601 instant with a zone, got ${got(now)}`);
  }
  const timeZone = policy.timeZone ?? 'UTC';
  const within = policy.keepWithinDays;

  const entries = candidates
    .map((candidate) => ({ candidate, ms: parseInstant(candidate.takenAt), reasons: [] as string[] }))
    .sort((a, b) => (b.ms ?? Infinity) - (a.ms ?? Infinity) || compareIds(a.candidate.id, b.candidate.id));

  // Only backups with a readable date not in the future are decided by the policy.
  const decided = entries.filter((e) => {
    if (e.ms === undefined) {
      e.reasons.push(`takenAt ${got(e.candidate.takenAt)} is not an ISO-8601 instant: ignored`);
      return false;
    }
    if (e.ms > nowMs + FUTURE_TOLERANCE_MS) {
      e.reasons.push(FUTURE_REASON);
      return false;
    }
    return true;
  });
  const good = decided.filter((e) => e.candidate.status !== 'bad');

  for (const e of decided) {
    if (within > 0 && nowMs - (e.ms as number) <= within * DAY_MS) {
      e.reasons.push(
        e.candidate.status === 'bad' ? `within ${within} days (failed verification)` : `within ${within} days`,
      );
    }
  }

  // restic: walking newest first, a backup opens a new period when its period differs from the previous
  // one's; the first n periods opened are kept, each by its most recent backup.
  for (const kind of GFS_KINDS) {
    const wanted = policy.gfs?.[kind] ?? 0;
    let kept = 0;
    let last: string | undefined;
    for (const e of good) {
      if (kept >= wanted) break;
      const period = periods(e.ms as number, timeZone)[kind];
      if (period === last) continue;
      last = period;
      kept += 1;
      e.reasons.push(`${kind} ${period}`);
    }
  }

  const newest = good.find((e) => e.candidate.status === 'verified') ?? good[0];
  if (newest) {
    newest.reasons.push(
      newest.candidate.status === 'verified' ? 'newest verified backup' : 'newest unverified backup (none is verified)',
    );
  }

  const minKeep = policy.minKeep ?? 0;
  for (const e of good.slice(0, minKeep)) e.reasons.push(`minKeep ${minKeep}`);

  for (const e of entries) if (e.candidate.pinned) e.reasons.push('pinned');

  return entries.map(({ candidate, reasons }): RetentionDecision => {
    if (reasons.length > 0) return { id: candidate.id, action: 'keep', reasons };
    const why = [
      ...(candidate.status === 'bad' ? ['failed verification'] : []),
      ...(within > 0 ? [`older than ${within} days`] : []),
      candidate.status === 'bad' ? 'bad backups fill no gfs period nor minKeep' : 'kept by no gfs period nor minKeep',
    ];
    return { id: candidate.id, action: 'delete', reasons: why };
  });
}
