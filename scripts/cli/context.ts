/** What every command gets: the config and a lazily connected Temporal client, closed once at exit. */
import type { Client } from '@temporalio/client';
import { loadConfig, type DbopsConfig } from '../../config/load';
import { connectClient, type DbopsClient } from './temporal-client';

/** Per-invocation state shared by the commands. */
export class CliContext {
  private configValue: DbopsConfig | undefined;
  private connected: Promise<DbopsClient> | undefined;

  /** The configuration, loaded on first use (so `--help` works with a broken config). */
  get config(): DbopsConfig {
    this.configValue ??= loadConfig();
    return this.configValue;
  }

  /** The Temporal client, connected on first use. */
  async client(): Promise<Client> {
    this.connected ??= connectClient(this.config);
    return (await this.connected).client;
  }

  /** Closes the connection if one was opened. Safe to call twice. */
  async close(): Promise<void> {
    const connected = this.connected;
    this.connected = undefined;
    if (connected) await (await connected.catch(() => undefined))?.close();
  }
}

/** Runs a command body and records its exit code (errors become a message and an exit code). */
export type CommandRunner = (body: () => Promise<number>) => Promise<void>;
