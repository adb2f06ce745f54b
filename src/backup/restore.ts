/**
 * `backup restore`: into an empty data directory and an empty database only. Everything goes in
 * one transaction — rows, then every sequence set to where it stood — and each table is read back
 * and hashed before the commit, so a damaged archive, a wrong secret or a mismatch leaves the
 * target as empty as it was. The KEK and the data-directory files are written after the commit.
 * An archive from an older schema is loaded at that schema, then migrated (migration-plan.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { sql } from 'drizzle-orm';
import { openDatabase, redactUrl, type Database, type Tx } from '../db/client.ts';
import { execOn, ident, listMigrations, listTables, nonEmptyTables, qualified, type Exec, type TableInfo } from './catalog.ts';
import { DATA_FILES } from './dump.ts';
import { BackupError } from './errors.ts';
import { planMigrations } from './migration-plan.ts';
import { readArchive, readMeta, type ArchiveSummary } from './read-archive.ts';
import type { FileRecord } from './records.ts';
import { fileSource } from './sealed-stream.ts';
import type { BackupSecret } from './secret.ts';
import { tableHash } from './table-hash.ts';

export interface RestoreTarget {
  dataDir: string;
  databaseUrl?: string;
  /** CERTGATE_KEK of the target, if set: it must be the archive's KEK. */
  configuredKek?: Buffer;
}

/** What may already sit in an "empty" data directory: the lock of the command restoring into it. */
const IGNORED = /^lock(\..*)?$/;

export async function restoreBackup(
  file: string,
  secret: BackupSecret,
  target: RestoreTarget,
  onProgress?: (consumed: number) => void,
): Promise<ArchiveSummary & { kekWritten?: string; upgraded: boolean }> {
  await refuseNonEmpty(target);
  // The meta record first: which schema the rows need, before anything is created.
  const plan = planMigrations((await readMeta(fileSource(file), secret)).migrations);
  let committed = false;
  let database: Database | undefined;
  try {
    database = await openDatabase({ url: target.databaseUrl, dataDir: target.dataDir, migrationsFolder: plan.folder });
    const { summary, kek, files } = await load(database, file, secret, target, onProgress);
    committed = true;
    if (plan.upgrade) {
      await database.close();
      database = await openDatabase({ url: target.databaseUrl, dataDir: target.dataDir });
    }
    const kekWritten = writeAfterCommit(target, kek, files);
    return { ...summary, kekWritten, upgraded: plan.upgrade };
  } finally {
    plan.cleanup();
    await database?.close();
    if (!committed) cleanupFailed(target);
  }
}

/** Rows, sequences and read-back checks in one transaction. */
async function load(database: Database, file: string, secret: BackupSecret, target: RestoreTarget, onProgress?: (consumed: number) => void) {
  let kek: Buffer | undefined;
  const files: FileRecord[] = [];
  const summary = await database.db.transaction(async (tx) => {
    const exec = execOn(tx);
    await exec(`set local timezone = 'UTC'`);
    await exec(`set local bytea_output = 'hex'`);
    const tables = new Map((await listTables(exec)).map((t) => [t.name, t]));
    const here = await listMigrations(exec);
    return readArchive(
      fileSource(file),
      secret,
      {
        meta: async (m) => {
          if (m.migrations.map((x) => x.hash).join() !== here.map((x) => x.hash).join()) throw new BackupError('the target database\'s migrations do not match the archive\'s');
          kek = Buffer.from(m.kek, 'base64');
          if (target.configuredKek && !(target.configuredKek.length === kek.length && timingSafeEqual(target.configuredKek, kek))) {
            throw new BackupError('CERTGATE_KEK is set and is not the key-encryption key of the archive: unset it (the archive\'s KEK is then written to <data dir>/kek) or set it to the KEK the backed-up server used');
          }
        },
        file: async (f) => void files.push(f),
        table: async (t) => {
          const have = tables.get(t.name);
          if (!have || have.columns.join() !== t.columns.join()) throw new BackupError(`table ${t.name} of the archive does not match this database's schema`);
          await exec(`alter table ${qualified(t.name)} disable trigger user`);
        },
        rows: (t, rows) => insertRows(tx, tables.get(t.name)!, rows),
        tableEnd: async (t, rows, sha) => {
          await exec(`alter table ${qualified(t.name)} enable trigger user`);
          const back = await tableHash(exec, tables.get(t.name)!);
          if (back.rows !== rows || back.sha256 !== sha) throw new BackupError(`table ${t.name} reads back differently after the restore (${back.rows} of ${rows} rows); nothing was restored`);
        },
        sequences: async (s) => {
          for (const q of s.list) await tx.execute(sql`select setval(${qualified(q.name)}::regclass, ${q.lastValue}::bigint, ${q.isCalled})`);
        },
      },
      onProgress,
    );
  });
  return { summary, kek: kek!, files };
}

async function insertRows(tx: Tx, t: TableInfo, rows: string[]): Promise<void> {
  const cols = t.columns.map(ident).join(', ');
  const head = `insert into ${qualified(t.name)} (${cols}) overriding system value select ${cols} from json_populate_recordset(null::${qualified(t.name)}, `;
  await tx.execute(sql`${sql.raw(head)}${'[' + rows.join(',') + ']'}${sql.raw('::json)')}`);
}

async function refuseNonEmpty(target: RestoreTarget): Promise<void> {
  if (existsSync(target.dataDir)) {
    const present = readdirSync(target.dataDir).filter((f) => !IGNORED.test(f));
    if (present.length) {
      throw new BackupError(`refusing to restore into ${resolve(target.dataDir)}: the data directory is not empty (${present.slice(0, 5).join(', ')}${present.length > 5 ? ', …' : ''}). Restore into a new, empty data directory`);
    }
  }
  if (!target.databaseUrl) return;
  const probe = await openDatabase({ url: target.databaseUrl, migrate: false, poolSize: 1 });
  try {
    const exec: Exec = execOn(probe.db);
    const full = await nonEmptyTables(exec);
    if (full.length) {
      throw new BackupError(`refusing to restore into ${redactUrl(target.databaseUrl)}: the database already holds data (tables ${full.slice(0, 5).join(', ')}${full.length > 5 ? ', …' : ''}). Restore into a new, empty database`);
    }
  } finally {
    await probe.close();
  }
}

function writeAfterCommit(target: RestoreTarget, kek: Buffer, files: FileRecord[]): string | undefined {
  mkdirSync(target.dataDir, { recursive: true, mode: 0o700 });
  for (const f of files) {
    if (!DATA_FILES.includes(f.path)) continue; // only the files Certgate itself writes there
    const file = join(target.dataDir, f.path);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, Buffer.from(f.data, 'base64'), { mode: f.mode & 0o777 });
    chmodSync(file, f.mode & 0o777);
  }
  if (target.configuredKek) return undefined;
  const file = join(target.dataDir, 'kek');
  writeFileSync(file, kek.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return file;
}

/**
 * A failed restore leaves an empty target: the PGlite database it created goes. (PostgreSQL: the
 * transaction rolled back; the migrated, empty schema stays, which a new restore accepts.)
 */
function cleanupFailed(target: RestoreTarget): void {
  if (!target.databaseUrl) rmSync(join(target.dataDir, 'db'), { recursive: true, force: true });
}
