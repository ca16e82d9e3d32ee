/**
 * Telling operators when they are needed, through the channels the nightly backup uses (the worker's
 * config: e-mail when configured, the webhook when DBOPS_NOTIFY_WEBHOOK_URL is set; none configured: nothing
 * is sent and nothing fails).
 *
 * - `notifyOnFailure` runs a workflow's body; when the run ends failed it sends one notification naming the
 *   workflow id and type, the failure's `DBOPS_*` type and message, and what to do, then rethrows. A
 *   cancellation is the operator's own act and a child workflow's failure is its parent's to report: neither
 *   notifies.
 * - `remindWhileWaiting` waits for a condition like `condition()` does; when the wait lasts past the
 *   configured minutes it sends one reminder (without pausing the wait) and keeps waiting.
 *
 * A notification that cannot be sent is retried (a few minutes at most, like the nightly's), then given up:
 * it never changes how the run ends, and a reminder never holds up the wait. Both are gated by `patched()`,
 * so histories recorded before them replay.
 */
import {
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { createNotifyActivities, NotifyChannel, NotifySettings } from '../../activities/notify/activities';
import type { NotificationMessage, NotificationStatus } from '../../activities/notify/message';
import { ErrorCode } from '../../common/errors';
import { redactSecrets } from '../../common/secret-guard';
import { STEP_RETRY } from './activity-options';
import { rootOf } from './failures';

/** Runs recorded before failure alerts end without them. */
export const ALERT_ON_FAILURE = 'operator-alert-on-failure';
/** Waits recorded before reminders start no reminder timer. */
export const REMIND_WHILE_WAITING = 'operator-remind-while-waiting';

type AlertActivities = ReturnType<typeof createNotifyActivities> & Pick<Activities, 'backupNotify'>;

const { notifyChannels } = proxyActivities<AlertActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { ...STEP_RETRY, maximumAttempts: 3 },
  summary: 'notification channels',
});

/** One channel's sender; a channel that cannot deliver is retried for a few minutes, like the nightly's. */
const sender = (channel: NotifyChannel) =>
  proxyActivities<AlertActivities>({
    startToCloseTimeout: '1 minute',
    retry: { ...STEP_RETRY, maximumAttempts: 6 },
    summary: `notify ${channel}`,
  }).backupNotify;

/** What a notification reached: the channels it was sent on, and the ones that failed (with why). */
export interface AlertOutcome {
  sent: NotifyChannel[];
  failed: { channel: string; error: string }[];
}

/** What an operator is told: the subject, the outcome, one sentence and a line per fact. */
export interface OperatorAlert {
  subject: string;
  status: NotificationStatus;
  summary: string;
  lines: string[];
}

/** The Web UI's page of this run, for a notification's link. */
export function runLink(settings: Pick<NotifySettings, 'uiUrl' | 'namespace'>): string {
  return `${settings.uiUrl}/namespaces/${settings.namespace}/workflows/${encodeURIComponent(workflowInfo().workflowId)}`;
}

/** Sends `message` on each channel at once. Never throws: what could not be sent is in the outcome. */
export async function sendOnChannels(
  channels: readonly NotifyChannel[],
  message: NotificationMessage,
): Promise<AlertOutcome> {
  const outcome: AlertOutcome = { sent: [], failed: [] };
  await Promise.all(
    channels.map(async (channel) => {
      try {
        await sender(channel)({ channel, message });
        outcome.sent.push(channel);
      } catch (err) {
        outcome.failed.push({ channel, error: rootOf(err).message });
      }
    }),
  );
  outcome.sent.sort();
  return outcome;
}

/**
 * Sends `alert` on every configured channel, with a link to this run in the Web UI. Never throws: what could
 * not be sent is in the outcome.
 */
export async function alertOperators(alert: OperatorAlert): Promise<AlertOutcome> {
  try {
    const settings = await notifyChannels();
    return await sendOnChannels(settings.channels, { ...alert, link: runLink(settings) });
  } catch (err) {
    return { sent: [], failed: [{ channel: 'settings', error: rootOf(err).message }] };
  }
}

/** How a failure alert describes the run. */
export interface FailureAlert {
  /** What the run does, in the operator's words (read when it fails): `restore t_pg/20261130T030000Z into t_pg2`. */
  what: () => string;
  /** True when the workflow has already told the operators about this failure itself (the nightly backup). */
  alreadyNotified?: () => boolean;
  /** What to do, beyond `dbops status <id>`: one line each. */
  next?: () => string[];
}

/**
 * Runs `body`; when it throws (other than a cancellation, and unless this run is a child workflow) sends one
 * failure notification, then rethrows the same error.
 */
