/**
 * Test-only workflow for workflows/support/operator-alerts.ts: it waits for a `release` signal through
 * `remindWhileWaiting`, the way a migration waits for `approve` or inside its rollback window.
 */
import { defineSignal, setHandler, workflowInfo } from '@temporalio/workflow';
import { guardInput, JobState } from '../../workflows/support/job-state';
import { remindWhileWaiting } from '../../workflows/support/operator-alerts';

/** Input of `waitWithReminder`. */
export interface WaitWithReminderInput {
  /** Minutes (fractions allowed) before the reminder. */
  afterMinutes?: number;
  /** Give up waiting after this many minutes (like a rollback window); none: wait for the signal. */
  timeoutMinutes?: number;
}

const releaseSignal = defineSignal('release');

/** Waits for `release`; `released` is false when the timeout ended the wait. */
export async function waitWithReminder(input: WaitWithReminderInput): Promise<{ released: boolean }> {
  guardInput(input);
  const state = new JobState('test', [], { phase: 'awaiting_operator', message: 'waiting for release' });
  let released = false;
  setHandler(releaseSignal, () => void (released = true), { description: 'Let the workflow finish' });
  const reminder = {
    waitingFor: 'the release signal',
    actions: [`dbops signal ${workflowInfo().workflowId} release`],
    afterMinutes: input.afterMinutes,
  };
  const ended =
    input.timeoutMinutes === undefined
      ? await remindWhileWaiting(reminder, () => released)
      : await remindWhileWaiting(reminder, () => released, input.timeoutMinutes);
  state.update({ phase: 'completed', message: ended ? 'released' : 'timed out' });
  return { released: ended };
}
