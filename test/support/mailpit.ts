/** Mailpit's REST API (v1), as the tests read the mail dbops sent to the local stack's SMTP server. */
import { SERVERS } from './servers';

/** A message as Mailpit's search lists it. */
export interface MailpitSummary {
  ID: string;
  Subject: string;
  From: { Address: string };
  To: { Address: string }[];
  /** When Mailpit received it (ISO 8601). */
  Created: string;
}

async function get<T>(path: string, what: string): Promise<T> {
  const res = await fetch(`${SERVERS.mailpitApi}${path}`);
  if (!res.ok) throw new Error(`Mailpit ${what} answered ${res.status}`);
  return (await res.json()) as T;
}

/** Only the calls the tests need. */
export const mailpit = {
  async search(query: string, limit = 50): Promise<MailpitSummary[]> {
    return (
      await get<{ messages: MailpitSummary[] }>(
        `/api/v1/search?query=${encodeURIComponent(query)}&limit=${limit}`,
        'search',
      )
    ).messages;
  },
  async message(id: string): Promise<MailpitSummary & { Text: string; HTML: string }> {
    return get(`/api/v1/message/${encodeURIComponent(id)}`, 'message');
  },
  async raw(id: string): Promise<string> {
    const res = await fetch(`${SERVERS.mailpitApi}/api/v1/message/${encodeURIComponent(id)}/raw`);
    if (!res.ok) throw new Error(`Mailpit raw answered ${res.status}`);
    return res.text();
  },
  /** Deletes exactly these messages. An empty list is never sent: Mailpit would delete every message. */
  async delete(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const res = await fetch(`${SERVERS.mailpitApi}/api/v1/messages`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ IDs: ids }),
    });
    if (!res.ok) throw new Error(`Mailpit delete answered ${res.status}`);
  },
};
