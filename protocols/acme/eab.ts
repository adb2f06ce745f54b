/**
 * External account binding keys (RFC 8555 §7.3.4), managed through `/api/v1/acme/eab` by
 * officers and administrators (admin bearer tokens). The HMAC key is shown once, at creation,
 * and kept sealed under the KEK.
 */
import { randomBytes } from 'node:crypto';
import { desc, eq } from 'drizzle-orm';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { acmeEabKeys } from './schema.ts';
import { parseClientJson } from '../../src/http/body.ts';

/** Creates an EAB key; returns the key id and the base64url HMAC key (shown once). */
export async function createEabKey(pctx: ProtocolContext, createdBy: string, note?: string): Promise<{ kid: string; hmacKey: string }> {
  const kid = `kid-${randomBytes(9).toString('base64url')}`;
  const key = randomBytes(32);
  await pctx.store.db.insert(acmeEabKeys).values({ kid, hmacKeySealed: pctx.secrets.seal(`acme-eab:${kid}`, key), note: note ?? null, createdBy });
  await pctx.audit.record({ actor: createdBy, action: 'acme.eab.create', target: kid, details: { note } });
  return { kid, hmacKey: key.toString('base64url') };
}

/** `/api/v1/acme/eab` on the protocol's admin router: officers and administrators only. */
export function mountEabAdmin(pctx: ProtocolContext): void {
  const admin = pctx.adminRouter();
  const officer = pctx.http.requireRole('officer');
  const operatorName = (c: { get(k: 'operator'): { name: string } | undefined }) => `operator:${c.get('operator')!.name}`;

  admin.post('/eab', officer, async (c) => {
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
    const k = await createEabKey(pctx, operatorName(c), note);
    return c.json({ ...k, note, algorithm: 'HS256' }, 201);
  });

  admin.get('/eab', officer, async (c) => {
    const rows = await pctx.store.db
      .select({ kid: acmeEabKeys.kid, note: acmeEabKeys.note, accountId: acmeEabKeys.accountId, disabled: acmeEabKeys.disabled, createdBy: acmeEabKeys.createdBy, createdAt: acmeEabKeys.createdAt })
      .from(acmeEabKeys)
      .orderBy(desc(acmeEabKeys.createdAt))
      .limit(1000);
    return c.json({ keys: rows });
  });

  admin.delete('/eab/:kid', officer, async (c) => {
    const r = await pctx.store.db.update(acmeEabKeys).set({ disabled: true }).where(eq(acmeEabKeys.kid, c.req.param('kid'))).returning({ kid: acmeEabKeys.kid });
    if (!r.length) return c.json({ error: 'NotFound', message: 'no such EAB key' }, 404);
    await pctx.audit.record({ actor: operatorName(c), action: 'acme.eab.disable', target: r[0].kid });
    return c.json({ kid: r[0].kid, disabled: true });
  });
}
