/**
 * Scheduled backups: one per interval (the last time kept in the database), retention of the
 * newest N archives Certgate named, and on PostgreSQL one instance at a time (advisory lock).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { readArchive } from '../../src/backup/read-archive.ts';
import { runScheduledBackup } from '../../src/backup/schedule.ts';
import { fileSource } from '../../src/backup/sealed-stream.ts';
import { passphraseSecret } from '../../src/backup/secret.ts';
import { loadConfig } from '../../src/config.ts';
import { createContext } from '../../src/context.ts';
import { auditEvents } from '../../src/db/schema.ts';
import { drivers, makeTestContext } from '../support/context.ts';
import { workDir } from './helpers.ts';

const w = workDir();
afterAll(() => w.done());
const passphrase = 'scheduled backups passphrase';

describe.each(drivers)('scheduled backups (%s)', (driver) => {
  it('writes one archive per interval, keeps the newest N, leaves other files alone', async () => {
    const dir = join(w.dir, `${driver}-sched`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'not an archive');
    const t = await makeTestContext(driver, { backupInterval: 1, backupDir: dir, backupKeep: 2, backupPassphrase: passphrase });
    try {
      const t0 = new Date('2030-01-01T00:00:00Z');
      const at = (min: number) => new Date(t0.getTime() + min * 60_000);
      const first = await runScheduledBackup(t.ctx, t0);
      expect(first).toBe(join(dir, 'certgate-backup-20300101T000000Z.cgbk'));
      const s = await readArchive(fileSource(first!), passphraseSecret(passphrase));
      expect(s.manifest.tables.find((x) => x.name === 'issuers')!.rows).toBe(2);
      expect(await runScheduledBackup(t.ctx, at(30))).toBeUndefined();
      expect(await runScheduledBackup(t.ctx, at(60))).toBe(join(dir, 'certgate-backup-20300101T010000Z.cgbk'));
      expect(await runScheduledBackup(t.ctx, at(125))).toBe(join(dir, 'certgate-backup-20300101T020500Z.cgbk'));
      expect(readdirSync(dir).sort()).toEqual(['certgate-backup-20300101T010000Z.cgbk', 'certgate-backup-20300101T020500Z.cgbk', 'notes.txt']);
      const audit = await t.ctx.db.select().from(auditEvents).where(eq(auditEvents.action, 'backup.create'));
      expect(audit.map((a) => a.actor)).toEqual(['certgate:scheduler', 'certgate:scheduler', 'certgate:scheduler']);
      expect(JSON.stringify(audit)).not.toContain(passphrase);
    } finally {
      await t.cleanup();
    }
  }, 300_000);

  it('needs a secret when an interval is set', () => {
    expect(() => loadConfig({ CERTGATE_BACKUP_INTERVAL: '24' })).toThrow(/CERTGATE_BACKUP_INTERVAL: scheduled backups need CERTGATE_BACKUP_KEY_FILE/);
    expect(loadConfig({ CERTGATE_BACKUP_INTERVAL: '24', CERTGATE_BACKUP_PASSPHRASE: passphrase, CERTGATE_DATA_DIR: '/x' }).backupDir).toBe('/x/backups');
  });

  if (driver === 'postgres') {
    it('two instances on one database: one backup per interval between them', async () => {
      const dir = join(w.dir, 'two-instances');
      const t = await makeTestContext(driver, { backupInterval: 1, backupDir: dir, backupPassphrase: passphrase });
      const other = await createContext({ ...t.config, dataDir: join(w.dir, 'other-data'), kek: t.ctx.kek.toString('base64') }, { logger: pino({ level: 'silent' }) });
      try {
        const when = new Date('2031-06-01T12:00:00Z');
        const got = await Promise.all([runScheduledBackup(t.ctx, when), runScheduledBackup(other, when), runScheduledBackup(t.ctx, when)]);
        expect(got.filter(Boolean)).toHaveLength(1);
        expect(readdirSync(dir)).toEqual(['certgate-backup-20310601T120000Z.cgbk']);
        expect(existsSync(join(dir, 'certgate-backup-20310601T120000Z.cgbk.partial'))).toBe(false);
      } finally {
        await other.close();
        await t.cleanup();
      }
    }, 300_000);
  }
});
