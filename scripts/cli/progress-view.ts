/**
 * What `dbops watch` (and `--wait`) shows, as pure functions of the samples it polls: the view of one
 * sample (phase, bars with rate and ETA, the signals the operator can send now), the plain line written
 * when stdout is not a terminal, the payload of each cli-progress bar, and the NDJSON event of `--json`.
 * No I/O and no clock here: times are passed in, so everything is unit-tested (test/unit/progress-view.test.ts).
 */
import type { Progress, ProgressItem, ProgressUnit } from '../../common/progress';
import { formatBytes } from './output';

/** One poll of a running workflow. `progress` is undefined when no worker answered the query. */
export interface WatchSample {
  /** When the sample was taken (ms since the epoch). */
  at: number;
  workflowId: string;
  /** Workflow type, e.g. `migrateSqliteToPostgres`. */
  type: string;
  /** From the progress query, else from the `DbopsPhase` search attribute, else from the status. */
  phase: string;
  progress?: Progress;
}

/** One bar: the whole phase, or one table / target. */
export interface BarView {
  name: string;
  done: number;
  total: number;
  unit: ProgressUnit;
  state?: string;
  /** Units per second: the workflow's own `ratePerSecond`, else measured between samples. */
  rate?: number;
  /** Seconds left at `rate`. */
  etaSeconds?: number;
}

/** What one sample shows. */
export interface WatchView {
  at: number;
  workflowId: string;
  type: string;
  phase: string;
  message: string;
  /** False when no worker answered the progress query (the phase then comes from the search attribute). */
  worker: boolean;
  /** The phase's done/total, when countable. */
  overall?: BarView;
  /** One per table or target (`Progress.items`), in the workflow's order. */
  items: BarView[];
  /** Signals that count in this phase (see SIGNALS_BY_PHASE). */
  signals: string[];
}

/**
 * The signals an operator can usefully send, per workflow type and phase. The workflow's "current details"
 * (Web UI) say the same in Markdown; the handlers are in workflows/migration-signals.ts.
 */
export const SIGNALS_BY_PHASE: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  migrateSqliteToPostgres: {
    backup: ['rollback'],
    export: ['rollback'],
    create_schema: ['rollback'],
    import: ['rollback'],
    index: ['rollback'],
    verify: ['rollback'],
    awaiting_approval: ['approve', 'rollback'],
    awaiting_finalize: ['finalize', 'rollback'],
  },
};

/** The signals that count for `type` in `phase` (none for an unknown type or phase). */
export function signalsFor(type: string, phase: string): string[] {
  return [...(SIGNALS_BY_PHASE[type]?.[phase] ?? [])];
}

/** Seconds of samples the measured rate averages over. */
const RATE_WINDOW_MS = 10_000;

/**
 * Measures a rate from successive (time, done) samples of one counter, over the last ~10 s. A counter that
 * goes down or changes its total (a new phase, a retried table) starts over.
 */
export class RateMeter {
  private readonly series = new Map<string, { total: number; points: { at: number; done: number }[] }>();

  /** Records a sample of counter `key`; returns units per second, or undefined until two samples differ in time. */
  observe(key: string, at: number, done: number, total: number): number | undefined {
    let entry = this.series.get(key);
    const last = entry?.points.at(-1);
    if (!entry || entry.total !== total || (last && done < last.done)) {
      entry = { total, points: [] };
      this.series.set(key, entry);
    }
    if (last && at <= last.at && entry.points.length > 0) return this.rateOf(entry.points);
    entry.points.push({ at, done });
    // Keep one point at or before the window's start so the rate spans the whole window.
    while (entry.points.length > 2 && (entry.points[1]?.at ?? at) <= at - RATE_WINDOW_MS) entry.points.shift();
    return this.rateOf(entry.points);
  }

