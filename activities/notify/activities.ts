/**
 * The notification settings every workflow reads before telling operators something (a failed run, a wait
 * that lasts): which channels are configured on this worker — the same ones the nightly backup uses — and
 * where the Web UI is, for the link. Workflows cannot read the config; the secrets (webhook URL, SMTP
 * password) stay here: only the channels' names go to history. Sending is `backupNotify`, one channel each.
 */
import { type DbopsConfig, notificationSecrets } from '../../config/load';

/** A notification channel. */
export type NotifyChannel = 'webhook' | 'email';

/** What a workflow needs to notify: the configured channels (none: nothing is sent) and the link's parts. */
export interface NotifySettings {
  channels: NotifyChannel[];
  uiUrl: string;
  namespace: string;
}

/** The channels configured on this worker: the webhook when its URL is in the environment, e-mail when configured. */
export function configuredChannels(config: DbopsConfig, env: NodeJS.ProcessEnv = process.env): NotifyChannel[] {
  return [
    ...(notificationSecrets(env).webhookUrl ? (['webhook'] as const) : []),
    ...(config.notifications.email ? (['email'] as const) : []),
  ];
}

/** Builds the notification activities around the worker's config. */
export function createNotifyActivities({ config }: { config: DbopsConfig }) {
  return {
    /** The configured channels and the Web UI's address; reads config and environment only, never fails on them. */
    async notifyChannels(): Promise<NotifySettings> {
      return Promise.resolve({
        channels: configuredChannels(config),
        uiUrl: config.temporal.uiUrl,
        namespace: config.temporal.namespace,
      });
    },
  };
}
