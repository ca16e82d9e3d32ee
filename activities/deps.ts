/** What every activity factory is given; the worker (or a test) creates and closes these. */
import type { DbopsConfig } from '../config/load';
import type { ConnectionRegistry } from './connections/registry';

/** Shared dependencies of the activities. Nothing here connects until first used. */
export interface ActivityDeps {
  config: DbopsConfig;
  connections: ConnectionRegistry;
}
