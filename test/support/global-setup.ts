import postgres from 'postgres';

/**
 * When DATABASE_URL is set, every database test also runs on that PostgreSQL server; each test
 * context creates (and drops) a database of its own there. Fail loudly if it is unreachable.
 */
export default async function setup(): Promise<void> {
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
