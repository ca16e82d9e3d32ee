/**
 * The retention policy (common/retention.ts) decides which backups are deleted, so every rule is pinned
 * down here with exact kept/deleted sets and reasons: the window, restic-style calendar buckets counted only
 * over periods that have backups, time zones and ISO weeks across a year boundary, the safety rules (newest
 * verified, minKeep, bad backups, clock skew) and the refusal of empty or invalid policies.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors';
import {
  FUTURE_REASON,
  isoWeek,
  planRetention,
  retentionPolicyProblems,
  type RetentionCandidate,
  type RetentionDecision,
  type RetentionPolicy,
} from '../../common/retention';

/** A backup taken at `takenAt` (ISO), its id derived from the instant like the real ones. */
function backup(takenAt: string, status: RetentionCandidate['status'] = 'verified', pinned?: boolean) {
  const id = `local_pg/${takenAt.replace(/[-:]/g, '').replace(/\.\d+/, '')}`;
  return { id, takenAt, status, ...(pinned === undefined ? {} : { pinned }) } satisfies RetentionCandidate;
}

/** One backup a day at `hour` UTC, from `first` to `last` (YYYY-MM-DD) inclusive. */
function daily(first: string, last: string, hour = '03:00'): RetentionCandidate[] {
  const out: RetentionCandidate[] = [];
  for (let ms = Date.parse(`${first}T${hour}:00Z`); ms <= Date.parse(`${last}T${hour}:00Z`); ms += 86_400_000) {
    out.push(backup(new Date(ms).toISOString().replace('.000', '')));
  }
  return out;
}

const kept = (decisions: RetentionDecision[]) => decisions.filter((d) => d.action === 'keep').map((d) => d.id);
const deleted = (decisions: RetentionDecision[]) => decisions.filter((d) => d.action === 'delete').map((d) => d.id);
const byId = (decisions: RetentionDecision[], id: string) => decisions.find((d) => d.id === id);
const idOf = (takenAt: string) => backup(takenAt).id;

describe('keepWithinDays', () => {
  it('keeps the last 30 days (boundary inclusive) and deletes the rest, saying why', () => {
    const now = '2026-11-30T03:00:00Z';
    const decisions = planRetention(daily('2026-09-01', '2026-11-30'), { keepWithinDays: 30 }, now);
    // 2026-10-31T03:00Z is exactly 30 days old: kept; 2026-10-30 is not.
    expect(kept(decisions)).toHaveLength(31);
    expect(kept(decisions).at(-1)).toBe(idOf('2026-10-31T03:00:00Z'));
    expect(deleted(decisions)[0]).toBe(idOf('2026-10-30T03:00:00Z'));
    expect(byId(decisions, idOf('2026-10-31T03:00:00Z'))?.reasons).toEqual(['within 30 days']);
    expect(byId(decisions, idOf('2026-09-01T03:00:00Z'))).toEqual({
      id: idOf('2026-09-01T03:00:00Z'),
      action: 'delete',
      reasons: ['older than 30 days', 'kept by no gfs period nor minKeep'],
    });
  });

  it('returns decisions newest first whatever the input order, ties by id', () => {
    const backups = [
      backup('2026-11-20T03:00:00Z'),
      { ...backup('2026-11-29T03:00:00Z'), id: 'b' },
      backup('2026-11-25T03:00:00Z'),
      { ...backup('2026-11-29T03:00:00Z'), id: 'a' },
    ];
    const policy = { keepWithinDays: 30 };
    const forward = planRetention(backups, policy, '2026-11-30T00:00:00Z');
    expect(forward.map((d) => d.id)).toEqual(['a', 'b', idOf('2026-11-25T03:00:00Z'), idOf('2026-11-20T03:00:00Z')]);
    expect(planRetention([...backups].reverse(), policy, '2026-11-30T00:00:00Z')).toEqual(forward);
  });
});

