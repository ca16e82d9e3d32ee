/**
 * Real delivery of notifications: the webhook sender against a local HTTP listener that records what it
 * receives (and can fail on purpose), and the e-mail sender through the stack's Mailpit, read back with
 * Mailpit's API. Each test removes what it created (the listener, the messages it sent).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendEmail } from '../../activities/notify/email';
import type { NotificationMessage } from '../../activities/notify/message';
import { sendWebhook } from '../../activities/notify/webhook';
import { mailpit } from '../support/mailpit';
import { SERVERS } from '../support/servers';

/** A unique, readable name for something a test owns (kept local: these tests need no Temporal helpers). */
const uniqueName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

const MESSAGE: NotificationMessage = {
  subject: 'nightly backup',
  status: 'failure',
  summary: '2 of 3 targets backed up; 1 failed',
  lines: [
    'local_pg: ok (3 files, 1.2 MB)',
    'local_mysql: ok (2 files, 640 kB)',
    'local_redis: FAILED — <timeout> & retry',
  ],
  link: 'http://127.0.0.1:8233/namespaces/default/workflows/backup-1',
};

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('webhook notifications', () => {
  let server: Server;
  let base: string;
  const received: Recorded[] = [];
  let answer: { status: number; body: (path: string) => string } = { status: 200, body: () => 'ok' };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body(req.url ?? ''));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    received.length = 0;
    answer = { status: 200, body: () => 'ok' };
  });
  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  it('posts Slack-compatible JSON: fallback text and Block Kit blocks with counts and the failed target', async () => {
    await sendWebhook(`${base}/services/T000/B000/${uniqueName('hook')}`, MESSAGE);

    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toMatch(/^application\/json/);
    const payload = JSON.parse(request?.body ?? '') as {
      text: string;
      blocks: { type: string; text?: { type: string; text: string }; fields?: { text: string }[] }[];
    };
    expect(payload.text).toContain('[FAILURE] nightly backup');
    expect(payload.text).toContain('local_redis: FAILED');
    expect(payload.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'FAILURE: nightly backup', emoji: true },
    });
    expect(payload.blocks.every((b) => ['header', 'section', 'context', 'divider'].includes(b.type))).toBe(true);
    const fields = payload.blocks.flatMap((b) => b.fields ?? []).map((f) => f.text);
    expect(fields).toEqual(['*Status*\nFAILURE', '*Targets*\n3', '*Failed or warned*\n1', '*OK*\n2']);
    // One section per failed target, with Slack's three control characters escaped.
    const failed = payload.blocks.filter((b) => b.type === 'section' && b.text?.text.includes('local_redis'));
    expect(failed.map((b) => b.text?.text)).toEqual([
      ':small_red_triangle: local_redis: FAILED — &lt;timeout&gt; &amp; retry',
    ]);
    expect(JSON.stringify(payload.blocks)).toContain(`<${MESSAGE.link}|Open the details>`);
  });

  it('a non-2xx answer rejects with the status and the body, but never the URL or its secret path', async () => {
    const secret = uniqueName('XyzSecretToken');
    answer = { status: 500, body: (path) => `internal error while handling ${path}` };

    const error = await sendWebhook(`${base}/services/T000/B000/${secret}`, MESSAGE).then(
      () => undefined,
      (err: unknown) => err as Error,
    );

    expect(received).toHaveLength(1);
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toMatch(/^webhook to 127\.0\.0\.1:\d+ answered HTTP 500: internal error while handling/);
    expect(error?.message).not.toContain(secret);
    expect(error?.message).not.toContain('/services/');
  });

  it('an unreachable webhook rejects naming only the host', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const secret = uniqueName('XyzSecretToken');

    await expect(sendWebhook(`http://127.0.0.1:${port}/hooks/${secret}`, MESSAGE)).rejects.toThrow(
      new RegExp(`^webhook to 127\\.0\\.0\\.1:${port} failed: ECONNREFUSED$`),
    );
  });
});

describe('e-mail notifications through Mailpit', () => {
  const sent: string[] = [];

  afterAll(async () => {
    await mailpit.delete(sent);
  });

  it('delivers subject, recipients, text and HTML parts, and keeps the SMTP password out of the message', async () => {
    const token = uniqueName('dbops-notify');
    const password = uniqueName('smtp-pw');
    const message = { ...MESSAGE, subject: `nightly backup ${token}` };

    const { messageId } = await sendEmail(
      {
        host: SERVERS.smtp.host,
        port: SERVERS.smtp.port,
        secure: false,
        from: 'dbops@example.test',
        to: ['ops@example.test', 'dba@example.test'],
        user: 'dbops',
        password,
      },
      message,
    );
    expect(messageId).toMatch(/^<.+@.+>$/);
    // Mailpit stores a message before its SMTP server accepts it: sent means searchable.
    const found = await mailpit.search(`subject:"${token}"`);
    sent.push(...found.map((m) => m.ID));
    expect(found.length).toBe(1);

    const summary = found[0]!;
    expect(summary.Subject).toBe(`[FAILURE] nightly backup ${token}`);
    expect(summary.From.Address).toBe('dbops@example.test');
    expect(summary.To.map((a) => a.Address).sort()).toEqual(['dba@example.test', 'ops@example.test']);

    const full = await mailpit.message(summary.ID);
    expect(full.Text).toContain('2 of 3 targets backed up; 1 failed');
    expect(full.Text).toContain('- local_redis: FAILED — <timeout> & retry');
    expect(full.Text).toContain(`Details: ${MESSAGE.link}`);
    expect(full.HTML).toContain('<li>local_redis: FAILED — &lt;timeout&gt; &amp; retry</li>');
    expect(full.HTML).toContain(`<a href="${MESSAGE.link}">`);

    const raw = await mailpit.raw(summary.ID);
    expect(raw).toContain(`Message-ID: ${messageId}`);
    expect(raw).not.toContain(password);
  });

  it('a refused SMTP connection rejects with the address and the reason, never the password', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const password = uniqueName('smtp-pw');

    const error = await sendEmail(
      {
        host: '127.0.0.1',
        port,
        secure: false,
        from: 'dbops@example.test',
        to: ['ops@example.test'],
        user: 'u',
        password,
      },
      MESSAGE,
    ).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.message).toMatch(
      new RegExp(`^e-mail via 127\\.0\\.0\\.1:${port} failed \\(ESOCKET\\): connect ECONNREFUSED`),
    );
    expect(error?.message).not.toContain(password);
  });
});
