/**
 * The one notification both channels send (webhook and e-mail): a job's outcome, a one-line summary and a
 * line per target. Kept channel-neutral and pure so each sender only decides how to lay it out.
 */

/** Outcome of the job being reported. */
export type NotificationStatus = 'success' | 'failure' | 'warning';

/** What a notification says; no secrets belong in any field (it is sent to third-party services). */
export interface NotificationMessage {
  subject: string;
  status: NotificationStatus;
  summary: string;
  /** One line per target, e.g. `local_pg: ok (12 tables)` or `prod_db: FAILED — timeout`. */
  lines: string[];
  /** Where to read more, e.g. the workflow in the Temporal Web UI. */
  link?: string;
}

const STATUS_LABEL: Readonly<Record<NotificationStatus, string>> = Object.freeze({
  success: 'SUCCESS',
  failure: 'FAILURE',
  warning: 'WARNING',
});

/** Upper-case label of a status, as shown in subjects and headers. */
export function statusLabel(status: NotificationStatus): string {
  return STATUS_LABEL[status];
}

/** Lines that report a problem: the ones a reader must look at first. */
export function problemLines(m: NotificationMessage): string[] {
  return m.lines.filter((line) => /\b(fail(ed|ure)?|error|warn(ing)?)\b/i.test(line));
}

/** The message as plain text: status and subject, summary, one line per target, then the link. */
export function formatPlainText(m: NotificationMessage): string {
  const parts = [`[${statusLabel(m.status)}] ${m.subject}`, '', m.summary];
  if (m.lines.length > 0) parts.push('', ...m.lines.map((line) => `- ${line}`));
  if (m.link) parts.push('', `Details: ${m.link}`);
  return `${parts.join('\n')}\n`;
}