export async function notifyOnFailure<T>(alert: FailureAlert, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (
      !isCancellation(err) &&
      workflowInfo().parent === undefined &&
      // A run refused for a secret in its input fails at once, with nothing scheduled: an alert would copy
      // the input it describes into another event of the history.
      rootOf(err).type !== ErrorCode.SecretInInput &&
      !(alert.alreadyNotified?.() ?? false) &&
      patched(ALERT_ON_FAILURE)
    ) {
      await CancellationScope.nonCancellable(() => alertOperators(failureAlert(err, alert)));
    }
    throw err;
  }
}

/** The failure notification: workflow id and type, failure type and message, what to do. */
export function failureAlert(err: unknown, alert: FailureAlert): OperatorAlert {
  const { workflowId, workflowType } = workflowInfo();
  const root = rootOf(err);
  const type = root.type ?? (err instanceof Error ? err.name : 'Error');
  let what: string;
  try {
    what = alert.what();
  } catch {
    what = workflowType;
  }
  // Whatever the input or the failure carried, a password never reaches the alert (nor its history event).
  return {
    subject: redactSecrets(`dbops ${workflowType} ${workflowId} FAILED: ${type}`),
    status: 'failure',
    summary: redactSecrets(`${what} failed: ${clip(root.message, 600)}`),
    lines: [
      `workflow: ${workflowId} (${workflowType})`,
      `failure: ${type} — ${clip(root.message, 1500)}`,
      ...(alert.next?.() ?? []),
      `next: \`dbops status ${workflowId}\` shows where it stopped; fix the cause, then start it again`,
    ].map(redactSecrets),
  };
}

/** A wait an operator should hear about when it lasts. */
export interface WaitReminder {
  /** What the run is waiting for, e.g. `approval to cut over (signal approve)`. */
  waitingFor: string;
  /** What the operator can do, one line each, e.g. `dbops signal <id> approve`. */
  actions: string[];
  /** Remind once the wait has lasted this many minutes; undefined or ≤ 0: never (the wait is plain `condition`). */
  afterMinutes?: number;
}

/**
 * Waits until `until()` holds, or `timeoutMinutes` pass (then resolves false), exactly like
 * `condition(until, \`${timeoutMinutes} minutes\`)` (or `condition(until)` without a timeout). When the wait
 * lasts `reminder.afterMinutes` (and that is before the timeout), one reminder is sent on the configured
 * channels while the wait goes on: the wait ends as soon as the condition holds, reminder sent or not.
 */
export async function remindWhileWaiting(reminder: WaitReminder, until: () => boolean): Promise<true>;
export async function remindWhileWaiting(
  reminder: WaitReminder,
  until: () => boolean,
  timeoutMinutes: number,
): Promise<boolean>;
export async function remindWhileWaiting(
  reminder: WaitReminder,
  until: () => boolean,
  timeoutMinutes?: number,
): Promise<boolean> {
  const after = reminder.afterMinutes ?? 0;
  const remindsFirst = after > 0 && (timeoutMinutes === undefined || after < timeoutMinutes);
  if (!remindsFirst || !patched(REMIND_WHILE_WAITING)) {
    if (timeoutMinutes === undefined) {
      await condition(until);
      return true;
    }
    return condition(until, `${timeoutMinutes} minutes`);
  }
  const started = Date.now();
  if (await condition(until, after * 60_000)) return true;
  // Not awaited: the wait goes on while the reminder is sent (alertOperators never throws).
  void alertOperators(reminderAlert(reminder, after));
  if (timeoutMinutes === undefined) {
    await condition(until);
    return true;
  }
  return condition(until, Math.max(1, timeoutMinutes * 60_000 - (Date.now() - started)));
}

/** The reminder: what the run waits for, since when, and what the operator can do. */
export function reminderAlert(reminder: WaitReminder, minutes: number): OperatorAlert {
  const { workflowId, workflowType } = workflowInfo();
  return {
    subject: `dbops ${workflowType} ${workflowId} is waiting for you: ${reminder.waitingFor}`,
    status: 'warning',
    summary: `${workflowId} has been waiting ${minutes} minute(s) for ${reminder.waitingFor}.`,
    lines: [
      `workflow: ${workflowId} (${workflowType})`,
      `waiting: ${reminder.waitingFor}, for ${minutes} minute(s) now`,
      ...reminder.actions.map((action) => `do: ${action}`),
      `status: \`dbops status ${workflowId}\``,
    ],
  };
}

/** `a, b, c` (at most five names, then how many more): lists in summaries and alerts stay one short line. */
export function listNames(names: readonly string[], max = 5): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
