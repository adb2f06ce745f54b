/**
 * EST admin API on the protocol's admin router (`/api/v1/est/…`, operator bearer token):
 *
 *   GET  /labels                         list (any role)
 *   POST /labels                         { name, profile, issuerId?, auth?, channelBinding? } (administrator)
 *   GET  /users?label=L                  list (any role)
 *   POST /users                          { label, name } → { user, password } once (administrator)
 *   POST /users/:label/:name/disable     (administrator)
 */
import { DATABASE_RETRY_AFTER, isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import type { Context as HonoContext } from 'hono';
import { loggableError } from '../../src/http/errors.ts';
import { adminErrorFor, isIssuanceError, NotFound } from '../../src/issuance/errors.ts';
import type { ProtocolAppEnv, ProtocolContext } from '../../src/protocol-context.ts';
import type { LabelStore } from './labels.ts';
import type { UserStore } from './users.ts';

export function mountAdmin(ctx: ProtocolContext, labels: LabelStore, users: UserStore): void {
  const r = ctx.adminRouter();
  const admin = ctx.http.requireRole('administrator');
  const read = ctx.http.requireRole('auditor');
  const actor = (c: HonoContext<ProtocolAppEnv>) => `operator:${c.get('operator')?.name ?? 'unknown'}`;
  const body = async (c: HonoContext<ProtocolAppEnv>): Promise<Record<string, unknown>> => {
    const b = await ctx.http.jsonBody(c).catch(() => ({}));
    return b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
  };
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  r.onError((e, c) => {
    if (isIssuanceError(e)) return c.json({ error: adminErrorFor[e.code].error, message: e.message }, adminErrorFor[e.code].status);
    if (isDatabaseUnavailable(e)) return c.json({ error: 'Unavailable', message: 'the database is unavailable; try again later' }, 503, { 'Retry-After': String(DATABASE_RETRY_AFTER) });
    ctx.log.error({ err: loggableError(e) }, 'est admin: unhandled error');
    return c.json({ error: 'InternalError', message: 'internal error' }, 500);
  });

  r.get('/labels', read, async (c) => c.json(await labels.list()));
  r.post('/labels', admin, async (c) => {
    const b = await body(c);
    const label = await labels.add(
      { name: str(b.name), profile: str(b.profile), issuerId: str(b.issuerId) || undefined, auth: str(b.auth) || undefined, channelBinding: b.channelBinding === true },
      actor(c),
    );
    return c.json(label, 201);
  });
  r.get('/users', read, async (c) => c.json(await users.list(c.req.query('label'))));
  r.post('/users', admin, async (c) => {
    const b = await body(c);
    const label = str(b.label);
    if (!(await labels.get(label))) throw new NotFound(`unknown EST label "${label}"`);
    const out = await users.add(label, str(b.name), actor(c));
    c.header('Cache-Control', 'no-store');
    return c.json(out, 201);
  });
  r.post('/users/:label/:name/disable', admin, async (c) => {
    await users.disable(c.req.param('label'), c.req.param('name'), actor(c));
    return c.json({ disabled: true });
  });
}
