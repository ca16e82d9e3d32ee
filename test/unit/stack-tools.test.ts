/** The stack's pinned tools (Temporal CLI, MinIO, Mailpit) and the one-line fix when Go is missing. */
import { describe, expect, it } from 'vitest';
import { findGo, TOOLS } from '../../scripts/stack/tools';

describe('stack tools', () => {
  it('without Go, says so in one line with the fix', () => {
    expect(() => findGo(['/nonexistent/go', 'definitely-not-go'])).toThrow(
      /^Go is not installed .*install Go 1\.25 or newer .*builds the Temporal CLI, MinIO and Mailpit/,
    );
  });

  it('pins the Temporal CLI to v1.5.1 (newest tag installable with go install) and MinIO to one commit', () => {
    expect(TOOLS.temporal).toMatchObject({ module: 'github.com/temporalio/cli/cmd/temporal', version: 'v1.5.1' });
    expect(TOOLS.minio.version).toMatch(/^v0\.0\.0-\d{14}-[0-9a-f]{12}$/);
  });

  it('pins Mailpit to a release tag, and every tool installs from a module path at one version', () => {
    expect(TOOLS.mailpit).toMatchObject({
      binary: 'mailpit',
      module: 'github.com/axllent/mailpit',
      version: 'v1.33.1',
    });
    expect(Object.keys(TOOLS).sort()).toEqual(['mailpit', 'minio', 'temporal']);
    for (const spec of Object.values(TOOLS)) {
      expect(spec.module).toMatch(/^github\.com\/[\w.-]+\/[\w./-]+$/);
      expect(spec.version).toMatch(/^v\d+\.\d+\.\d+/);
      // A version ldflag, when set, must name the version pinned, so `<tool> version` tells the truth.
      if (spec.ldflags) expect(spec.ldflags).toContain(spec.version.replace(/^v/, ''));
    }
  });
});
