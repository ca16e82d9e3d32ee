/**
 * The boundary where activity errors become Temporal failures: a DbopsError (or a recognised driver error)
 * becomes an ApplicationFailure whose `type` is the stable code and whose retryability is decided on
 * purpose; anything else is rethrown untouched and retried by the activity's retry policy.
 */
import { ApplicationFailure } from '@temporalio/common';
import { DbopsError } from '../common/errors';
import { classifyDriverError } from './connections/classify-error';

/** Converts a known error into an ApplicationFailure; returns other errors unchanged. */
export function toActivityFailure(err: unknown, label = 'activity'): unknown {
  const known = err instanceof DbopsError ? err : classifyDriverError(err, label);
  if (!known) return err;
  return ApplicationFailure.create({
    type: known.code,
    message: known.message,
    nonRetryable: !known.retryable,
    cause: err instanceof Error && err !== known ? err : undefined,
  });
}

/** Runs an activity body, translating its failures at the boundary. */
export async function withFailureMapping<T>(label: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toActivityFailure(err, label);
  }
}
