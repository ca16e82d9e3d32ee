/**
 * The layering rule is enforced by lint: an engine (activities/postgres, sqlite, …) importing a job
 * (activities/migration, check, …) fails `npm run lint`. Lints the project's real config against an engine
 * file whose text is replaced in memory, so the rule is proven able to fail.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function restrictedImports(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')
    .map((m) => m.message);
}

describe('engine → job imports', () => {
  it('an engine importing a job is a lint error that names the rule', async () => {
    const messages = await restrictedImports(
      "import { writeReports } from '../migration/report';\nexport const x = writeReports;\n",
      'activities/postgres/describe-server.ts',
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/An engine must not import a job/);
  });

  it('an engine importing a workflow is a lint error', async () => {
    const messages = await restrictedImports(
      "import { migrateSqliteToPostgres } from '../../workflows/migration';\nexport const x = migrateSqliteToPostgres;\n",
      'activities/sqlite/identifiers.ts',
    );
    expect(messages).toEqual([expect.stringMatching(/must not import workflows/)]);
  });

  it('an engine importing another engine or common/ is allowed, and so is a job importing an engine', async () => {
    expect(
      await restrictedImports(
        "import { qi } from '../postgres/identifiers';\nimport { ErrorCode } from '../../common/errors';\nexport const x = [qi, ErrorCode];\n",
        'activities/sqlite/identifiers.ts',
      ),
    ).toEqual([]);
    expect(
      await restrictedImports(
        "import { qi } from '../postgres/identifiers';\nexport const x = qi;\n",
        'activities/migration/ddl.ts',
      ),
    ).toEqual([]);
  });
});
