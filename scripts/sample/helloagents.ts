/**
 * The HelloAgents sample database: users, courses (18), progress, code_submissions, chat_messages —
 * generated deterministically (same seed → same bytes of data) for the demo, the tests and the benchmark.
 * With N users it holds about 37·N rows: progress 10·N, code_submissions 5·N, chat_messages 20·N.
 */
import Database from 'better-sqlite3';

/** Options of the generator. */
export interface SampleOptions {
  users: number;
  seed?: number;
}

const SCHEMA = `
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username VARCHAR(50) NOT NULL UNIQUE,
  email TEXT NOT NULL COLLATE NOCASE,
  display_name TEXT,
  is_active BOOLEAN NOT NULL DEFAULT 1,
  settings TEXT NOT NULL DEFAULT '{}',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME
);
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
CREATE TABLE courses (
  id INTEGER PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
  metadata TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE progress (
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  course_id INTEGER NOT NULL REFERENCES courses(id),
  lesson INTEGER NOT NULL,
  score REAL,
  completed INTEGER NOT NULL DEFAULT 0,
  updated_at DATETIME,
  PRIMARY KEY (user_id, course_id, lesson)
) WITHOUT ROWID;
CREATE INDEX progress_course_completed ON progress (course_id) WHERE completed = 1;
CREATE TABLE code_submissions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  course_id INTEGER NOT NULL REFERENCES courses(id),
  language TEXT NOT NULL,
  code TEXT NOT NULL,
  result TEXT,
  passed BOOLEAN,
  submitted_at DATETIME NOT NULL
);
CREATE INDEX code_submissions_user_time ON code_submissions (user_id, submitted_at DESC);
CREATE TABLE chat_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  course_id INTEGER REFERENCES courses(id) ON DELETE SET NULL,
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  content TEXT NOT NULL,
  tokens INTEGER,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX chat_messages_user_created ON chat_messages (user_id, created_at);
CREATE VIEW active_users AS SELECT id, username, email FROM users WHERE is_active = 1;
`;

const TOPICS = ['agents', 'prompting', 'tools', 'memory', 'planning', 'evaluation', 'rag', 'safety', 'multi-agent'];
const LANGUAGES = ['python', 'typescript', 'go', 'rust'];
const WORDS = 'the agent calls a tool then reads the result and plans its next step with care and memory'.split(' ');

/** Small, fast, seedable PRNG (mulberry32): the data must not depend on Math.random (tests reuse it). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Creates the database at `path` (which must not exist) and returns its row counts per table. */
export function createHelloAgentsDb(path: string, options: SampleOptions): Record<string, number> {
  const random = prng(options.seed ?? 42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const sentence = (words: number): string => Array.from({ length: words }, () => pick(WORDS)).join(' ');
  const base = Date.UTC(2025, 0, 1);
  const stamp = (offsetMinutes: number): string =>
    new Date(base + offsetMinutes * 60_000).toISOString().replace('T', ' ').slice(0, 19);

  const db = new Database(path);
  try {
    db.pragma('journal_mode = DELETE');
    db.exec(SCHEMA);
    const insert = {
      course: db.prepare(
        'INSERT INTO courses (id, slug, title, level, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      user: db.prepare(
        'INSERT INTO users (username, email, display_name, is_active, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      progress: db.prepare(
        'INSERT INTO progress (user_id, course_id, lesson, score, completed, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      submission: db.prepare(
        'INSERT INTO code_submissions (user_id, course_id, language, code, result, passed, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      message: db.prepare(
        'INSERT INTO chat_messages (user_id, course_id, role, content, tokens, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
    };
    db.transaction(() => {
      for (let c = 1; c <= 18; c++) {
        const topic = TOPICS[(c - 1) % TOPICS.length] as string;
        const metadata = JSON.stringify({
          topic,
          lessons: 10,
          tags: [topic, `level-${1 + (c % 5)}`],
          free: c % 3 === 0,
        });
        insert.course.run(c, `${topic}-${c}`, `Course ${c}: ${topic}`, 1 + (c % 5), metadata, stamp(c * 60));
      }
      for (let u = 1; u <= options.users; u++) {
        const created = Math.floor(random() * 500_000);
        const settings = JSON.stringify({
          theme: pick(['dark', 'light']),
          notifications: random() < 0.7,
          lang: pick(['en', 'zh', 'fr']),
        });
        insert.user.run(
          `user${u}`,
          `User${u}@Example.com`,
          random() < 0.9 ? `User ${u}` : null,
          random() < 0.95 ? 1 : 0,
          settings,
          stamp(created),
          random() < 0.5 ? stamp(created + 1_000) : null,
        );
        const course = 1 + (u % 18);
        for (let lesson = 1; lesson <= 10; lesson++) {
          const done = random() < 0.6;
          insert.progress.run(
            u,
            course,
            lesson,
            done ? Math.round(random() * 1000) / 10 : null,
            done ? 1 : 0,
            stamp(created + lesson * 30),
          );
        }
        for (let s = 0; s < 5; s++) {
          const passed = random() < 0.5;
          const result = JSON.stringify({
            passed,
            tests: 10,
            failures: passed ? 0 : 1 + Math.floor(random() * 9),
            ms: Math.floor(random() * 900),
          });
          insert.submission.run(
            u,
            course,
            pick(LANGUAGES),
            `def solve():\n\treturn "${sentence(6)}"\n`,
            result,
            passed ? 1 : 0,
            stamp(created + 400 + s * 7),
          );
        }
        for (let m = 0; m < 20; m++) {
          const role = m % 2 === 0 ? 'user' : 'assistant';
          insert.message.run(
            u,
            random() < 0.9 ? course : null,
            role,
            sentence(8 + Math.floor(random() * 24)),
            Math.floor(random() * 400),
            stamp(created + 600 + m),
          );
        }
      }
    })();
    // The newest message is deleted, so sqlite_sequence.seq is above max(id): the target must continue after seq.
    db.exec('DELETE FROM chat_messages WHERE id = (SELECT max(id) FROM chat_messages)');
    const tables = ['users', 'courses', 'progress', 'code_submissions', 'chat_messages'];
    return Object.fromEntries(
      tables.map((t) => [t, db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number]),
    );
  } finally {
    db.close();
  }
}