describe('calendar buckets (restic --keep-daily/weekly/monthly/yearly)', () => {
  it('daily counts only days that have backups: a 10-day outage does not shrink what daily=7 keeps', () => {
    // Backups 2026-11-01 … 11-15, then nothing for 10 days. A naive now-relative rule ("anything taken in the
    // last 7 days before now") would keep none of them; restic keeps the newest of each of the last 7 days
    // that have one. The newest of the day wins when a day has two.
    const backups = [...daily('2026-11-01', '2026-11-15'), backup('2026-11-15T15:00:00Z')];
    const decisions = planRetention(backups, { keepWithinDays: 0, gfs: { daily: 7 } }, '2026-11-25T12:00:00Z');
    expect(kept(decisions)).toEqual([
      idOf('2026-11-15T15:00:00Z'),
      idOf('2026-11-14T03:00:00Z'),
      idOf('2026-11-13T03:00:00Z'),
      idOf('2026-11-12T03:00:00Z'),
      idOf('2026-11-11T03:00:00Z'),
      idOf('2026-11-10T03:00:00Z'),
      idOf('2026-11-09T03:00:00Z'),
    ]);
    expect(byId(decisions, idOf('2026-11-15T03:00:00Z'))?.action).toBe('delete');
    expect(byId(decisions, idOf('2026-11-09T03:00:00Z'))?.reasons).toEqual(['daily 2026-11-09']);
    expect(byId(decisions, idOf('2026-11-15T15:00:00Z'))?.reasons).toEqual([
      'daily 2026-11-15',
      'newest verified backup',
    ]);
  });

  it('monthly and yearly keep the newest backup of each of the last n months/years that have one', () => {
    // The 1st of every month from 2024-06 to 2026-11, except a gap in 2026-08.
    const backups = [];
    for (let y = 2024; y <= 2026; y++) {
      for (let m = 1; m <= 12; m++) {
        const ym = `${y}-${String(m).padStart(2, '0')}`;
        if (ym >= '2024-06' && ym <= '2026-11' && ym !== '2026-08') backups.push(backup(`${ym}-01T03:00:00Z`));
      }
    }
    const policy = { keepWithinDays: 0, gfs: { monthly: 3, yearly: 3 } };
    const decisions = planRetention(backups, policy, '2026-11-30T12:00:00Z');
    expect(kept(decisions)).toEqual([
      idOf('2026-11-01T03:00:00Z'),
      idOf('2026-10-01T03:00:00Z'),
      idOf('2026-09-01T03:00:00Z'),
      idOf('2025-12-01T03:00:00Z'),
      idOf('2024-12-01T03:00:00Z'),
    ]);
    expect(byId(decisions, idOf('2026-09-01T03:00:00Z'))?.reasons).toEqual(['monthly 2026-09']);
    expect(byId(decisions, idOf('2026-07-01T03:00:00Z'))?.action).toBe('delete');
    expect(byId(decisions, idOf('2025-12-01T03:00:00Z'))?.reasons).toEqual(['yearly 2025']);
    expect(byId(decisions, idOf('2026-11-01T03:00:00Z'))?.reasons).toEqual([
      'monthly 2026-11',
      'yearly 2026',
      'newest verified backup',
    ]);
  });

  it('weeks run Monday–Sunday and cross the year boundary as ISO weeks (2026-W53, 2027-W01)', () => {
    const backups = [
      backup('2026-12-27T12:00:00Z'), // Sunday, 2026-W52
      backup('2026-12-28T12:00:00Z'), // Monday, 2026-W53
      backup('2027-01-03T12:00:00Z'), // Sunday, 2026-W53 (newest of that week)
      backup('2027-01-04T12:00:00Z'), // Monday, 2027-W01
    ];
    const decisions = planRetention(backups, { keepWithinDays: 0, gfs: { weekly: 3 } }, '2027-01-05T00:00:00Z');
    expect(decisions.map((d) => [d.action, d.reasons[0]])).toEqual([
      ['keep', 'weekly 2027-W01'],
      ['keep', 'weekly 2026-W53'],
      ['delete', 'kept by no gfs period nor minKeep'],
      ['keep', 'weekly 2026-W52'],
    ]);
  });

  it.each([
    [[2026, 1, 1], '2026-W01'],
    [[2025, 12, 29], '2026-W01'],
    [[2027, 1, 1], '2026-W53'],
    [[2027, 1, 4], '2027-W01'],
    [[2021, 1, 3], '2020-W53'],
    [[2024, 12, 30], '2025-W01'],
  ] as const)('isoWeek(%j) = %s', ([y, m, d], week) => {
    expect(isoWeek(y, m, d)).toBe(week);
  });

  it('buckets are calendar periods of the policy time zone: 23:30 UTC is the next day in Asia/Tokyo', () => {
    const backups = [
      backup('2026-11-29T05:00:00Z'), // 14:00 on 11-29 in Tokyo
      backup('2026-11-29T23:30:00Z'), // 08:30 on 11-30 in Tokyo, still 11-29 in UTC
      backup('2026-11-30T10:00:00Z'), // 19:00 on 11-30 in Tokyo
    ];
    const now = '2026-11-30T12:00:00Z';
    const tokyo = planRetention(backups, { keepWithinDays: 0, gfs: { daily: 2 }, timeZone: 'Asia/Tokyo' }, now);
    expect(tokyo.map((d) => [d.action, d.reasons[0]])).toEqual([
      ['keep', 'daily 2026-11-30'],
      ['delete', 'kept by no gfs period nor minKeep'],
      ['keep', 'daily 2026-11-29'],
    ]);
    const utc = planRetention(backups, { keepWithinDays: 0, gfs: { daily: 2 } }, now);
    expect(utc.map((d) => [d.action, d.reasons[0]])).toEqual([
      ['keep', 'daily 2026-11-30'],
      ['keep', 'daily 2026-11-29'],
      ['delete', 'kept by no gfs period nor minKeep'],
    ]);
  });

  it('a Sunday 23:30 UTC backup is in the next ISO week in Asia/Tokyo', () => {
    const backups = [backup('2027-01-03T23:30:00Z'), backup('2027-01-03T10:00:00Z')];
    const policy = { keepWithinDays: 0, gfs: { weekly: 2 }, timeZone: 'Asia/Tokyo' };
    expect(planRetention(backups, policy, '2027-01-04T00:00:00Z').map((d) => d.reasons[0])).toEqual([
      'weekly 2027-W01',
      'weekly 2026-W53',
    ]);
  });
});

