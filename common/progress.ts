/**
 * What every workflow answers to the `progress` query (docs/architecture.md, rule 5), and the names of the
 * handlers shared by client and workflow. Pure, imported by workflows.
 */

/** Name of the query every dbops workflow answers. */
export const PROGRESS_QUERY = 'progress';

/** The answer to the `progress` query. */
export interface Progress {
  /** Current phase; each workflow documents its own set. Ends as `completed`, `failed` or `rolled_back`. */
  phase: string;
  /** Human sentence for the operator, e.g. `checking local_pg`. */
  message: string;
  /** Units done in the current phase, when countable. */
  done?: number;
  /** Units in the current phase, when countable. */
  total?: number;
  /** Per-step detail, e.g. the last heartbeat of each table. */
  details?: Record<string, unknown>;
  /** One line per table or target being worked on: what `dbops watch` draws a bar for. */
  items?: ProgressItem[];
  /** Units of `done` per second since the phase's counting began (workflow time), when countable. */
  ratePerSecond?: number;
  /** Unit of `done`/`total` (default `rows`). */
  unit?: ProgressUnit;
}

/** What a progress counter counts. */
export type ProgressUnit = 'rows' | 'bytes' | 'steps';

/** Progress of one table (migration) or one target (backup, assessment). */
export interface ProgressItem {
  name: string;
  done: number;
  total: number;
  unit: ProgressUnit;
  /** e.g. `importing`, `indexing`, `verified`, `uploaded`, `failed`. */
  state?: string;
}