  private rateOf(points: { at: number; done: number }[]): number | undefined {
    const first = points[0];
    const last = points.at(-1);
    if (!first || !last || points.length < 2) return undefined;
    const seconds = (last.at - first.at) / 1000;
    return seconds > 0 ? (last.done - first.done) / seconds : undefined;
  }
}

/** Seconds until `total` at `rate`; undefined when the rate is unknown or zero. 0 when done. */
export function etaSeconds(done: number, total: number, rate: number | undefined): number | undefined {
  if (done >= total) return 0;
  if (rate === undefined || !(rate > 0)) return undefined;
  return Math.ceil((total - done) / rate);
}

/** Builds the view of a sample; `meter` carries the earlier samples for the measured rates. */
export function buildView(sample: WatchSample, meter: RateMeter): WatchView {
  const { progress } = sample;
  const unit = progress?.unit ?? 'rows';
  let overall: BarView | undefined;
  if (progress?.total !== undefined) {
    const done = progress.done ?? 0;
    const total = progress.total;
    const measured = meter.observe(`phase:${sample.phase}:${unit}`, sample.at, done, total);
    const rate = progress.ratePerSecond ?? measured;
    overall = { name: sample.phase, done, total, unit, rate, etaSeconds: etaSeconds(done, total, rate) };
  }
  const items = (progress?.items ?? []).map((item: ProgressItem): BarView => {
    const rate = meter.observe(`item:${item.name}:${item.unit}`, sample.at, item.done, item.total);
    return {
      name: item.name,
      done: item.done,
      total: item.total,
      unit: item.unit,
      ...(item.state !== undefined ? { state: item.state } : {}),
      rate,
      etaSeconds: etaSeconds(item.done, item.total, rate),
    };
  });
  return {
    at: sample.at,
    workflowId: sample.workflowId,
    type: sample.type,
    phase: sample.phase,
    message: progress?.message ?? '',
    worker: progress !== undefined,
    overall,
    items,
    signals: signalsFor(sample.type, sample.phase),
  };
}

/** `45,000`. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `45,000 rows`, `1.5 MB`, `3 steps`. */
export function formatAmount(n: number, unit: ProgressUnit): string {
  return unit === 'bytes' ? formatBytes(n) : `${formatCount(n)} ${unit}`;
}

/** `45,000/120,000 rows`, `1.5 MB/3.0 MB`. */
export function formatDoneOfTotal(done: number, total: number, unit: ProgressUnit): string {
  return unit === 'bytes'
    ? `${formatBytes(done)}/${formatBytes(total)}`
    : `${formatCount(done)}/${formatAmount(total, unit)}`;
}

/** Whole percent, rounded down (100 only when done); 100 for an empty total. */
export function percent(done: number, total: number): number {
  if (total <= 0) return 100;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}

/** `9,800 rows/s`, `1.5 MB/s`; empty when unknown. */
export function formatRate(rate: number | undefined, unit: ProgressUnit): string {
  if (rate === undefined || !Number.isFinite(rate) || rate < 0) return '';
  return unit === 'bytes' ? `${formatBytes(Math.round(rate))}/s` : `${formatCount(rate)} ${unit}/s`;
}

