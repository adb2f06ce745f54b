/** The audit trail, searched. */
import type { Hono } from 'hono';
import type { AppEnv } from '../../http/app-env.ts';
import { auditQuerySchema } from '../openapi.ts';
import { check, type AdminKit } from './kit.ts';

export function mountAudit(api: Hono<AppEnv>, k: AdminKit): void {
  const { ctx, need } = k;

  api.get('/audit', need('auditor', 'read the audit trail'), async (c) => {
    const q = check(auditQuerySchema, c.req.query(), 'query');
    return c.json(await ctx.audit.search(q));
  });
}
