/**
 * Timeouts and retry policies the workflows give their activities, by kind of step. Every proxy sets them
 * explicitly; these are the presets the jobs share.
 */
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

/** Transient faults retry with backoff; bad input fails at once (non-retryable failures skip the policy). */
export const STEP_RETRY = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 5,
} as const;

/** Short steps that only read, or write nothing a rollback must wait for. */
export const QUICK_STEP: ActivityOptions = { startToCloseTimeout: '2 minutes', retry: STEP_RETRY };

/**
 * Short steps that write to a target: on rollback, wait for the attempt to end before compensating (a
 * cancelled CREATE that commits after the DROP would leave a schema behind).
 */
export const GUARDED_STEP: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: STEP_RETRY,
};

/**
 * Long steps heartbeat at least every 5 s (their heavy work runs on threads, so the worker's event loop
 * stays free): a worker that dies is noticed in 20 s and the step retried elsewhere (steps are
 * idempotent). On rollback the workflow waits for a cancelled step to stop (an import chunk rolls its COPY
 * back) before compensating, so a DROP never races a transaction still writing.
 */
export const LONG_STEP: ActivityOptions = {
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: STEP_RETRY,
};

/** Compensations must get through: more attempts (they run in a non-cancellable scope). */
export const COMPENSATION_STEP: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: { ...STEP_RETRY, maximumAttempts: 20 },
};
