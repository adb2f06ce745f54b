import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
// @ts-expect-error: a plain .mjs helper without type declarations
import { distIsCurrent } from '../../scripts/dist-current.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Tests that spawn `bin/certgate.mjs` exercise the compiled CLI, as operators run it: rebuild
 * dist/ first when a source changed since the last build (about 3 s). When DATABASE_URL is set,
 * every database test also runs on that PostgreSQL server; each test context creates (and drops)
 * a database of its own there. Fail loudly if it is unreachable.
 */
export default async function setup(): Promise<void> {
  if (!(distIsCurrent as (root: string) => boolean)(root)) {
    const r = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run build failed: the CLI tests need dist/');
  }
  const url = process.env.DATABASE_URL;
  if (!url) return;
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select 1`;
  } catch (e) {
    throw new Error(`DATABASE_URL is set but PostgreSQL is unreachable: ${(e as Error).message}`);
  } finally {
    await sql.end();
  }
}
