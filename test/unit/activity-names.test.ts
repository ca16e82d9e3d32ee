/** Activity registration: one rule for names, and no silent clash between two jobs' factories. */
import { describe, expect, it } from 'vitest';
import { createActivities, mergeActivities } from '../../activities';
import { loadConfig } from '../../config/load';
import { ConnectionRegistry } from '../../activities/connections/registry';

describe('activity registration', () => {
  it('a name registered by two jobs stops the worker at start-up, naming it', () => {
    const first = { migrationExport: () => 'a' };
    const second = { migrationExport: () => 'b', backupDump: () => 'c' };
    expect(() => mergeActivities(first, second)).toThrow(/"migrationExport" is registered by two jobs/);
  });

  it('every job step is named <job><Step> (resolveTargets predates the rule and stays for replay)', async () => {
    const connections = new ConnectionRegistry({ warn: () => undefined });
    try {
      const names = Object.keys(createActivities({ config: loadConfig({ env: {} }), connections }));
      expect(names.length).toBeGreaterThan(10);
      const offRule = names.filter(
        (name) => !/^(check|migration|backup|restore|assessment|notify)[A-Z][A-Za-z]+$/.test(name),
      );
      expect(offRule).toEqual(['resolveTargets']);
    } finally {
      await connections.close();
    }
  });
});
