/**
 * All activities, built from one factory per job given the worker's dependencies. Workflows import the
 * *type* of the result (`import type`), never this module's code. Activity names follow one rule —
 * `<job><Step>` (`migrationExport`, `checkConnection`) — and two jobs may not register the same name: the
 * worker refuses to start rather than let one silently replace the other.
 */
import { createAssessmentActivities } from './assessment/activities';
import { createBackupActivities } from './backup/activities';
import { createCheckActivities } from './check/activities';
import type { ActivityDeps } from './deps';
import { createMigrationActivities } from './migration/activities';
import { createNotifyActivities } from './notify/activities';
import { createRestoreActivities } from './restore/activities';

export type { ActivityDeps } from './deps';

/** Merges the job factories' activities; a name registered twice is an error. */
export function mergeActivities<T extends Record<string, unknown>[]>(...groups: T): UnionToIntersection<T[number]> {
  const merged: Record<string, unknown> = {};
  for (const group of groups) {
    for (const [name, activity] of Object.entries(group)) {
      if (name in merged) throw new Error(`activity name "${name}" is registered by two jobs: rename one of them`);
      merged[name] = activity;
    }
  }
  return merged as UnionToIntersection<T[number]>;
}

/** Every activity the worker registers, keyed by activity type name. */
export function createActivities(deps: ActivityDeps) {
  return mergeActivities(
    createCheckActivities(deps),
    createMigrationActivities(deps),
    createBackupActivities(deps),
    createRestoreActivities(deps),
    createAssessmentActivities(deps),
    createNotifyActivities(deps),
  );
}

/** The activity interface workflows proxy. */
export type Activities = ReturnType<typeof createActivities>;

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
