/**
 * What `dbops watch` and `--wait` show: line text, rate, ETA, bar payloads, the signals per phase, the NDJSON
 * events, and the TTY renderer drawing cli-progress bars on a fake terminal stream.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { approveSignal, finalizeSignal, MIGRATION_WORKFLOW, rollbackSignal } from '../../common/contracts/migration';
import type { Progress } from '../../common/progress';
import {
  barPayload,
  buildView,
  etaSeconds,
  eventKey,
  finalLine,
  formatAmount,
  formatDuration,
  formatRate,
  percent,
  PlainLines,
  plainLine,
  progressEvent,
  RateMeter,
  SIGNALS_BY_PHASE,
  signalsFor,
  summarizeResult,
  type WatchSample,
} from '../../scripts/cli/progress-view';
import { JsonRenderer, PlainRenderer, TtyRenderer } from '../../scripts/cli/watch-render';

const at = (h: number, m: number, s: number) => new Date(2026, 0, 1, h, m, s).getTime();
const ANSI = /\x1b\[/;

function sample(time: number, progress: Progress | undefined, phase = progress?.phase ?? 'running'): WatchSample {
  return { at: time, workflowId: 'mig-1', type: MIGRATION_WORKFLOW, phase, progress };
}

describe('formatting', () => {
  it('amounts, rates, durations and percentages', () => {
    expect(formatAmount(45_000, 'rows')).toBe('45,000 rows');
    expect(formatAmount(1536, 'bytes')).toBe('1.5 kB');
    expect(formatAmount(3, 'steps')).toBe('3 steps');
    expect(formatRate(9_800.4, 'rows')).toBe('9,800 rows/s');
    expect(formatRate(1_572_864, 'bytes')).toBe('1.5 MB/s');
    expect(formatRate(undefined, 'rows')).toBe('');
    expect(formatDuration(8)).toBe('8s');
    expect(formatDuration(125)).toBe('2m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(undefined)).toBe('');
    expect(percent(45_000, 120_000)).toBe(37);
    expect(percent(119_999, 120_000)).toBe(99);
    expect(percent(0, 0)).toBe(100);
  });

  it('ETA: seconds left at the rate, rounded up; unknown without a positive rate; 0 when done', () => {
    expect(etaSeconds(45_000, 120_000, 9_800)).toBe(8);
    expect(etaSeconds(45_000, 120_000, 0)).toBeUndefined();
    expect(etaSeconds(45_000, 120_000, undefined)).toBeUndefined();
    expect(etaSeconds(120_000, 120_000, undefined)).toBe(0);
  });

  it('the plain line of the issue, without escape sequences', () => {
    const view = buildView(
      sample(at(12, 0, 1), { phase: 'import', message: '', done: 45_000, total: 120_000, ratePerSecond: 9_800 }),
      new RateMeter(),
    );
    expect(plainLine(view)).toBe('12:00:01 import  45,000/120,000 rows (37 %)  9,800 rows/s  ETA 8s');
    expect(plainLine(view)).not.toMatch(ANSI);
  });

  it('the plain line of a phase without counters carries the message, or says no worker answers', () => {
    const meter = new RateMeter();
    expect(plainLine(buildView(sample(at(9, 5, 0), { phase: 'export', message: 'profiling' }), meter))).toBe(
      '09:05:00 export  — profiling',
    );
    expect(plainLine(buildView(sample(at(9, 5, 1), undefined, 'verify'), meter))).toBe(
      '09:05:01 verify  (no worker is answering the progress query; phase from the DbopsPhase search attribute)',
    );
  });

  it('final line and result summary', () => {
    expect(
      finalLine({ at: at(12, 0, 9), workflowId: 'mig-1', status: 'completed', exitCode: 0, elapsedSeconds: 9 }),
    ).toBe('12:00:09 completed  mig-1 in 9s  (exit 0)');
    expect(
      finalLine({ at: at(12, 0, 9), workflowId: 'mig-1', status: 'failed', exitCode: 1, error: 'DBOPS_X: broke' }),
    ).toBe('12:00:09 failed  mig-1  (exit 1)  DBOPS_X: broke');
    expect(
      summarizeResult('mig-1', { status: 'completed', schema: 'public', tables: [1, 2], warnings: [], nested: {} }),
    ).toEqual(['  result: completed  schema public, tables: 2', '  full result: npx dbops result mig-1']);
  });
});

describe('rate', () => {
  it('measured between samples when the workflow gives none; restarts when the counter goes back', () => {
    const meter = new RateMeter();
    expect(meter.observe('t', 0, 0, 1000)).toBeUndefined();
    expect(meter.observe('t', 1000, 100, 1000)).toBe(100);
    expect(meter.observe('t', 2000, 300, 1000)).toBe(150);
    expect(meter.observe('t', 3000, 50, 1000)).toBeUndefined();
    expect(meter.observe('t', 4000, 250, 1000)).toBe(200);
    // A new total (another phase counting) starts over too.
    expect(meter.observe('t', 5000, 260, 2000)).toBeUndefined();
  });

  it('averages over the last ~10 s only', () => {
    const meter = new RateMeter();
    meter.observe('t', 0, 0, 1e6);
    meter.observe('t', 10_000, 100_000, 1e6); // 10,000/s
    for (let s = 11; s <= 20; s++) meter.observe('t', s * 1000, 100_000 + (s - 10) * 1000, 1e6); // 1,000/s
    expect(meter.observe('t', 21_000, 111_000, 1e6)).toBe(1000);
  });

  it('buildView prefers ratePerSecond, else measures; bars per item with their own rate and ETA', () => {
    const meter = new RateMeter();
    const items = (users: number) => [
      { name: 'users', done: users, total: 1000, unit: 'rows' as const, state: 'importing' },
      { name: 'courses', done: 18, total: 18, unit: 'rows' as const, state: 'verified' },
    ];
    buildView(sample(0, { phase: 'import', message: 'm', done: 0, total: 2000, items: items(0) }), meter);
    const view = buildView(
      sample(2000, { phase: 'import', message: 'm', done: 400, total: 2000, items: items(400) }),
      meter,
    );
    expect(view.overall).toMatchObject({ done: 400, total: 2000, rate: 200, etaSeconds: 8 });
    expect(view.items[0]).toMatchObject({ name: 'users', rate: 200, etaSeconds: 3, state: 'importing' });
    expect(view.items[1]).toMatchObject({ name: 'courses', etaSeconds: 0, state: 'verified' });
    const given = buildView(
      sample(3000, { phase: 'import', message: 'm', done: 500, total: 2000, ratePerSecond: 50 }),
      meter,
    );
    expect(given.overall).toMatchObject({ rate: 50, etaSeconds: 30 });
  });
});

describe('signals per phase', () => {
  it('migrateSqliteToPostgres: the real signal names, by phase', () => {
    const names = new Set([approveSignal.name, finalizeSignal.name, rollbackSignal.name]);
    for (const list of Object.values(SIGNALS_BY_PHASE[MIGRATION_WORKFLOW] ?? {})) {
      for (const name of list) expect(names).toContain(name);
    }
    expect(signalsFor(MIGRATION_WORKFLOW, 'awaiting_approval')).toEqual(['approve', 'rollback']);
    expect(signalsFor(MIGRATION_WORKFLOW, 'awaiting_finalize')).toEqual(['finalize', 'rollback']);
    for (const phase of ['backup', 'export', 'create_schema', 'import', 'index', 'verify'])
      expect(signalsFor(MIGRATION_WORKFLOW, phase)).toEqual(['rollback']);
    expect(signalsFor(MIGRATION_WORKFLOW, 'completed')).toEqual([]);
    expect(signalsFor('connectionCheck', 'check')).toEqual([]);
  });
});

describe('plain lines (not a TTY)', () => {
  it('one line per phase change, at most one every 5 s while counters move, signals when they change', () => {
    const lines = new PlainLines(5_000);
    const meter = new RateMeter();
    const next = (time: number, p: Progress) => lines.next(buildView(sample(time, p), meter));
    expect(next(at(12, 0, 0), { phase: 'backup', message: 'backing up the source' })).toEqual([
      '12:00:00 backup  — backing up the source',
      '           signals: rollback  (npx dbops signal mig-1 <name>)',
    ]);
    expect(next(at(12, 0, 1), { phase: 'backup', message: 'backing up the source' })).toEqual([]);
    // Same signals as in backup: not repeated.
    expect(next(at(12, 0, 2), { phase: 'import', message: 'a', done: 0, total: 100 })).toEqual([
      '12:00:02 import  0/100 rows (0 %)  — a',
    ]);
    expect(next(at(12, 0, 3), { phase: 'import', message: 'b', done: 10, total: 100 })).toEqual([]);
    expect(next(at(12, 0, 7), { phase: 'import', message: 'c', done: 50, total: 100 })).toEqual([
      '12:00:07 import  50/100 rows (50 %)  10 rows/s  ETA 5s  — c',
    ]);
    const approval = next(at(12, 0, 8), { phase: 'awaiting_approval', message: 'verified; waiting' });
    expect(approval).toEqual([
      '12:00:08 awaiting_approval  — verified; waiting',
      '           signals: approve | rollback  (npx dbops signal mig-1 <name>)',
    ]);
    for (const line of approval) expect(line).not.toMatch(ANSI);
  });

  it('item lines for the items that moved since the last line', () => {
    const out: string[] = [];
    const renderer = new PlainRenderer((l) => out.push(...l.split('\n')));
    const meter = new RateMeter();
    const items = (users: number, state: string) => [
      { name: 'users', done: users, total: 1000, unit: 'rows' as const, state },
      { name: 'courses', done: 18, total: 18, unit: 'rows' as const, state: 'verified' },
    ];
    renderer.show(
      buildView(
        sample(0, { phase: 'import', message: '', done: 18, total: 1018, items: items(0, 'importing') }),
        meter,
      ),
    );
    renderer.show(
      buildView(
        sample(6000, { phase: 'import', message: '', done: 618, total: 1018, items: items(600, 'importing') }),
        meter,
      ),
    );
    expect(out).toEqual([
      expect.stringMatching(/ import {2}18\/1,018 rows \(1 %\)$/),
      '           users    0/1,000 rows (0 %)  importing',
      '           courses  18/18 rows (100 %)  verified',
      '           signals: rollback  (npx dbops signal mig-1 <name>)',
      expect.stringMatching(/ import {2}618\/1,018 rows \(60 %\) {2}100 rows\/s {2}ETA 4s$/),
      '           users    600/1,000 rows (60 %)  100 rows/s  ETA 4s  importing',
    ]);
  });
});

describe('bar payload and NDJSON events', () => {
  it('bar tokens: padded name, percent, amounts, rate and ETA while running, state', () => {
    expect(
      barPayload(
        { name: 'users', done: 300, total: 1000, unit: 'rows', rate: 100, etaSeconds: 7, state: 'importing' },
        8,
      ),
    ).toEqual({
      label: 'users   ',
      pct: ' 30 %',
      amount: '300/1,000 rows',
      rate: '100 rows/s',
      left: 'ETA 7s',
      state: 'importing',
    });
    expect(barPayload({ name: 'app.db', done: 2048, total: 2048, unit: 'bytes', rate: 10, etaSeconds: 0 }, 6)).toEqual({
      label: 'app.db',
      pct: '100 %',
      amount: '2.0 kB/2.0 kB',
      rate: '',
      left: '',
      state: '',
    });
  });

  it('one event per change of phase, message or counter (not of the rate alone)', () => {
    const out: string[] = [];
    const renderer = new JsonRenderer((l) => out.push(l));
    const meter = new RateMeter();
    const p = { phase: 'import', message: 'm', done: 10, total: 100 };
    renderer.show(buildView(sample(0, p), meter));
    renderer.show(buildView(sample(1000, p), meter));
    renderer.show(buildView(sample(2000, { ...p, done: 30 }), meter));
    expect(out).toHaveLength(2);
    const event = JSON.parse(out[1] ?? '') as Record<string, unknown>;
    expect(event).toMatchObject({
      event: 'progress',
      workflowId: 'mig-1',
      type: MIGRATION_WORKFLOW,
      phase: 'import',
      worker: true,
      done: 30,
      total: 100,
      unit: 'rows',
      items: [],
      signals: ['rollback'],
    });
    expect(typeof event.ratePerSecond).toBe('number');
    const view = buildView(sample(3000, p), meter);
    expect(progressEvent(view).time).toBe(new Date(3000).toISOString());
    expect(eventKey(view)).not.toBe(eventKey({ ...view, phase: 'index' }));
  });
});

describe('TTY renderer', () => {
  /** A terminal-like stream: isTTY, columns, and what was written to it. */
  function fakeTerminal() {
    let text = '';
    const stream = Object.assign(
      new Writable({
        write(chunk: Buffer | string, _enc, done) {
          text += chunk.toString();
          done();
        },
      }),
      { isTTY: true, columns: 120 },
    );
    return { stream, text: () => text };
  }

  it('draws a header, the signals and one cli-progress bar per item, then the final line', () => {
    const term = fakeTerminal();
    const renderer = new TtyRenderer(term.stream);
    const meter = new RateMeter();
    const items = (users: number) => [
      { name: 'users', done: users, total: 1000, unit: 'rows' as const, state: 'importing' },
      { name: 'courses', done: 18, total: 18, unit: 'rows' as const, state: 'verified' },
    ];
    renderer.show(buildView(sample(0, { phase: 'backup', message: 'backing up the source' }), meter));
    renderer.show(
      buildView(sample(1000, { phase: 'import', message: 'importing', done: 18, total: 1018, items: items(0) }), meter),
    );
    renderer.show(
      buildView(
        sample(2000, { phase: 'import', message: 'importing', done: 518, total: 1018, items: items(500) }),
        meter,
      ),
    );
    renderer.show(buildView(sample(3000, { phase: 'awaiting_approval', message: 'verified; waiting' }), meter));
    renderer.end({ at: 4000, workflowId: 'mig-1', status: 'completed', exitCode: 0 });
    const text = term.text();
    expect(text).toMatch(ANSI);
    expect(text).toContain('mig-1  migrateSqliteToPostgres  phase import — importing');
    expect(text).toMatch(/users {3}█+░+ {2}50 % {2}500\/1,000 rows {2}500 rows\/s {2}ETA 1s {2}importing/);
    expect(text).toMatch(/courses █{24} 100 % {2}18\/18 rows/);
    expect(text).toMatch(/total {3}█+░+ {2}50 % {2}518\/1,018 rows/);
    expect(text).toContain('signals: approve | rollback  (npx dbops signal mig-1 <name>)');
    // Each phase change is logged above the bars as a plain line.
    expect(text).toMatch(/\d\d:\d\d:\d\d import {2}18\/1,018 rows/);
    expect(text).toContain('completed  mig-1  (exit 0)\n');
  });

  it('a run already closed: only the final line, no escape sequences', () => {
    const term = fakeTerminal();
    new TtyRenderer(term.stream).end({ at: at(8, 0, 0), workflowId: 'mig-2', status: 'rolled_back', exitCode: 1 });
    expect(term.text()).toBe('08:00:00 rolled_back  mig-2  (exit 1)\n');
  });
});
