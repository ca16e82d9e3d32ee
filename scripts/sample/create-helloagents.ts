/** `node dist/scripts/sample/create-helloagents.js <path> [--users N]`: writes the HelloAgents sample database. */
import { existsSync } from 'node:fs';
import { createHelloAgentsDb } from './helloagents';

const [path, flag, value] = process.argv.slice(2);
const users = flag === '--users' ? Number(value) : 200;
if (!path || !Number.isInteger(users) || users < 1) {
  process.stderr.write('usage: create-helloagents <path.db> [--users N]\n');
  process.exit(2);
}
if (existsSync(path)) {
  process.stderr.write(`${path} already exists: choose a new path (the generator never overwrites a file)\n`);
  process.exit(2);
}
const counts = createHelloAgentsDb(path, { users });
process.stdout.write(
  `${path}: ${Object.entries(counts)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ')}\n`,
);