describe('safety rules', () => {
  it('never deletes the newest verified backup, even older than the window', () => {
    const backups = [
      backup('2026-09-01T03:00:00Z', 'verified'),
      backup('2026-09-15T03:00:00Z', 'unverified'),
      backup('2026-11-25T03:00:00Z', 'bad'),
    ];
    const decisions = planRetention(backups, { keepWithinDays: 30 }, '2026-11-30T12:00:00Z');
    expect(decisions).toEqual([
      { id: idOf('2026-11-25T03:00:00Z'), action: 'keep', reasons: ['within 30 days (failed verification)'] },
      {
        id: idOf('2026-09-15T03:00:00Z'),
        action: 'delete',
        reasons: ['older than 30 days', 'kept by no gfs period nor minKeep'],
      },
      { id: idOf('2026-09-01T03:00:00Z'), action: 'keep', reasons: ['newest verified backup'] },
    ]);
  });

  it('when none is verified, keeps the newest unverified one (never a bad one)', () => {
    const backups = [
      backup('2026-09-01T03:00:00Z', 'unverified'),
      backup('2026-09-15T03:00:00Z', 'unverified'),
      backup('2026-09-20T03:00:00Z', 'bad'),
    ];
    const decisions = planRetention(backups, { keepWithinDays: 30 }, '2026-11-30T12:00:00Z');
    expect(kept(decisions)).toEqual([idOf('2026-09-15T03:00:00Z')]);
    expect(byId(decisions, idOf('2026-09-15T03:00:00Z'))?.reasons).toEqual([
      'newest unverified backup (none is verified)',
    ]);
  });

  it('minKeep keeps that many good backups, newest first, skipping bad ones', () => {
    const backups = [
      backup('2026-08-05T03:00:00Z'),
      backup('2026-08-04T03:00:00Z', 'bad'),
      backup('2026-08-03T03:00:00Z'),
      backup('2026-08-02T03:00:00Z', 'unverified'),
      backup('2026-08-01T03:00:00Z'),
    ];
    const decisions = planRetention(backups, { keepWithinDays: 30, minKeep: 3 }, '2026-11-30T12:00:00Z');
    expect(kept(decisions)).toEqual([
      idOf('2026-08-05T03:00:00Z'),
      idOf('2026-08-03T03:00:00Z'),
      idOf('2026-08-02T03:00:00Z'),
    ]);
    expect(byId(decisions, idOf('2026-08-02T03:00:00Z'))?.reasons).toEqual(['minKeep 3']);
    expect(byId(decisions, idOf('2026-08-04T03:00:00Z'))?.reasons).toEqual([
      'failed verification',
      'older than 30 days',
      'bad backups fill no gfs period nor minKeep',
    ]);
  });

  it('bad backups fill no calendar bucket: the newest good one of the day does, and a bad-only day is no period', () => {
    const backups = [
      backup('2026-11-03T03:00:00Z', 'bad'), // the only backup of 11-03: that day does not count
      backup('2026-11-02T15:00:00Z', 'bad'),
      backup('2026-11-02T03:00:00Z'), // newest good one of 11-02
      backup('2026-11-01T03:00:00Z'),
      backup('2026-10-31T03:00:00Z'),
    ];
    const decisions = planRetention(backups, { keepWithinDays: 0, gfs: { daily: 2 } }, '2026-11-30T12:00:00Z');
    expect(kept(decisions)).toEqual([idOf('2026-11-02T03:00:00Z'), idOf('2026-11-01T03:00:00Z')]);
    expect(byId(decisions, idOf('2026-11-03T03:00:00Z'))?.reasons).toEqual([
      'failed verification',
      'bad backups fill no gfs period nor minKeep',
    ]);
  });

  it('a pinned backup is kept whatever its age or status', () => {
    const backups = [backup('2020-01-01T00:00:00Z', 'bad', true), backup('2026-11-29T03:00:00Z')];
    const decisions = planRetention(backups, { keepWithinDays: 30 }, '2026-11-30T12:00:00Z');
    expect(byId(decisions, idOf('2020-01-01T00:00:00Z'))).toMatchObject({ action: 'keep', reasons: ['pinned'] });
  });

  it('a backup dated in the future is kept, reported and counts for nothing; a few minutes of skew is tolerated', () => {
    const now = '2026-11-30T12:00:00Z';
    const backups = [
      backup('2026-12-01T03:00:00Z'), // 15 h ahead: ignored
      backup('2026-11-30T12:02:00Z'), // 2 min ahead: decided normally
      backup('2026-10-01T03:00:00Z'),
    ];
    const decisions = planRetention(backups, { keepWithinDays: 1, minKeep: 2 }, now);
    expect(decisions).toEqual([
      { id: idOf('2026-12-01T03:00:00Z'), action: 'keep', reasons: [FUTURE_REASON] },
      {
        id: idOf('2026-11-30T12:02:00Z'),
        action: 'keep',
        reasons: ['within 1 days', 'newest verified backup', 'minKeep 2'],
      },
      { id: idOf('2026-10-01T03:00:00Z'), action: 'keep', reasons: ['minKeep 2'] },
    ]);
    expect(FUTURE_REASON).toBe('taken in the future (clock skew?): ignored');
    // Even a policy that would keep nothing else never deletes it.
    const alone = planRetention([backup('2027-06-01T00:00:00Z', 'bad')], { keepWithinDays: 1 }, now);
    expect(alone).toEqual([{ id: idOf('2027-06-01T00:00:00Z'), action: 'keep', reasons: [FUTURE_REASON] }]);
  });

  it('a takenAt that is not an instant with a zone is kept and reported, never deleted', () => {
    const decisions = planRetention(
      [{ id: 'x', takenAt: '2026-01-01 03:00', status: 'verified' }],
      { keepWithinDays: 1 },
      '2026-11-30T12:00:00Z',
    );
    expect(decisions).toEqual([
      { id: 'x', action: 'keep', reasons: ['takenAt "2026-01-01 03:00" is not an ISO-8601 instant: ignored'] },
    ]);
  });

  it('lists every reason a backup is kept, in rule order', () => {
    const policy: RetentionPolicy = {
      keepWithinDays: 30,
      gfs: { daily: 7, weekly: 4, monthly: 12, yearly: 3 },
      minKeep: 3,
    };
    const decisions = planRetention([backup('2026-11-29T03:00:00Z', 'verified', true)], policy, '2026-11-30T12:00:00Z');
    expect(decisions[0]?.reasons).toEqual([
      'within 30 days',
      'daily 2026-11-29',
      'weekly 2026-W48',
      'monthly 2026-11',
      'yearly 2026',
      'newest verified backup',
      'minKeep 3',
      'pinned',
    ]);
  });
});

