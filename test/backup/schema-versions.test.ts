/**
 * Archives across Certgate versions: one made at an older schema (fewer migrations) restores —
 * loaded at its own schema, then migrated — and one from a newer Certgate (a migration this one
 * does not have) is refused before anything is created.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execOn, listMigrations } from '../../src/backup/catalog.ts';
import { dumpDatabase } from '../../src/backup/dump.ts';
import { SealedWriter } from '../../src/backup/sealed-stream.ts';
import { migrationsFolder, openDatabase } from '../../src/db/client.ts';
import { drivers, makeTestEnv, type TestEnv } from '../support/context.ts';
import { restoreFile, secret, workDir } from './helpers.ts';

const w = workDir();
afterAll(() => w.done());

/** A copy of drizzle/ with its journal cut to `keep` entries, plus `extra` new migrations. */
function migrationsCopy(keep: number, extra: { tag: string; sql: string }[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'certgate-migrations-'));
  cpSync(migrationsFolder, dir, { recursive: true });
  const journal = JSON.parse(readFileSync(join(dir, 'meta/_journal.json'), 'utf8'));
  journal.entries = journal.entries.slice(0, keep);
  for (const [i, e] of extra.entries()) {
    writeFileSync(join(dir, `${e.tag}.sql`), e.sql);
    journal.entries.push({ idx: keep + i, version: '7', when: 4_000_000_000_000 + i, tag: e.tag, breakpoints: true });
  }
  writeFileSync(join(dir, 'meta/_journal.json'), JSON.stringify(journal));
  return dir;
}

/** An archive of a database migrated with `folder`, holding a few rows written with plain SQL. */
async function archiveAt(env: TestEnv, folder: string, name: string): Promise<string> {
  const database = await openDatabase({ url: env.databaseUrl, dataDir: env.dataDir, migrationsFolder: folder });
  try {
    const exec = execOn(database.db);
    await exec(`insert into settings (key, value) values ('old-version-marker', '{"v": 1}')`);
    await exec(`insert into audit_events (actor, action) values ('test', 'a'), ('test', 'b')`);
    const file = join(w.dir, name);
    const { createWriteStream } = await import('node:fs');
    const out = createWriteStream(file);
    const writer = await SealedWriter.open(async (b) => void out.write(b), secret);
    await dumpDatabase({ database, kek: randomBytes(32), dataDir: env.dataDir, settings: {} }, writer);
    await new Promise((r) => out.end(r));
    return file;
  } finally {
    await database.close();
  }
}

describe.each(drivers)('archives across schema versions (%s)', (driver) => {
  const total = JSON.parse(readFileSync(join(migrationsFolder, 'meta/_journal.json'), 'utf8')).entries.length;

  it('restores an archive from an older schema, then applies the newer migrations', async () => {
    const older = migrationsCopy(total - 1); // without the newest migration
    const src = await makeTestEnv(driver);
    const dst = await makeTestEnv(driver);
    try {
      const file = await archiveAt(src, older, `${driver}-older.cgbk`);
      const r = await restoreFile(file, { dataDir: dst.dataDir, databaseUrl: dst.databaseUrl });
      expect(r.upgraded).toBe(true);
      const d = await openDatabase({ url: dst.databaseUrl, dataDir: dst.dataDir, migrate: false });
      try {
        const exec = execOn(d.db);
        expect(await listMigrations(exec)).toHaveLength(total);
        expect((await exec(`select value->>'v' as v from settings where key = 'old-version-marker'`))[0]?.v).toBe('1');
        const [next] = await exec(`insert into audit_events (actor, action) values ('test', 'c') returning id::int as id`);
        expect(next.id).toBe(3);
      } finally {
        await d.close();
      }
    } finally {
      rmSync(older, { recursive: true, force: true });
      await src.cleanup();
      await dst.cleanup();
    }
  }, 300_000);

  it('refuses an archive from a newer Certgate, creating nothing', async () => {
    const newer = migrationsCopy(total, [{ tag: '9999_future', sql: 'CREATE TABLE "future_things" ("id" integer PRIMARY KEY);' }]);
    const src = await makeTestEnv(driver);
    const dst = await makeTestEnv(driver);
    try {
      const file = await archiveAt(src, newer, `${driver}-newer.cgbk`);
      await expect(restoreFile(file, { dataDir: dst.dataDir, databaseUrl: dst.databaseUrl })).rejects.toThrow(
        new RegExp(`made by a newer Certgate \\(${total + 1} database migrations, this one has ${total}\\)`),
      );
      expect(readdirSync(dst.dataDir)).toEqual([]);
      if (dst.databaseUrl) {
        const d = await openDatabase({ url: dst.databaseUrl, migrate: false });
        expect(await execOn(d.db)(`select to_regclass('public.issuers') as t`)).toEqual([{ t: null }]);
        await d.close();
      }
    } finally {
      rmSync(newer, { recursive: true, force: true });
      await src.cleanup();
      await dst.cleanup();
    }
  }, 300_000);
});
