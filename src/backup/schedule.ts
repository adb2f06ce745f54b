/**
 * Scheduled backups (CERTGATE_BACKUP_INTERVAL hours; 0 = off) into CERTGATE_BACKUP_DIR, keeping
 * the newest CERTGATE_BACKUP_KEEP archives. Instances sharing one PostgreSQL take turns through an
 * advisory lock, as the CRL refresh does, and the time of the last backup lives in the database
 * (`settings` key `backup.last`), so the interval holds across instances and restarts.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import type { Context } from '../context.ts';
import { settings } from '../db/schema.ts';
import { loggableError } from '../http/errors.ts';
import { backupToFile } from './create.ts';
import { configuredSecret } from './secret.ts';

export const LOCK_BACKUP = 727274004;
const LAST = 'backup.last';
const NAME = /^certgate-backup-\d{8}T\d{6}Z\.cgbk$/;

export function backupFileName(at: Date): string {
  return `certgate-backup-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.cgbk`;
}

/** One scheduled run: a backup when the last one (any instance's) is older than the interval. Returns the file written. */
export async function runScheduledBackup(ctx: Context, now = new Date()): Promise<string | undefined> {
  const hours = ctx.config.backupInterval;
  if (!(hours > 0)) return undefined;
  const got = await ctx.database.withLock(
    LOCK_BACKUP,
    async () => {
      const [row] = await ctx.db.select().from(settings).where(eq(settings.key, LAST));
      const last = row ? Date.parse(String((row.value as { at?: string }).at)) : 0;
      if (now.getTime() - last < hours * 3600_000) return undefined;
      const secret = configuredSecret(ctx.config)!;
      mkdirSync(ctx.config.backupDir, { recursive: true, mode: 0o700 });
      const file = join(ctx.config.backupDir, backupFileName(now));
      const { manifest, bytes } = await backupToFile(ctx, file, secret);
      const value = { at: now.toISOString(), file, bytes, rows: manifest.totalRows };
      await ctx.db.insert(settings).values({ key: LAST, value }).onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: new Date() } });
      const removed = prune(ctx.config.backupDir, ctx.config.backupKeep);
      await ctx.audit.record({ actor: 'certgate:scheduler', action: 'backup.create', target: file, details: { bytes, rows: manifest.totalRows, removed } });
      ctx.log.info({ file, bytes, rows: manifest.totalRows, removed }, 'scheduled backup written');
      return file;
    },
    false,
  );
  return got;
}

/** Deletes all but the newest `keep` archives Certgate named (nothing else in the directory). */
export function prune(dir: string, keep: number): string[] {
  const mine = readdirSync(dir).filter((f) => NAME.test(f)).sort();
  const gone = mine.slice(0, Math.max(0, mine.length - keep));
  for (const f of gone) rmSync(join(dir, f), { force: true });
  return gone;
}

/** Starts the schedule (checked every CERTGATE_SCHEDULER_INTERVAL seconds); `stop` waits for a running backup. */
export function scheduleBackups(ctx: Context): { stop(): Promise<void> } {
  if (!(ctx.config.backupInterval > 0)) return { stop: async () => {} };
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = runScheduledBackup(ctx)
      .catch((err) => ctx.log.error({ err: loggableError(err) }, 'scheduled backup failed'))
      .finally(() => (running = undefined));
  };
  tick();
  const timer = setInterval(tick, ctx.config.schedulerIntervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
