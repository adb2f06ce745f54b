/** Requests held for manual approval: list, read, approve, reject. */
import { eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { certificates, pendingRequests } from '../../db/schema.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { NotFound } from '../../issuance/errors.ts';
import { rejectSchema, requestQuerySchema } from '../openapi.ts';
import { check, readBody, readJson, type AdminKit } from './kit.ts';
import { certJson, resultJson } from './views.ts';

export function mountRequests(api: Hono<AppEnv>, k: AdminKit): void {
  const { ctx, need, actor } = k;

  api.get('/requests', need('auditor', 'list requests'), async (c) => {
    const q = check(requestQuerySchema, c.req.query(), 'query');
    return c.json(await ctx.pipeline.listRequests(q.status));
  });

  api.get('/requests/:id', need('auditor', 'read requests'), async (c) => {
    const id = c.req.param('id');
    const [row] = await ctx.db.select().from(pendingRequests).where(eq(pendingRequests.id, id));
    if (!row) throw new NotFound(`no request ${id}`);
    const { request: _request, idempotencyKey: _key, ...rest } = row;
    const cert = row.certificateId ? (await ctx.db.select().from(certificates).where(eq(certificates.id, row.certificateId)))[0] : undefined;
    return c.json({ ...rest, ...(cert ? { certificate: certJson(cert, true) } : {}) });
  });

  api.post('/requests/:id/approve', need('officer', 'approve requests'), async (c) => {
    await readJson(c, true);
    return c.json(await resultJson(ctx, await ctx.pipeline.approve(c.req.param('id'), actor(c))));
  });

  api.post('/requests/:id/reject', need('officer', 'reject requests'), async (c) => {
    const b = await readBody(c, rejectSchema, true);
    return c.json(await resultJson(ctx, await ctx.pipeline.reject(c.req.param('id'), actor(c), b.reason ?? 'rejected by an officer')));
  });
}
