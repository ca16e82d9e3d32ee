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
        { group: ['@aws-sdk/*'], message: 'S3 calls belong in activities/s3.' },
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

// activities/ holds two kinds of folder. Engines — one per system, all I/O for it — know nothing of the jobs
// (one folder per workflow, its steps) that use them: jobs → engines → common/, never an engine → a job.
// See docs/architecture.md.
export const ENGINE_FOLDERS = [
  'connections',
  'files',
  'mysql',
  'notify',
  'postgres',
  'redis',
  's3',
  'sqlite',
  'tdengine',
];
export const JOB_FOLDERS = ['assessment', 'backup', 'check', 'migration', 'restore'];
const engineBans = {
  '@typescript-eslint/no-restricted-imports': [
    'error',
    {
      patterns: [
        {
          regex: `^(\\.\\./)+(${JOB_FOLDERS.join('|')})(/|$)`,
          message: 'An engine must not import a job: move what both need into the engine or common/.',
        },
        {
          regex: '^(\\.\\./)+(workflows|scripts|workers)(/|$)',
          message: 'An engine must not import workflows, scripts or workers.',
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
  { files: ENGINE_FOLDERS.map((folder) => `activities/${folder}/**/*.ts`), rules: engineBans },
);
