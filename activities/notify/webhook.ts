/**
 * Sends a notification to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat and most chat
 * tools accept the same body). The webhook URL is a bearer secret — whoever has it can post — so it never
 * appears in an error or log line: only its host does.
 */
import { DbopsError, ErrorCode } from '../../common/errors';
import { formatPlainText, problemLines, statusLabel, type NotificationMessage } from './message';

/** Options of {@link sendWebhook}. */
export interface WebhookOptions {
  /** Cancels the request (e.g. the activity's cancellation signal). */
  signal?: AbortSignal;
  /** Gives up after this long (default 10 s). */
  timeoutMs?: number;
}

/** A Slack Block Kit text object. */
interface TextObject {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}

/** The Block Kit blocks this module builds (a subset of Slack's). */
type Block =
  | { type: 'header'; text: TextObject }
  | { type: 'section'; text: TextObject; fields?: TextObject[] }
  | { type: 'section'; fields: TextObject[] }
  | { type: 'context'; elements: TextObject[] }
  | { type: 'divider' };

/** The JSON body posted to the webhook. */
export interface WebhookPayload {
  text: string;
  blocks: Block[];
}

// Slack's limits: 50 blocks per message, 150 characters in a header, 3000 in a section's text.
const MAX_BLOCKS = 50;
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FALLBACK_TEXT_MAX = 4000;
const BODY_EXCERPT = 200;
const DEFAULT_TIMEOUT_MS = 10_000;

const STATUS_EMOJI = { success: ':white_check_mark:', failure: ':x:', warning: ':warning:' } as const;

/** Posts `message` to the incoming webhook at `url`; throws when the webhook does not answer 2xx. */
export async function sendWebhook(
  url: string,
  message: NotificationMessage,
  options: WebhookOptions = {},
): Promise<void> {
  const target = parseWebhookUrl(url);
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(buildWebhookPayload(message)),
      signal,
      redirect: 'error',
    });
  } catch (err) {
    // Undici's errors name the address (host:port) at most, but say nothing of the path; keep only that.
    const reason = options.signal?.aborted
      ? 'cancelled'
      : timeout.aborted
        ? `no answer within ${(options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000} s`
        : redactUrl(describeFetchError(err), target);
    throw new DbopsError(ErrorCode.Unreachable, `webhook to ${target.host} failed: ${reason}`);
  }
  const body = await response.text().catch(() => '');
  if (response.ok) return;
  const excerpt = redactUrl(body, target).slice(0, BODY_EXCERPT).trim();
  const retryable = response.status >= 500 || response.status === 429 || response.status === 408;
  throw new DbopsError(
    retryable ? ErrorCode.Unreachable : ErrorCode.ConfigInvalid,
    `webhook to ${target.host} answered HTTP ${response.status}${excerpt ? `: ${excerpt}` : ''}`,
    { retryable },
  );
}

/** The Slack-compatible body for `message`: a fallback `text` and Block Kit `blocks`. */
export function buildWebhookPayload(message: NotificationMessage): WebhookPayload {
  const problems = message.status === 'success' ? [] : problemLines(message);
  const blocks: Block[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: truncate(`${statusLabel(message.status)}: ${message.subject}`, HEADER_MAX),
        emoji: true,
      },
    },
    { type: 'section', text: mrkdwn(`${STATUS_EMOJI[message.status]} ${escapeMrkdwn(message.summary)}`) },
    {
      type: 'section',
      fields: [
        mrkdwn(`*Status*\n${statusLabel(message.status)}`),
        mrkdwn(`*Targets*\n${message.lines.length}`),
        mrkdwn(`*Failed or warned*\n${problems.length}`),
        mrkdwn(`*OK*\n${message.lines.length - problems.length}`),
      ],
    },
  ];
  // One section per failed target, leaving room for the divider, an overflow note and the link.
  const room = MAX_BLOCKS - blocks.length - 3;
  if (problems.length > 0) blocks.push({ type: 'divider' });
  for (const line of problems.slice(0, room)) {
    blocks.push({ type: 'section', text: mrkdwn(`:small_red_triangle: ${escapeMrkdwn(line)}`) });
  }
  if (problems.length > room) {
    blocks.push({ type: 'context', elements: [mrkdwn(`…and ${problems.length - room} more; see the details`)] });
  }
  if (message.link) {
    blocks.push({ type: 'context', elements: [mrkdwn(`<${escapeMrkdwn(message.link)}|Open the details>`)] });
  }
  return { text: truncate(formatPlainText(message), FALLBACK_TEXT_MAX), blocks };
}

function mrkdwn(text: string): TextObject {
  return { type: 'mrkdwn', text: truncate(text, SECTION_MAX) };
}

/** Slack's mrkdwn treats only these three characters as control characters. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function parseWebhookUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DbopsError(ErrorCode.ConfigInvalid, 'webhook URL is not a valid URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new DbopsError(ErrorCode.ConfigInvalid, `webhook URL must be http(s), not ${parsed.protocol}`);
  }
  return parsed;
}

/** Removes the URL's secret parts (path, query, user-info) should a server echo them back. */
function redactUrl(text: string, url: URL): string {
  let out = text;
  for (const secret of [url.href, url.pathname + url.search, url.pathname, url.search, url.password]) {
    if (secret.length > 1) out = out.split(secret).join('***');
  }
  return out;
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}
