/**
 * Backups through the admin API (administrator only): `POST /backups` answers with the encrypted
 * archive itself as the response body, streamed from one database snapshot. The secret comes in
 * the body (a passphrase, or a key as base64) or, when the body names none, from the configured
 * CERTGATE_BACKUP_KEY_FILE / _PASSPHRASE_FILE / _PASSPHRASE. `GET /backups` lists the scheduled
 * archives in CERTGATE_BACKUP_DIR.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Hono } from 'hono';
import type { z } from 'zod';
import { backupStream } from '../../backup/create.ts';
import { estimateBytes } from '../../backup/dump.ts';
import { BackupError } from '../../backup/errors.ts';
import { backupFileName } from '../../backup/schedule.ts';
import { configuredSecret, keyBytesSecret, passphraseSecret, type BackupSecret } from '../../backup/secret.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { loggableError } from '../../http/errors.ts';
import { BadRequest } from '../../issuance/errors.ts';
import { backupCreateSchema } from '../openapi.ts';
import { readBody, type AdminKit } from './kit.ts';

export function mountBackups(api: Hono<AppEnv>, k: AdminKit): void {
  const { ctx, need, audit } = k;

  api.post('/backups', need('administrator', 'create backups'), async (c) => {
    const b = await readBody(c, backupCreateSchema, true);
    const secret = secretOf(b, ctx.config);
    const estimate = await estimateBytes(ctx.database);
    const { stream, done } = await backupStream(ctx, secret);
    const started = Date.now();
    done.then(
      (m) => audit(c, 'backup.create', 'api', { rows: m.totalRows, tables: m.tables.length, ms: Date.now() - started }),
      (err) => ctx.log.warn({ err: loggableError(err), reqId: c.get('requestId') }, 'backup stream ended early'),
    );
    return new Response(Readable.toWeb(stream) as ReadableStream, {
      status: 200,
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': `attachment; filename="${backupFileName(new Date())}"`,
        'Cache-Control': 'no-store',
        'X-Certgate-Backup-Estimate': String(estimate),
      },
    });
  });

  api.get('/backups', need('administrator', 'list backups'), (c) => {
    const dir = ctx.config.backupDir;
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cgbk')).sort().reverse() : [];
    return c.json({
      dir,
      intervalHours: ctx.config.backupInterval,
      keep: ctx.config.backupKeep,
      archives: files.map((f) => {
        const st = statSync(join(dir, f));
        return { file: f, bytes: st.size, modified: st.mtime.toISOString() };
      }),
    });
  });
}

function secretOf(b: z.output<typeof backupCreateSchema>, config: Parameters<typeof configuredSecret>[0]): BackupSecret {
  try {
    if (b.passphrase && b.key) throw new BackupError('body: give "passphrase" or "key", not both');
    if (b.passphrase) return passphraseSecret(b.passphrase);
    if (b.key) return keyBytesSecret(Buffer.from(b.key, 'base64'));
    const s = configuredSecret(config);
    if (!s) throw new BackupError('body: give "passphrase" or "key" (base64), or configure CERTGATE_BACKUP_KEY_FILE or CERTGATE_BACKUP_PASSPHRASE(_FILE)');
    return s;
  } catch (e) {
    if (e instanceof BackupError) throw new BadRequest(e.message);
    throw e;
  }
}
