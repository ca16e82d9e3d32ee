/**
 * The saga's undo stack. A step registers its compensation *before* it runs, so an attempt that did its
 * work and then lost its answer (a worker crash after COMMIT) is undone too; compensations must therefore
 * be idempotent. They run newest first, in a non-cancellable scope (a rollback signal or a Cancel must not
 * interrupt the undo), and each failure is collected rather than thrown, with the SQL (or command) an
 * operator runs to finish it: the caller reports an incomplete rollback, never a clean one.
 */
import { CancellationScope } from '@temporalio/workflow';
import { rootMessage } from './failures';

/** A compensation that did not complete, and how to finish it by hand. */
export interface CompensationFailure {
  name: string;
  message: string;
  manual: string;
}

/** Compensations of the completed (or started) steps, newest first. */
export class Compensations {
  private stack: { name: string; run: () => Promise<unknown>; manual: string }[] = [];

  /** Registers the undo of the step about to run; `manual` is what an operator runs if it fails. */
  push(name: string, run: () => Promise<unknown>, manual: string): void {
    this.stack.unshift({ name, run, manual });
  }

  /** Forgets every registered undo (what they would undo no longer exists, or must never be undone). */
  clear(): void {
    this.stack.length = 0;
  }

  /** Runs every registered undo, newest first, each to the end; returns the ones that failed. */
  async runAll(): Promise<CompensationFailure[]> {
    const failures: CompensationFailure[] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const compensation of this.stack) {
        try {
          await compensation.run();
        } catch (err) {
          failures.push({ name: compensation.name, message: rootMessage(err), manual: compensation.manual });
        }
      }
    });
    return failures;
  }
}
