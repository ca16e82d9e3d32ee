// ESLint: typed rules for promise handling everywhere; workflow code kept deterministic by import bans.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

// Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O clients, no worker or
// client SDK, activities as types only. common/ is imported by workflows, so it obeys the same rule.
const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);
const sandboxBans = {
  '@typescript-eslint/no-restricted-imports': [
    'error',
    {
      paths: [
        ...nodeBuiltins.map((name) => ({
          name,
          message: 'Workflow code must be deterministic: do I/O in an activity.',
        })),
        ...[
          'pg',
          'pg-copy-streams',
          'mysql2',
          'mysql2/promise',
          'ioredis',
          'better-sqlite3',
          '@temporalio/worker',
          '@temporalio/client',
          '@temporalio/activity',
        ].map((name) => ({
          name,
          message: 'Database, S3 and worker/client SDK imports belong in activities/ or scripts/.',
        })),
      ],
      patterns: [
        { group: ['@aws-sdk/*'], message: 'S3 calls belong in activities/storage.' },
        {
          group: ['**/activities', '**/activities/**'],
          allowTypeImports: true,
          message: 'Import activities as types only (import type).',
        },
        {
          group: ['**/config/**', '**/scripts/**', '**/workers/**'],
          allowTypeImports: true,
          message: 'Node-side modules cannot run in the workflow sandbox.',
        },
      ],
    },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.dbops/**', 'artifacts/**', 'bin/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Forgetting to await an activity, a query or a pool.end() is a bug, never a style choice.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  { files: ['workflows/**/*.ts', 'common/**/*.ts'], rules: sandboxBans },
);
