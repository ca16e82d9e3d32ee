/** Every workflow the dbops worker hosts; the worker bundles this file. */
export { connectionCheck } from './connection-check';
export { migrateSqliteToPostgres } from './migration';
export { backupDatabase, nightlyBackup } from './backup';
export { restoreBackup } from './restore';
export { assessEstate } from './assessment';
