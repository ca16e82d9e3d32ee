/**
 * Sends a notification by e-mail over SMTP (nodemailer): a plain-text part and a small HTML part built from
 * the same message. The SMTP password is a secret: it goes to the server's AUTH exchange only and is masked
 * out of any error this module throws.
 */
import nodemailer from 'nodemailer';
import { DbopsError, ErrorCode } from '../../common/errors';
import { formatPlainText, statusLabel, type NotificationMessage } from './message';

/** Where and how to send e-mail. */
export interface SmtpSettings {
  host: string;
  port: number;
  /** true = TLS from the first byte (usually port 465); false = plain, upgraded by STARTTLS when offered. */
  secure: boolean;
  from: string;
  to: string[];
  user?: string;
  password?: string;
}

const TIMEOUT_MS = 15_000;

/** Sends `message` to every recipient in `smtp.to`; resolves with the Message-ID the server accepted. */
export async function sendEmail(smtp: SmtpSettings, message: NotificationMessage): Promise<{ messageId: string }> {
  if (smtp.to.length === 0) {
    throw new DbopsError(ErrorCode.ConfigInvalid, 'e-mail notification has no recipients (smtp.to is empty)');
  }
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
    logger: false,
    debug: false,
  });
  try {
    const info = await transport.sendMail({
      from: smtp.from,
      to: smtp.to,
      subject: `[${statusLabel(message.status)}] ${message.subject}`,
      text: formatPlainText(message),
      html: formatHtml(message),
    });
    return { messageId: String(info.messageId) };
  } catch (err) {
    const e = err as Error & { code?: string; responseCode?: number };
    const detail = maskPassword(e.message ?? String(err), smtp.password);
    const authFailed = e.code === 'EAUTH';
    throw new DbopsError(
      authFailed ? ErrorCode.AuthFailed : ErrorCode.Unreachable,
      `e-mail via ${smtp.host}:${smtp.port} failed${e.code ? ` (${e.code})` : ''}: ${detail}`,
    );
  } finally {
    transport.close();
  }
}

/** The HTML part: the same content as the text part, escaped, in markup every mail client renders. */
export function formatHtml(m: NotificationMessage): string {
  const colour = { success: '#1a7f37', failure: '#cf222e', warning: '#9a6700' }[m.status];
  const items = m.lines.map((line) => `<li>${escapeHtml(line)}</li>`).join('');
  return [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2 style="color:${colour}">${escapeHtml(statusLabel(m.status))}: ${escapeHtml(m.subject)}</h2>`,
    `<p>${escapeHtml(m.summary)}</p>`,
    items ? `<ul>${items}</ul>` : '',
    m.link ? `<p><a href="${escapeHtml(m.link)}">Open the details</a></p>` : '',
    '</body></html>',
  ].join('');
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function maskPassword(text: string, password: string | undefined): string {
  return password ? text.split(password).join('***') : text;
}
