/**
 * The Schedules dbops keeps on the Temporal server, described by config (`schedules.nightlyBackup`) and
 * applied idempotently: created when missing, updated only when what config describes differs (a hash of
 * it rides in the scheduled workflows' memo), paused or unpaused to match. Shared by `dbops schedule apply`
 * and `npm run stack`.
 */
import { createHash } from 'node:crypto';
import { type Client, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { NIGHTLY_BACKUP_WORKFLOW, type NightlyBackupInput } from '../../common/contracts/backup';
import type { DbopsConfig } from '../../config/load';

/** Id of the nightly backup Schedule. */
export const NIGHTLY_SCHEDULE_ID = 'dbops-nightly-backup';
const VERSION_MEMO = 'dbopsScheduleVersion';

/** What the Schedule should be, from config. */
export function desiredNightly(config: DbopsConfig) {
  const nightly = config.schedules.nightlyBackup;
  const [hour, minute] = nightly.at.split(':').map(Number) as [number, number];
  const input: NightlyBackupInput = nightly.targets ? { targets: [...nightly.targets] } : {};
  // What the Web UI shows for each scheduled run.
  const summary = `nightly backup: ${nightly.targets ? `${nightly.targets.length} target(s)` : 'every configured database'} at ${nightly.at} ${nightly.timeZone}`;
  const shape = {
    summary,
    hour,
    minute,
    timeZone: nightly.timeZone,
    catchupWindowHours: nightly.catchupWindowHours,
    taskQueue: config.temporal.taskQueue,
    input,
  };
  const version = createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 16);
  return { ...shape, paused: nightly.paused, version };
}

/** What `apply` did. */
export interface ApplyOutcome {
  scheduleId: string;
  action: 'created' | 'updated' | 'unchanged';
  paused: boolean;
  at: string;
  timeZone: string;
}

/** Creates or updates the nightly backup Schedule so it matches config. */
export async function applyNightlySchedule(client: Client, config: DbopsConfig): Promise<ApplyOutcome> {
  const want = desiredNightly(config);
  const options = {
    spec: { calendars: [{ hour: want.hour, minute: want.minute, comment: 'nightly backup' }], timezone: want.timeZone },
    action: {
      type: 'startWorkflow' as const,
      workflowType: NIGHTLY_BACKUP_WORKFLOW,
      workflowId: 'nightly-backup',
      taskQueue: want.taskQueue,
      args: [want.input],
      staticSummary: want.summary,
      memo: { [VERSION_MEMO]: want.version },
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: `${Math.max(1, want.catchupWindowHours) * 60} minutes`,
    },
  };
  const outcome = {
    scheduleId: NIGHTLY_SCHEDULE_ID,
    paused: want.paused,
    at: config.schedules.nightlyBackup.at,
    timeZone: want.timeZone,
  };
  const handle = client.schedule.getHandle(NIGHTLY_SCHEDULE_ID);
  let current;
  try {
    current = await handle.describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule.create({
      scheduleId: NIGHTLY_SCHEDULE_ID,
      ...options,
      state: { paused: want.paused, note: 'created by dbops schedule apply' },
    });
    return { ...outcome, action: 'created' };
  }
  const version = current.action.memo?.[VERSION_MEMO];
  let action: ApplyOutcome['action'] = 'unchanged';
  if (version !== want.version) {
    await handle.update(() => ({
      ...options,
      state: { paused: want.paused, note: 'updated by dbops schedule apply' },
    }));
    action = 'updated';
  } else if (current.state.paused !== want.paused) {
    await (want.paused ? handle.pause('paused by config') : handle.unpause('unpaused by config'));
    action = 'updated';
  }
  return { ...outcome, action };
}
