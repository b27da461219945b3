// Runs every compiled test file under dist/test with Node's test runner. Node 20's --test
// does not expand globs, so the files are listed here.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = join(import.meta.dirname, '..', 'dist', 'test');
const only = process.argv.slice(2);
const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()
  .map((f) => join(root, f));
if (files.length === 0) {
  console.error(`no test files under ${root}${only.length ? ` matching ${only.join(', ')}` : ''}; run npm run build first`);
  process.exit(1);
}
// Each test carries its own timeout (test/meta/timeouts.test.ts checks that); this one bounds a
// whole file, so that even a synchronous loop that never yields, which no in-process timeout can
// stop, is killed and named instead of holding the suite.
const FILE_TIMEOUT_MS = 10 * 60_000;
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', `--test-timeout=${FILE_TIMEOUT_MS}`, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
