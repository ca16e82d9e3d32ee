/**
 * All activities, built by one factory from their dependencies (HOUSE_STYLE 3). Workflows import the
 * *type* of the result (`import type`), never this module's code.
 */
import { createCheckActivities } from './check/check-connection';
import type { ActivityDeps } from './deps';
import { createMigrationActivities } from './migration/activities';

export type { ActivityDeps } from './deps';

/** Every activity the worker registers, keyed by activity type name. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createCheckActivities(deps),
    ...createMigrationActivities(deps),
  };
}

/** The activity interface workflows proxy. */
export type Activities = ReturnType<typeof createActivities>;
