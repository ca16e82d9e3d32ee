/**
 * Workflow-side plumbing every dbops workflow shares: the input guard (no secrets in history), the
 * `progress` query, and the `DbopsPhase` search attribute that mirrors it so `dbops list/status` work even
 * when no worker is up to answer queries.
 */
import { ApplicationFailure } from '@temporalio/common';
import { defineQuery, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { ErrorCode } from '../../common/errors';
import { formatBytes, groupDigits } from '../../common/format';
import { PROGRESS_QUERY, type Progress, type ProgressUnit } from '../../common/progress';
import { kindKey, phaseKey, targetsKey } from '../../common/search-attributes';
import { describeSecretFindings, findSecrets } from '../../common/secret-guard';

/** The query every dbops workflow answers (docs/architecture.md, rule 5). */
export const progressQuery = defineQuery<Progress>(PROGRESS_QUERY);

/**
 * Fails the workflow at once, non-retryably, when the input carries a secret. Starts through the dbops
 * client are refused before they reach the server; this catches starts from the Web UI or other clients.
 */
export function guardInput(input: unknown): void {
  const findings = findSecrets(input);
  if (findings.length > 0) {
    throw ApplicationFailure.create({
      type: ErrorCode.SecretInInput,
      message: `${describeSecretFindings(findings)} This run already stored the input: rotate that password.`,
      nonRetryable: true,
    });
  }
}

/** What an operator can do in a phase (the signals that apply, and what they do), as Markdown. */
export type OperatorActions = (phase: string) => string | undefined;

/**
 * Progress of one workflow run: answered by the `progress` query, mirrored in search attributes, and shown
 * as the run's current details in the Web UI (phase, sentence, counters, what the operator can do now).
 */
export class JobState {
  private current: Progress;

  constructor(
    kind: string,
    targets: string[],
    initial: Progress,
    private readonly actions: OperatorActions = () => undefined,
  ) {
    this.current = initial;
    this.showDetails();
    setHandler(progressQuery, () => this.current, {
      description: 'Current phase, a sentence for the operator and per-step counters',
    });
    upsertSearchAttributes([
      { key: kindKey, value: kind },
      { key: targetsKey, value: targets },
      { key: phaseKey, value: initial.phase },
    ]);
  }

  /** The latest progress. */
  get progress(): Progress {
    return this.current;
  }

  /** Replaces the progress; upserts the phase search attribute only when the phase changes. */
  update(next: Progress): void {
    const phaseChanged = next.phase !== this.current.phase;
    this.current = next;
    if (phaseChanged) upsertSearchAttributes([{ key: phaseKey, value: next.phase }]);
    this.showDetails();
  }

  /** The Web UI's "current details" (workflow metadata, not a command: replay is unaffected). */
  private showDetails(): void {
    const { phase, message, done, total, items, ratePerSecond } = this.current;
    const unit = this.current.unit ?? 'rows';
    // The Web UI shows the first few lines in a small panel: phase, what the operator can do, then detail.
    const lines = [`**Phase:** ${phase}`];
    const actions = this.actions(phase);
    if (actions) lines.push('', actions);
    lines.push('', message);
    if (done !== undefined && total !== undefined && total > 0) {
      const rate = ratePerSecond && ratePerSecond > 0 ? `, ${amount(Math.round(ratePerSecond), unit)}/s` : '';
      lines.push('', `**Progress:** ${amount(done, unit)} of ${amount(total, unit)} (${percent(done, total)}${rate})`);
    }
    if (items && items.length > 0) {
      lines.push('', '| name | done | total | state |', '|---|---:|---:|---|');
      for (const item of items.slice(0, 40))
        lines.push(
          `| ${item.name} | ${amount(item.done, item.unit)} | ${amount(item.total, item.unit)} | ${item.state ?? percent(item.done, item.total)} |`,
        );
      if (items.length > 40) lines.push(`| … ${items.length - 40} more | | | |`);
    }
    setCurrentDetails(lines.join('\n'));
  }
}

function percent(done: number, total: number): string {
  return total > 0 ? `${Math.floor((100 * done) / total)} %` : '–';
}

/** `1,234,567 rows`, `12.3 MiB`, `3 steps`. */
function amount(n: number, unit: ProgressUnit): string {
  return unit === 'bytes' ? formatBytes(n) : `${groupDigits(n)} ${unit}`;
}
