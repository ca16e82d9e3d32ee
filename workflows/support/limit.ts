/**
 * Runs `fn` over `items` with at most `limit` in flight (deterministic: usable in workflow code). When one
 * item fails, the others are cancelled and awaited before the failure is rethrown, so a compensation that
 * runs next never races a step still writing (e.g. a DROP SCHEMA against an import chunk mid-COPY).
 */
import { CancellationScope, condition, patched } from '@temporalio/workflow';

/** Histories recorded before lanes were cancelled on failure replay without it. */
export const CANCEL_LANES_ON_FAILURE = 'cancel-lanes-on-failure';

/** Runs every item; on the first failure stops starting new ones, cancels the running ones, waits, rethrows. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const scope = new CancellationScope();
  let next = 0;
  let first: { error: unknown } | undefined;
  let settleAll = false;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () =>
    scope.run(async () => {
      while (!settleAll && next < items.length) {
        const item = items[next++] as T;
        try {
          await fn(item);
        } catch (err) {
          if (first === undefined) {
            first = { error: err };
            if (patched(CANCEL_LANES_ON_FAILURE)) {
              settleAll = true;
              scope.cancel();
            }
          }
          throw err;
        }
      }
    }),
  );
  try {
    await Promise.all(lanes);
  } catch (err) {
    if (settleAll) await Promise.allSettled(lanes);
    throw first?.error ?? err;
  }
}

/**
 * Like `forEachLimited`, over a queue the work itself adds to: `fn` may `push` follow-up items, which go to
 * the front (finishing what is started comes before starting more). Lanes wait while the queue is empty and
 * others may still push. On the first failure the running items are cancelled and awaited, then it rethrows.
 */
export async function drainLimited<T>(
  initial: readonly T[],
  limit: number,
  fn: (item: T, push: (next: T) => void) => Promise<void>,
): Promise<void> {
  const queue = [...initial];
  const scope = new CancellationScope();
  let running = 0;
  let first: { error: unknown } | undefined;
  const push = (next: T) => void queue.unshift(next);
  const lanes = Array.from({ length: Math.max(1, limit) }, () =>
    scope.run(async () => {
      for (;;) {
        await condition(() => first !== undefined || queue.length > 0 || running === 0);
        const item = queue.shift();
        if (first !== undefined || item === undefined) return;
        running += 1;
        try {
          await fn(item, push);
        } catch (err) {
          if (first === undefined) {
            first = { error: err };
            scope.cancel();
          }
          throw err;
        } finally {
          running -= 1;
        }
      }
    }),
  );
  const settled = await Promise.allSettled(lanes);
  if (first !== undefined) throw first.error;
  // Cancelled from outside while waiting for work (a rollback): no item failed, but the lanes did.
  for (const lane of settled) if (lane.status === 'rejected') throw lane.reason;
}
