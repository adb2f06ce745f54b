/**
 * Which schema a restore loads rows into. An archive made at this Certgate's schema: the full
 * migrations. One made by an older Certgate (its migrations a prefix of ours): the target is first
 * migrated only that far — a copy of `drizzle/` whose journal stops there — so the rows fit the
 * tables they came from; the newer migrations run after the commit, as on any upgrade. One made by
 * a newer Certgate, or a different history, is refused before anything is created.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrationsFolder } from '../db/client.ts';
import { BackupError } from './errors.ts';
import type { MigrationState } from './catalog.ts';

interface Journal {
  entries: { idx: number; tag: string; when: number }[];
  [k: string]: unknown;
}

export interface MigrationPlan {
  /** Folder to migrate with before loading rows. */
  folder: string;
  /** Whether newer migrations remain to apply after the load. */
  upgrade: boolean;
  cleanup(): void;
}

export function planMigrations(archive: MigrationState[], folder = migrationsFolder): MigrationPlan {
  const journal = JSON.parse(readFileSync(join(folder, 'meta/_journal.json'), 'utf8')) as Journal;
  const ours = journal.entries.map((e) => createHash('sha256').update(readFileSync(join(folder, `${e.tag}.sql`))).digest('hex'));
  const theirs = archive.map((m) => m.hash);
  const prefix = theirs.every((h, i) => ours[i] === h);
  if (!prefix || theirs.length > ours.length) {
    throw new BackupError(
      theirs.length > ours.length
        ? `the archive was made by a newer Certgate (${theirs.length} database migrations, this one has ${ours.length}): restore it with that version or a later one`
        : `the archive's database migrations differ from this Certgate's (first difference at migration ${theirs.findIndex((h, i) => ours[i] !== h)}): restore it with the Certgate version that made it`,
    );
  }
  if (theirs.length === ours.length) return { folder, upgrade: false, cleanup: () => {} };
  const tmp = mkdtempSync(join(tmpdir(), 'certgate-restore-migrations-'));
  mkdirSync(join(tmp, 'meta'));
  const entries = journal.entries.slice(0, theirs.length);
  for (const e of entries) copyFileSync(join(folder, `${e.tag}.sql`), join(tmp, `${e.tag}.sql`));
  writeFileSync(join(tmp, 'meta/_journal.json'), JSON.stringify({ ...journal, entries }));
  return { folder: tmp, upgrade: true, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}
