/**
 * The activities of `connectionCheck`, named `<job><Step>` except `resolveTargets`, whose name predates the
 * rule and is kept because recorded histories schedule it (renaming an activity type breaks their replay).
 */
import type { ConnectionCheck, TargetSummary } from '../../common/contracts/check';
import type { ActivityDeps } from '../deps';
import { resolveTarget } from '../connections/resolve';
import { withFailureMapping } from '../failures';
import { checkConnection } from './check-connection';
import { resolveTargets } from './resolve-targets';

/** Builds the check activities around the worker's shared dependencies. */
export function createCheckActivities({ config, connections }: ActivityDeps) {
  return {
    /** Validates every reference (all configured connections when none is given); fails on the first bad one. */
    async resolveTargets(refs: string[]): Promise<TargetSummary[]> {
      return withFailureMapping('resolveTargets', async () => resolveTargets(refs, config));
    },

    /** Connects to one target and reports version, database and size, or why it could not. */
    async checkConnection(ref: string): Promise<ConnectionCheck> {
      return withFailureMapping(`checkConnection ${ref}`, () =>
        checkConnection(resolveTarget(ref, config), connections),
      );
    },
  };
}
