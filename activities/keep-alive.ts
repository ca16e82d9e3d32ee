/** The heartbeat every long activity step sends while it works, so a dead worker is noticed within the heartbeat timeout. */
import { heartbeat } from '@temporalio/activity';

/**
 * Heartbeats every 5 s while `body` runs, with `details` (or what the function returns at that moment: the
 * step's latest progress), between the step's own progress heartbeats — e.g. during a CREATE INDEX.
 */
export async function keepAlive<T>(
  details: Record<string, unknown> | (() => Record<string, unknown>),
  body: () => Promise<T>,
): Promise<T> {
  const timer = setInterval(() => heartbeat(typeof details === 'function' ? details() : details), 5_000);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}
