/**
 * Test-only workflows for the generic CLI commands (`signal`, `status`, `result`): they wait for an
 * operator's signal, the way migrations wait for `approve` or `rollback`.
 */
import { condition, defineSignal, setHandler } from '@temporalio/workflow';
import { guardInput, JobState } from '../../workflows/support/job-state';

/** Argument of the `release` signal. */
export interface ReleaseArg {
  note?: string;
}

/** Result of `waitForOperator`. */
export interface WaitForOperatorResult {
  status: 'completed' | 'rolled_back';
  note?: string;
}

const releaseSignal = defineSignal<[ReleaseArg?]>('release');
const rollbackSignal = defineSignal('rollback');

/** Waits in phase `awaiting_operator` until `release` (→ completed) or `rollback` (→ rolled_back). */
export async function waitForOperator(input: { label?: string } = {}): Promise<WaitForOperatorResult> {
  guardInput(input);
  const state = new JobState('test', [], { phase: 'awaiting_operator', message: 'waiting for release or rollback' });
  let outcome: WaitForOperatorResult | undefined;
  setHandler(releaseSignal, (arg) => void (outcome = { status: 'completed', note: arg?.note }), {
    description: 'Let the workflow finish',
  });
  setHandler(rollbackSignal, () => void (outcome = { status: 'rolled_back' }), {
    description: 'End the workflow as rolled back',
  });
  await condition(() => outcome !== undefined);
  const final = outcome as WaitForOperatorResult;
  state.update({ phase: final.status, message: `ended by the operator: ${final.status}` });
  return final;
}
