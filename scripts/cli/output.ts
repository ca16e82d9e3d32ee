/**
 * How the CLI speaks: with `--json`, exactly one JSON object on stdout and nothing else there; otherwise
 * lines for people. Diagnostics always go to stderr.
 */
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';

/** Exit codes of every dbops command. */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2 } as const;

/** The `error` object of a failed run: the failure type (a stable DBOPS_* code where dbops raised it) and message. */
export interface FailureSummary {
  type: string;
  message: string;
}

/** Digs the root cause out of Temporal's failure wrappers (WorkflowFailedError → ActivityFailure → ApplicationFailure). */
export function summarizeFailure(err: unknown): FailureSummary {
  let current: unknown = err instanceof WorkflowFailedError ? (err.cause ?? err) : err;
  let fallback: FailureSummary | undefined;
  for (let depth = 0; depth < 10 && current; depth++) {
    if (current instanceof ApplicationFailure) {
      return { type: current.type ?? 'ApplicationFailure', message: current.message };
    }
    if (current instanceof TemporalFailure && !fallback) fallback = { type: current.name, message: current.message };
    current = (current as { cause?: unknown }).cause;
  }
  if (fallback) return fallback;
  const e = err as { code?: unknown; name?: string; message?: string };
  return { type: typeof e.code === 'string' ? e.code : (e.name ?? 'Error'), message: e.message ?? String(err) };
}

/** Writes one JSON object and a newline to stdout. BigInts become strings. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}

/** Writes a line for people to stdout. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Writes a diagnostic line to stderr. */
export function warn(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Bytes for people: `1.5 MB`; empty for an unknown size. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
