/**
 * Admin API for CMP shared secrets, under `/api/v1/cmp/` (operator bearer token):
 *
 *   POST /api/v1/cmp/secrets               { ref, alias? } → { ref, alias, secret }  (administrator; shown once)
 *   GET  /api/v1/cmp/secrets               list, without secrets                      (auditor)
 *   POST /api/v1/cmp/secrets/:ref/disable  refuse the reference                       (administrator)
 *   POST /api/v1/cmp/secrets/:ref/enable                                              (administrator)
 */
import type { Context as HonoContext } from 'hono';
import { adminErrorFor, isIssuanceError } from '../../src/issuance/errors.ts';
import type { ProtocolAppEnv, ProtocolContext } from '../../src/protocol-context.ts';
import type { SecretStore } from './secrets.ts';

export function mountAdmin(ctx: ProtocolContext, secrets: SecretStore): void {
  const r = ctx.adminRouter();
  const fail = (c: HonoContext<ProtocolAppEnv>, e: unknown) => {
    if (isIssuanceError(e)) return c.json({ error: adminErrorFor[e.code].error, message: e.message }, adminErrorFor[e.code].status);
    ctx.log.error({ err: e }, 'cmp admin: unhandled error');
    return c.json({ error: 'InternalError', message: 'internal error' }, 500);
  };
  const actor = (c: HonoContext<ProtocolAppEnv>) => `operator:${c.get('operator')?.name ?? 'unknown'}`;

  r.post('/secrets', ctx.http.requireRole('administrator'), async (c) => {
    try {
      let b: Record<string, unknown> = {};
      try {
        const j = await c.req.json();
        if (j && typeof j === 'object' && !Array.isArray(j)) b = j as Record<string, unknown>;
      } catch {
        return c.json({ error: 'BadRequest', message: 'a JSON object { ref, alias? } is expected' }, 400);
      }
      const alias = b.alias === undefined || b.alias === null || b.alias === '' ? null : String(b.alias);
      const out = await secrets.add(String(b.ref ?? ''), alias, actor(c));
      await ctx.audit.record({ actor: actor(c), action: 'cmp.secret.add', target: out.ref, details: { alias } });
      return c.json(out, 201);
    } catch (e) {
      return fail(c, e);
    }
  });
  r.get('/secrets', ctx.http.requireRole('auditor'), async (c) => c.json({ secrets: await secrets.list() }));
  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    r.post(`/secrets/:ref/${verb}`, ctx.http.requireRole('administrator'), async (c) => {
      try {
        const ref = c.req.param('ref');
        await secrets.setDisabled(ref, disabled);
        await ctx.audit.record({ actor: actor(c), action: `cmp.secret.${verb}`, target: ref });
        return c.json({ ref, disabled });
      } catch (e) {
        return fail(c, e);
      }
    });
  }
}
