/**
 * The boundary where activity errors become Temporal failures: a DbopsError (or a recognised driver error)
 * becomes an ApplicationFailure whose `type` is the stable code and whose retryability is decided on
 * purpose; anything else is rethrown untouched and retried by the activity's retry policy.
 */
import { ApplicationFailure } from '@temporalio/common';
import { DbopsError } from '../common/errors';
import { redactSecrets } from '../common/secret-guard';
import { classifyDriverError } from './connections/classify-error';

/** Converts a known error into an ApplicationFailure; returns other errors with any secret masked. */
export function toActivityFailure(err: unknown, label = 'activity'): unknown {
  const known = err instanceof DbopsError ? err : classifyDriverError(err, label);
  if (!known) return scrub(err);
  return ApplicationFailure.create({
    type: known.code,
    message: redactSecrets(known.message),
    nonRetryable: !known.retryable,
    cause: err instanceof Error && err !== known ? (scrub(err) as Error) : undefined,
  });
}

/** A driver's message may quote a connection string: mask secrets before it reaches history. */
function scrub(err: unknown): unknown {
  if (err instanceof Error) {
    err.message = redactSecrets(err.message);
    if (err.stack) err.stack = redactSecrets(err.stack);
  }
  return err;
}

/** Runs an activity body, translating its failures at the boundary. */
export async function withFailureMapping<T>(label: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toActivityFailure(err, label);
  }
}
