/**
 * POST /api/v1/backups over real HTTP: the archive is the response body and verifies; the secret
 * comes from the body or the configured key file; bad bodies get 400 naming the problem; only an
 * administrator may; a client that goes away mid-stream releases the snapshot (the server keeps
 * answering, also on PGlite, whose one connection the snapshot holds).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execOn } from '../../src/backup/catalog.ts';
import { readArchive } from '../../src/backup/read-archive.ts';
import { keyBytesSecret, passphraseSecret } from '../../src/backup/secret.ts';
import { auditEvents } from '../../src/db/schema.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { roleTokens } from '../admin/helpers.ts';
import { workDir } from './helpers.ts';

const w = workDir();
afterAll(() => w.done());

async function* bytesOf(res: Response): AsyncGenerator<Uint8Array> {
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

describe.each(drivers)('POST /api/v1/backups (%s)', (driver) => {
  let t: TestContext;
  let server: RunningServer;
  let tokens: Awaited<ReturnType<typeof roleTokens>>;
  const key = Buffer.alloc(32, 9);
  const post = (token: string, body?: unknown, signal?: AbortSignal) =>
    fetch(`${server.httpUrl}/api/v1/backups`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });

  beforeAll(async () => {
    const keyFile = join(w.dir, `${driver}.key`);
    writeFileSync(keyFile, key.toString('base64'));
    t = await makeTestContext(driver, { backupKeyFile: keyFile });
    // ~20 MB of audit rows: more than any buffer between the snapshot and the client.
    await execOn(t.ctx.db)(`insert into audit_events (actor, action, details) select 'bulk', 'bulk', jsonb_build_object('pad', repeat(md5(g::text), 30)) from generate_series(1, 20000) g`);
    server = await startServer(t.ctx, [], { https: false });
    tokens = await roleTokens(t.ctx);
  });
  afterAll(async () => {
    await server?.stop();
    await t?.cleanup();
  });

  it('streams an archive that verifies under the passphrase given', async () => {
    const res = await post(tokens.administrator, { passphrase: 'api passphrase, long enough' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="certgate-backup-\d{8}T\d{6}Z\.cgbk"$/);
    expect(Number(res.headers.get('x-certgate-backup-estimate'))).toBeGreaterThan(1_000_000);
    const s = await readArchive(bytesOf(res), passphraseSecret('api passphrase, long enough'));
    expect(s.manifest.tables.find((x) => x.name === 'audit_events')!.rows).toBeGreaterThanOrEqual(20000);
    await expect.poll(async () => (await t.ctx.db.select().from(auditEvents).where(eq(auditEvents.action, 'backup.create'))).length).toBe(1);
  }, 300_000);

  it('uses the configured key file when the body names no secret', async () => {
    const res = await post(tokens.administrator);
    expect(res.status).toBe(200);
    await expect(readArchive(bytesOf(res), keyBytesSecret(key))).resolves.toBeDefined();
  }, 300_000);

  it('refuses bad bodies with 400 and other roles with 403', async () => {
    const cases: [unknown, RegExp][] = [
      [{ passphrase: 'short' }, /at least 12 characters/],
      [{ key: Buffer.alloc(8).toString('base64') }, /fewer than 32 bytes/],
      [{ passphrase: 'long enough passphrase', key: key.toString('base64') }, /not both/],
      [{ passphrase: 'long enough passphrase', extra: 1 }, /unknown field "extra"/],
      [{ key: 'not base64!' }, /key: base64/],
    ];
    for (const [body, message] of cases) {
      const res = await post(tokens.administrator, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(message);
    }
    for (const role of ['officer', 'auditor'] as const) {
      const res = await post(tokens[role], { passphrase: 'long enough passphrase' });
      expect(res.status).toBe(403);
    }
  });

  it('a client leaving mid-stream ends the snapshot; the server keeps answering', async () => {
    const ac = new AbortController();
    const res = await post(tokens.administrator, { passphrase: 'api passphrase, long enough' }, ac.signal);
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await reader.cancel().catch(() => {});
    const started = Date.now();
    // On PGlite a leaked snapshot would hold the one connection: this would never answer.
    await expect.poll(async () => (await fetch(`${server.httpUrl}/readyz`)).status, { timeout: 30_000 }).toBe(200);
    expect(Date.now() - started).toBeLessThan(30_000);
    // The cut backup never completed (a completed one is audited).
    const audited = async () => (await t.ctx.db.select().from(auditEvents).where(eq(auditEvents.action, 'backup.create'))).length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(await audited()).toBe(2);
    const again = await post(tokens.administrator);
    expect(again.status).toBe(200);
    await expect(readArchive(bytesOf(again), keyBytesSecret(key))).resolves.toBeDefined();
    await expect.poll(audited).toBe(3);
  }, 300_000);
});
