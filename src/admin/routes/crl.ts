/** CRLs: the latest CRL of an issuer, and generating one now. */
import { and, eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { issuerUrls } from '../../ca/issuer.ts';
import { crls } from '../../db/schema.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { NotFound } from '../../issuance/errors.ts';
import type { AdminKit } from './kit.ts';

export function mountCrl(api: Hono<AppEnv>, k: AdminKit): void {
  const { ctx, need, audit, requireIssuer } = k;

  const crlInfo = async (stored: { issuerId: string; number: number; thisUpdate: Date; nextUpdate: Date }) => {
    const [row] = await ctx.db
      .select({ entries: crls.entries })
      .from(crls)
      .where(and(eq(crls.issuerId, stored.issuerId), eq(crls.number, stored.number), eq(crls.partition, 0)));
    return {
      issuerId: stored.issuerId,
      number: stored.number,
      thisUpdate: stored.thisUpdate,
      nextUpdate: stored.nextUpdate,
      entries: row?.entries ?? 0,
      url: issuerUrls(ctx.config.publicUrl, stored.issuerId).crl,
    };
  };

  api.get('/crl/:issuerId', need('auditor', 'read CRLs'), async (c) => {
    const issuer = await requireIssuer(c.req.param('issuerId'));
    const latest = await ctx.crls.latest(issuer.id);
    if (!latest) throw new NotFound(`no CRL for issuer "${issuer.id}"`);
    return c.json(await crlInfo(latest));
  });

  api.post('/crl/:issuerId/generate', need('officer', 'generate CRLs'), async (c) => {
    const issuer = await requireIssuer(c.req.param('issuerId'));
    const stored = await ctx.crls.regenerate(issuer.id);
    await audit(c, 'crl.generate', issuer.id, { number: stored.number });
    return c.json(await crlInfo(stored));
  });
}
