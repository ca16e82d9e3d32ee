/** Failure unwrapping: what an operator should read of an activity or child-workflow failure. */
import { ApplicationFailure, type ActivityFailure } from '@temporalio/common';

/**
 * The first ApplicationFailure in the cause chain: it carries dbops' own code (`DBOPS_*`) and message;
 * deeper causes are driver errors. Falls back to the error's own message.
 */
export function rootOf(err: unknown): { type?: string; message: string } {
  let current: unknown = err;
  for (let i = 0; i < 6 && current; i++) {
    if (current instanceof ApplicationFailure) return { type: current.type ?? undefined, message: current.message };
    current = (current as ActivityFailure).cause;
  }
  return { message: err instanceof Error ? err.message : String(err) };
}

/** The message of `rootOf`. */
export function rootMessage(err: unknown): string {
  return rootOf(err).message;
}

/** The `DBOPS_*` type of `rootOf`, or `fallback` when the chain has none. */
export function rootType(err: unknown, fallback: string): string {
  return rootOf(err).type ?? fallback;
}
