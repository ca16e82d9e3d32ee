/**
 * The operator's signals to a migration and when each counts. `rollback` cancels the work at any phase
 * until the rollback window closes; after that it is too late and is reported, not acted on. `approve`
 * counts only while the run awaits approval and `finalize` only once the cutover happened: an early one is
 * ignored and reported (an approval given before verification finished would approve an unverified run).
 */
import { type CancellationScope, setHandler } from '@temporalio/workflow';
import { approveSignal, finalizeSignal, rollbackSignal, type RollbackRequest } from '../common/contracts/migration';

/** The signals' state, as the workflow reads it. */
export class MigrationSignals {
  rollback: RollbackRequest | undefined;
  approved = false;
  finalizeNow = false;
  /** Signals that arrived when they could not count, with what the operator can do instead. */
  readonly ignored: string[] = [];
  private cutOver = false;
  /** True once the rollback window has closed: from then on nothing undoes the cutover. */
  windowClosed = false;

  constructor(
    private readonly work: CancellationScope,
    private readonly phase: () => string,
    requireApproval: boolean,
    dumpName: string,
  ) {
    setHandler(
      rollbackSignal,
      (request) => {
        if (this.windowClosed) {
          this.ignored.push(
            `rollback${request?.reason ? ` ("${request.reason}")` : ''} arrived during ${this.phase()}, after the rollback window closed: too late, nothing was undone; restore ${dumpName} of this run with pg_restore if needed`,
          );
          return;
        }
        this.rollback = request ?? {};
        this.work.cancel();
      },
      {
        description:
          'Undo the migration: before cutover drop the staging schema; after cutover (within the rollback window) move the migrated schema aside and rename the previous one back',
      },
    );
    setHandler(
      approveSignal,
      () => {
        if (!requireApproval)
          this.ignored.push('approve: ignored, this run does not wait for approval (requireApproval is off)');
        else if (this.phase() !== 'awaiting_approval')
          this.ignored.push(
            `approve arrived during ${this.phase()}, before verification finished: ignored; send it again once the run is awaiting_approval`,
          );
        else this.approved = true;
      },
      { description: 'Allow the cutover (with requireApproval; counts only while awaiting_approval)' },
    );
    setHandler(
      finalizeSignal,
      () => {
        if (!this.cutOver)
          this.ignored.push(
            `finalize arrived during ${this.phase()}, before the cutover: ignored; send it during awaiting_finalize`,
          );
        else this.finalizeNow = true;
      },
      { description: 'End the rollback window now and drop the previous schema (counts once cut over)' },
    );
  }

  /** The cutover committed: `finalize` counts from now on. */
  markCutOver(): void {
    this.cutOver = true;
  }

  /** The rollback window is closed: from now on nothing undoes the cutover. */
  closeWindow(): void {
    this.windowClosed = true;
  }
}
