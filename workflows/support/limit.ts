/**
 * Runs `fn` over `items` with at most `limit` in flight (deterministic: usable in workflow code). When one
 * item fails, the others are cancelled and awaited before the failure is rethrown, so a compensation that
 * runs next never races a step still writing (e.g. a DROP SCHEMA against an import chunk mid-COPY).
 */
import { CancellationScope, patched } from '@temporalio/workflow';

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