/** `8s`, `2m05s`, `1h02m`; empty when unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `12:00:01`, local time. */
export function clock(at: number): string {
  const d = new Date(at);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** `45,000/120,000 rows (37 %)  9,800 rows/s  ETA 8s` (rate and ETA left out when unknown). */
export function formatCounters(bar: BarView): string {
  const parts = [`${formatDoneOfTotal(bar.done, bar.total, bar.unit)} (${percent(bar.done, bar.total)} %)`];
  const rate = formatRate(bar.rate, bar.unit);
  if (rate && bar.done < bar.total) parts.push(rate);
  const eta = formatDuration(bar.etaSeconds);
  if (eta && bar.done < bar.total) parts.push(`ETA ${eta}`);
  return parts.join('  ');
}

/** What the workflow's own message adds when no worker answered. */
export const NO_WORKER = 'no worker is answering the progress query; phase from the DbopsPhase search attribute';

/** The plain (non-TTY) line of a view: `12:00:01 import  45,000/120,000 rows (37 %)  9,800 rows/s  ETA 8s  — message`. */
export function plainLine(view: WatchView): string {
  const parts = [`${clock(view.at)} ${view.phase}`];
  if (view.overall) parts.push(formatCounters(view.overall));
  if (!view.worker) parts.push(`(${NO_WORKER})`);
  else if (view.message) parts.push(`— ${view.message}`);
  return parts.join('  ');
}

/** The plain line of one item: `           users  3,000/10,000 rows (30 %)  1,000 rows/s  ETA 7s  importing`. */
export function plainItemLine(item: BarView, nameWidth: number): string {
  return `           ${item.name.padEnd(nameWidth)}  ${formatCounters(item)}${item.state ? `  ${item.state}` : ''}`;
}

/** `           signals: approve | rollback  (npx dbops signal <id> <name>)`; undefined when none counts. */
export function signalsLine(
  view: Pick<WatchView, 'signals' | 'workflowId'>,
  indent = '           ',
): string | undefined {
  if (view.signals.length === 0) return undefined;
  return `${indent}signals: ${view.signals.join(' | ')}  (npx dbops signal ${view.workflowId} <name>)`;
}

/**
 * Decides which lines the plain renderer writes for a view, given what it wrote last: a line whenever the
 * phase (or whether a worker answers) changes, otherwise at most one every `everyMs` while something moves;
 * the signals line first and whenever the set of signals changes; item lines for the items that moved since.
 */
export class PlainLines {
  private last: WatchView | undefined;
  private lastAt = 0;
  private lastItems = new Map<string, string>();

  constructor(private readonly everyMs = 5_000) {}

  /** The lines to write for `view` (often none). */
  next(view: WatchView): string[] {
    const prev = this.last;
    const phaseChanged = !prev || prev.phase !== view.phase || prev.worker !== view.worker;
    const moved =
      !prev ||
      prev.message !== view.message ||
      prev.overall?.done !== view.overall?.done ||
      prev.overall?.total !== view.overall?.total ||
      view.items.some((i) => this.lastItems.get(i.name) !== itemKey(i));
    if (!phaseChanged && !(moved && view.at - this.lastAt >= this.everyMs)) return [];
    const lines = [plainLine(view)];
    const changedItems = view.items.filter((i) => this.lastItems.get(i.name) !== itemKey(i));
    const width = Math.max(0, ...view.items.map((i) => i.name.length));
    const shown = changedItems.slice(0, MAX_PLAIN_ITEMS);
    lines.push(...shown.map((i) => plainItemLine(i, width)));
    if (changedItems.length > shown.length) lines.push(`           (+${changedItems.length - shown.length} more)`);
    const signals = signalsLine(view);
    if (signals && (!prev || prev.signals.join() !== view.signals.join())) lines.push(signals);
    this.last = view;
    this.lastAt = view.at;
    this.lastItems = new Map(view.items.map((i) => [i.name, itemKey(i)]));
    return lines;
  }
}

const MAX_PLAIN_ITEMS = 8;

function itemKey(item: BarView): string {
  return `${item.done}/${item.total}/${item.state ?? ''}`;
}

/** The payload of a cli-progress bar (the tokens of BAR_FORMAT). */
export interface BarPayload {
  label: string;
  pct: string;
  amount: string;
  rate: string;
  /** `ETA 8s` (not `eta`: cli-progress fills that token itself). */
  left: string;
  state: string;
}

/** The format of every bar; the tokens are BarPayload's, `{bar}` is drawn by cli-progress. */
export const BAR_FORMAT = '  {label} {bar} {pct}  {amount}  {rate}  {left}  {state}';

/** The tokens of one bar: name padded to `nameWidth`, percent, amounts, rate, ETA, state. */
export function barPayload(bar: BarView, nameWidth: number): BarPayload {
  const running = bar.done < bar.total;
  const rate = running ? formatRate(bar.rate, bar.unit) : '';
  const eta = running ? formatDuration(bar.etaSeconds) : '';
  return {
    label: bar.name.padEnd(nameWidth),
    pct: `${String(percent(bar.done, bar.total)).padStart(3)} %`,
    amount: formatDoneOfTotal(bar.done, bar.total, bar.unit),
    rate,
    left: eta ? `ETA ${eta}` : '',
    state: bar.state ?? '',
  };
}

/** The header line of the TTY view: `import — imported 3 of 5 …` or the no-worker note. */
export function headerLine(view: WatchView): string {
  const note = view.worker ? view.message : NO_WORKER;
  return `${view.workflowId}  ${view.type}  phase ${view.phase}${note ? ` — ${note}` : ''}`;
}

/** One NDJSON event of `dbops watch --json` for a view. */
export function progressEvent(view: WatchView): Record<string, unknown> {
  const bar = (b: BarView) => ({
    name: b.name,
    done: b.done,
    total: b.total,
    unit: b.unit,
    ...(b.state !== undefined ? { state: b.state } : {}),
    ratePerSecond: b.rate === undefined ? null : Math.round(b.rate * 100) / 100,
    etaSeconds: b.etaSeconds ?? null,
  });
  return {
    event: 'progress',
    time: new Date(view.at).toISOString(),
    workflowId: view.workflowId,
    type: view.type,
    phase: view.phase,
    message: view.message,
    worker: view.worker,
    ...(view.overall ? bar(view.overall) : {}),
    items: view.items.map(bar),
    signals: view.signals,
  };
}

/** What changed between two views that deserves a new NDJSON event (not the rate or ETA alone). */
export function eventKey(view: WatchView): string {
  return JSON.stringify([
    view.phase,
    view.message,
    view.worker,
    view.overall?.done,
    view.overall?.total,
    view.items.map(itemKey),
  ]);
}

/** How a run ended, for the final line. */
export interface WatchEnd {
  at: number;
  workflowId: string;
  /** `completed`, `rolled_back`, `failed`… (the result's `status`, or `failed`). */
  status: string;
  /** Process exit code (same as `dbops result`). */
  exitCode: number;
  /** Seconds since the run started, when known. */
  elapsedSeconds?: number;
  /** `DBOPS_VERIFY_MISMATCH: …` when the run failed. */
  error?: string;
}

/** `12:00:09 completed  migrate-public-… in 9s  (exit 0)`. */
export function finalLine(end: WatchEnd): string {
  const elapsed = formatDuration(end.elapsedSeconds);
  return `${clock(end.at)} ${end.status}  ${end.workflowId}${elapsed ? ` in ${elapsed}` : ''}  (exit ${end.exitCode})${end.error ? `  ${end.error}` : ''}`;
}

/**
 * A short summary of any workflow result: its status and scalar fields on one line, arrays as counts, and
 * where the full result is; `dbops result <id>` prints it whole.
 */
export function summarizeResult(workflowId: string, result: unknown): string[] {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    return [`  result: ${JSON.stringify(result) ?? 'none'}`];
  }
  const fields: string[] = [];
  for (const [key, value] of Object.entries(result as Record<string, unknown>)) {
    if (key === 'status') continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      const text = String(value);
      fields.push(`${key} ${text.length > 80 ? `${text.slice(0, 77)}…` : text}`);
    } else if (Array.isArray(value) && value.length > 0) fields.push(`${key}: ${value.length}`);
  }
  const status = (result as { status?: unknown }).status;
  const head = typeof status === 'string' ? `  result: ${status}` : '  result';
  return [
    `${head}${fields.length > 0 ? `  ${fields.slice(0, 8).join(', ')}` : ''}`,
    `  full result: npx dbops result ${workflowId}`,
  ];
}
