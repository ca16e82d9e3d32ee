import { describe, expect, it } from 'vitest';
import { findGo, TOOLS } from '../../scripts/stack/tools';

describe('stack tools', () => {
  it('without Go, says so in one line with the fix', () => {
    expect(() => findGo(['/nonexistent/go', 'definitely-not-go'])).toThrow(
      /^Go is not installed .*install Go 1\.25 or newer .*builds the Temporal CLI and MinIO/,
    );
  });

  it('pins the Temporal CLI to v1.5.1 (newest tag installable with go install) and MinIO to one commit', () => {
    expect(TOOLS.temporal).toMatchObject({ module: 'github.com/temporalio/cli/cmd/temporal', version: 'v1.5.1' });
    expect(TOOLS.minio.version).toMatch(/^v0\.0\.0-\d{14}-[0-9a-f]{12}$/);
  });
});
