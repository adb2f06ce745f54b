/**
 * External account binding keys (RFC 8555 §7.3.4), managed through `/api/v1/acme/eab` by
 * officers and administrators (admin bearer tokens). The HMAC key is shown once, at creation,
 * and kept sealed under the KEK.
 */
import { randomBytes } from 'node:crypto';
import { desc, eq } from 'drizzle-orm';
import type { Context as HonoContext, Hono } from 'hono';
import { seal } from '../../src/ca/seal.ts';
import type { Context } from '../../src/context.ts';
import type { AppEnv } from '../../src/protocol.ts';
import { acmeEabKeys } from './schema.ts';
import { parseClientJson } from '../../src/http/body.ts';

/** Creates an EAB key; returns the key id and the base64url HMAC key (shown once). */
export async function createEabKey(ctx: Context, createdBy: string, note?: string): Promise<{ kid: string; hmacKey: string }> {
  const kid = `kid-${randomBytes(9).toString('base64url')}`;
  const key = randomBytes(32);
  await ctx.db.insert(acmeEabKeys).values({ kid, hmacKeySealed: seal(ctx.kek, key, `acme-eab:${kid}`), note: note ?? null, createdBy });
  await ctx.audit.record({ actor: createdBy, action: 'acme.eab.create', target: kid, details: { note } });
  return { kid, hmacKey: key.toString('base64url') };
}

export function mountEabAdmin(app: Hono<AppEnv>, ctx: Context): void {
  const operator = async (c: HonoContext<AppEnv>) => {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    const op = m ? await ctx.tokens.verify(m[1]) : undefined;
    if (!op) return { error: c.json({ error: 'Unauthorized', message: 'a valid admin bearer token is required' }, 401) };
    if (op.role !== 'officer' && op.role !== 'administrator') {
      return { error: c.json({ error: 'Forbidden', message: 'managing ACME EAB keys needs the officer or administrator role' }, 403) };
    }
    return { op };
  };

  app.post('/api/v1/acme/eab', async (c) => {
    const a = await operator(c);
    if ('error' in a) return a.error;
    let note: string | undefined;
    const text = await c.req.text();
    if (text) {
      try {
        const j = parseClientJson(text) as { note?: unknown };
        if (j.note !== undefined && (typeof j.note !== 'string' || j.note.length > 200)) return c.json({ error: 'BadRequest', message: '"note" must be a string of at most 200 characters' }, 400);
        note = j.note as string | undefined;
      } catch {
        return c.json({ error: 'BadRequest', message: 'the body must be JSON' }, 400);
      }
    }
    const k = await createEabKey(ctx, `operator:${a.op!.name}`, note);
    return c.json({ ...k, note, algorithm: 'HS256' }, 201);
  });

  app.get('/api/v1/acme/eab', async (c) => {
    const a = await operator(c);
    if ('error' in a) return a.error;
    const rows = await ctx.db
      .select({ kid: acmeEabKeys.kid, note: acmeEabKeys.note, accountId: acmeEabKeys.accountId, disabled: acmeEabKeys.disabled, createdBy: acmeEabKeys.createdBy, createdAt: acmeEabKeys.createdAt })
      .from(acmeEabKeys)
      .orderBy(desc(acmeEabKeys.createdAt))
      .limit(1000);
    return c.json({ keys: rows });
  });

  app.delete('/api/v1/acme/eab/:kid', async (c) => {
    const a = await operator(c);
    if ('error' in a) return a.error;
    const r = await ctx.db.update(acmeEabKeys).set({ disabled: true }).where(eq(acmeEabKeys.kid, c.req.param('kid'))).returning({ kid: acmeEabKeys.kid });
    if (!r.length) return c.json({ error: 'NotFound', message: 'no such EAB key' }, 404);
    await ctx.audit.record({ actor: `operator:${a.op!.name}`, action: 'acme.eab.disable', target: r[0].kid });
    return c.json({ kid: r[0].kid, disabled: true });
  });
}
