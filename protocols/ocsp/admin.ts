/**
 * The OCSP management API on the protocol's admin router (`/api/v1/ocsp/…`, behind the admin-token
 * guard): any operator reads; officers and administrators change settings and responders. The
 * OpenAPI document stays public on the app, as the core's.
 */
import type { Context as HonoContext, Hono } from 'hono';
import type { Operator } from '../../src/http/app-env.ts';
import { parseClientJson, readRawBody } from '../../src/http/body.ts';
import { jsonError } from '../../src/http/errors.ts';
import { BadRequest } from '../../src/issuance/errors.ts';
import type { ProtocolAppEnv as AppEnv, ProtocolContext } from '../../src/protocol-context.ts';
import { ocspOpenApiDocument } from './openapi.ts';
import type { ResponderManager } from './responders.ts';
import type { OcspService } from './service.ts';

type C = HonoContext<AppEnv>;
type Need = 'read' | 'write';
type Handler = (c: C) => Promise<Response>;
type Handle = (need: Need, fn: (c: C, op: Operator) => Promise<Response>) => Handler;

const param = (c: C, k: string): string => c.req.param(k) ?? '';
const actor = (op: Operator) => `operator:${op.name}`;

/** Writes need the officer role; any error becomes the admin API's JSON error, logged once. */
function handler(ctx: ProtocolContext): Handle {
  const officer = ctx.http.requireRole('officer');
  return (need, fn) => async (c) => {
    if (need === 'write') {
      const refused = await officer(c, async () => {});
      if (refused) return refused;
    }
    try {
      return await fn(c, c.get('operator')!);
    } catch (e) {
      return jsonError(c, e, (err) => ctx.log.error({ err, reqId: c.get('requestId') }, 'ocsp admin: unhandled error'));
    }
  };
}

/** An optional JSON object body (empty means `{}`). */
async function objectBody(c: C): Promise<Record<string, unknown>> {
  const text = new TextDecoder().decode(await readRawBody(c));
  if (!text.trim()) return {};
  const v = parseClientJson(text);
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  throw new BadRequest('the body must be a JSON object');
}

async function issuerView(svc: OcspService, mgr: ResponderManager, id: string) {
  const st = svc.state(id);
  const responders = await mgr.list(id);
  return {
    issuerId: id,
    settings: await mgr.settings(id),
    signedBy: st ? (st.delegated ? 'delegated' : 'issuer') : 'unknown',
    activeResponder: responders.find((r) => r.status === 'active') ?? null,
    cachedResponses: [...svc.cache.values()].filter((e) => e.issuerId === id).length,
  };
}

export function mountOcspAdmin(app: Hono<AppEnv>, ctx: ProtocolContext, svc: OcspService, mgr: ResponderManager): void {
  const router = ctx.adminRouter();
  const handle = handler(ctx);
  app.get('/api/v1/ocsp/openapi.json', (c) => c.json(ocspOpenApiDocument(ctx.config.publicUrl)));
  router.get(
    '/issuers',
    handle('read', async (c) => c.json({ issuers: await Promise.all(ctx.issuers.list().map((i) => issuerView(svc, mgr, i.id))), stats: svc.stats })),
  );
  router.get(
    '/issuers/:id',
    handle('read', async (c) => {
      const id = param(c, 'id');
      if (!(await ctx.issuers.get(id))) return c.json({ error: 'NotFound', message: `no issuer "${id}"` }, 404);
      return c.json(await issuerView(svc, mgr, id));
    }),
  );
  router.put(
    '/issuers/:id/settings',
    handle('write', async (c, op) => c.json({ issuerId: param(c, 'id'), settings: await mgr.updateSettings(param(c, 'id'), await objectBody(c), actor(op)) })),
  );
  mountResponderAdmin(router, svc, mgr, handle);
}

/** Responder certificates (create = rotate, list, get, revoke) and the cache flush. */
function mountResponderAdmin(router: Hono<AppEnv>, svc: OcspService, mgr: ResponderManager, handle: Handle): void {
  router.get('/issuers/:id/responders', handle('read', async (c) => c.json({ responders: await mgr.list(param(c, 'id')) })));
  // Create, or rotate (a new one replaces the active one).
  router.post(
    '/issuers/:id/responders',
    handle('write', async (c, op) => {
      const b = await objectBody(c);
      const validityDays = b.validityDays === undefined ? undefined : Number(b.validityDays);
      return c.json(await mgr.create(param(c, 'id'), actor(op), { validityDays }), 201);
    }),
  );
  router.get('/responders/:rid', handle('read', async (c) => c.json(await mgr.get(param(c, 'rid')))));
  router.post(
    '/responders/:rid/revoke',
    handle('write', async (c, op) => {
      const b = await objectBody(c);
      const reason = typeof b.reason === 'string' || typeof b.reason === 'number' ? b.reason : undefined;
      return c.json(await mgr.revoke(param(c, 'rid'), actor(op), reason, b.replace !== false));
    }),
  );
  router.post(
    '/cache/flush',
    handle('write', async (c) => {
      const n = svc.cache.size;
      svc.flushAll();
      return c.json({ flushed: n });
    }),
  );
}