describe('policy validation', () => {
  it.each([
    [{ keepWithinDays: 30 }],
    [{ keepWithinDays: 90, gfs: { daily: 7, weekly: 4, monthly: 12, yearly: 0 }, minKeep: 3 }],
    [{ keepWithinDays: 0, gfs: { daily: 7 } }],
    [{ keepWithinDays: 0, minKeep: 2 }],
    [{ keepWithinDays: 30, timeZone: 'Asia/Tokyo' }],
  ])('accepts %j', (policy) => {
    expect(retentionPolicyProblems(policy)).toEqual([]);
  });

  it.each([
    [{ keepWithinDays: 0 }, /keeps nothing/],
    [{ keepWithinDays: 0, gfs: {} }, /keeps nothing/],
    [{ keepWithinDays: 0, gfs: { daily: 0 }, minKeep: 0 }, /keeps nothing/],
    [{ keepWithinDays: 1.5 }, /keepWithinDays must be a whole number ≥ 0, got 1\.5/],
    [{ keepWithinDays: -1 }, /keepWithinDays must be a whole number ≥ 0, got -1/],
    [{ keepWithinDays: '30' }, /keepWithinDays must be a whole number/],
    [{ keepWithinDays: 30, gfs: { weekly: -1 } }, /gfs\.weekly must be a whole number ≥ 0/],
    [{ keepWithinDays: 30, gfs: { hourly: 24 } }, /gfs: unknown field\(s\) "hourly"/],
    [{ keepWithinDays: 30, minKeep: 2.5 }, /minKeep must be a whole number/],
    [{ keepWithinDays: 30, timeZone: 'Mars/Olympus_Mons' }, /timeZone "Mars\/Olympus_Mons" is not an IANA zone/],
    [{ keepWithinDays: 30, keepDaily: 7 }, /unknown field\(s\) "keepDaily"/],
    [null, /must be an object/],
  ])('refuses %j', (policy, message) => {
    const problems = retentionPolicyProblems(policy);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('planRetention refuses an invalid policy or now before deciding anything', () => {
    const backups = [backup('2020-01-01T00:00:00Z')];
    expect(() => planRetention(backups, { keepWithinDays: 0 }, '2026-11-30T12:00:00Z')).toThrow(
      expect.objectContaining({ code: ErrorCode.BadInput, message: expect.stringMatching(/keeps nothing/) }),
    );
    expect(() => planRetention(backups, { keepWithinDays: 30, timeZone: 'Nowhere/Land' }, 'now')).toThrow(
      expect.objectContaining({ code: ErrorCode.BadInput }),
    );
    expect(() => planRetention(backups, { keepWithinDays: 30 }, '2026-11-30 12:00')).toThrow(
      /now must be an ISO-8601 instant/,
    );
  });
});
