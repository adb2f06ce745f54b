/**
 * Admin API for emCA clients, under `/api/v1/emca/clients` (bearer token of an operator:
 * administrator for writes; any role reads).
 *
 *   POST   /api/v1/emca/clients               add → secrets, once
 *   GET    /api/v1/emca/clients               list
 *   GET    /api/v1/emca/clients/:ref          one (id or userName)
 *   PATCH  /api/v1/emca/clients/:ref          ips, profiles, aesMode, legacyPfx, role
 *   POST   /api/v1/emca/clients/:ref/disable  refuse every call
 *   POST   /api/v1/emca/clients/:ref/enable
 *   POST   /api/v1/emca/clients/:ref/rotate   new password, emKey, AES key, signing PFX → secrets, once
 */
import { isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import { jsonError } from '../../src/http/errors.ts';
import type { Context as HonoContext } from 'hono';
import type { Operator } from '../../src/http/app-env.ts';
import { adminErrorFor, isIssuanceError } from '../../src/issuance/errors.ts';
import type { ProtocolAppEnv as AppEnv, ProtocolContext } from '../../src/protocol-context.ts';
import type { ClientStore } from './clients.ts';
import { parseClientJson, readRawBody } from '../../src/http/body.ts';

function errorResponse(c: HonoContext<AppEnv>, ctx: ProtocolContext, e: unknown) {
  if (isIssuanceError(e)) {
    const { status, error } = adminErrorFor[e.code];
    return c.json({ error, reason: e.code, message: e.message }, status);
  }
  if (isDatabaseUnavailable(e)) return jsonError(c, e);
  ctx.log.error({ err: e, reqId: c.get('requestId') }, 'emca admin: unhandled error');
  return c.json({ error: 'InternalError', message: 'internal error', requestId: c.get('requestId') }, 500);
}

/** `/api/v1/emca/clients…` on the protocol's admin router: any operator reads, administrators write. */
export function mountAdmin(ctx: ProtocolContext, clients: ClientStore): void {
  const app = ctx.adminRouter();
  const base = '/clients';
  const admin = ctx.http.requireRole('administrator');
  const run = (write: boolean, fn: (c: HonoContext<AppEnv>, op: Operator) => Promise<Response>) => async (c: HonoContext<AppEnv>) => {
    if (write) {
      const refused = await admin(c, async () => {});
      if (refused) return refused;
    }
    try {
      return await fn(c, c.get('operator')!);
    } catch (e) {
      return errorResponse(c, ctx, e);
    }
  };
  const body = async (c: HonoContext<AppEnv>): Promise<Record<string, unknown>> => {
    // Bad JSON (depth, NUL, lone surrogates) is a BadRequest; an empty or non-object body is {}.
    const text = new TextDecoder().decode(await readRawBody(c));
    if (!text.trim()) return {};
    const b = parseClientJson(text);
    return b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
  };
  const strList = (v: unknown): string[] | undefined =>
    v === undefined ? undefined : Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
  const actor = (op: Operator) => `operator:${op.name}`;

  app.post(
    base,
    run(true, async (c, op) => {
      const b = await body(c);
      const secrets = await clients.add(
        {
          name: String(b.name ?? b.userName ?? ''),
          ips: strList(b.ips ?? b.ip) ?? [],
          profiles: strList(b.profiles ?? b.profile),
          aesMode: typeof b.aesMode === 'string' ? b.aesMode : undefined,
          legacyPfx: b.legacyPfx === true,
          emKey: typeof b.emKey === 'string' ? b.emKey : undefined,
          signingValidity: typeof b.signingValidity === 'string' || typeof b.signingValidity === 'number' ? b.signingValidity : undefined,
          signingKey: b.signingKey === 'RSA-2048' ? 'RSA-2048' : undefined,
          role: typeof b.role === 'string' ? b.role : undefined,
        },
        actor(op),
      );
      c.header('Cache-Control', 'no-store');
      return c.json(secrets, 201);
    }),
  );
  app.get(base, run(false, async (c) => c.json({ clients: await clients.list() })));
  app.get(
    `${base}/:ref`,
    run(false, async (c) => {
      const { viewClient } = await import('./clients.ts');
      return c.json(viewClient(await clients.find(c.req.param('ref')!)));
    }),
  );
  app.patch(
    `${base}/:ref`,
    run(true, async (c, op) => {
      const b = await body(c);
      return c.json(
        await clients.update(
          c.req.param('ref')!,
          {
            ips: strList(b.ips ?? b.ip),
            profiles: strList(b.profiles ?? b.profile),
            aesMode: typeof b.aesMode === 'string' ? b.aesMode : undefined,
            legacyPfx: typeof b.legacyPfx === 'boolean' ? b.legacyPfx : undefined,
            role: typeof b.role === 'string' ? b.role : undefined,
          },
          actor(op),
        ),
      );
    }),
  );
  app.post(`${base}/:ref/disable`, run(true, async (c, op) => c.json(await clients.setDisabled(c.req.param('ref')!, true, actor(op)))));
  app.post(`${base}/:ref/enable`, run(true, async (c, op) => c.json(await clients.setDisabled(c.req.param('ref')!, false, actor(op)))));
  app.post(
    `${base}/:ref/rotate`,
    run(true, async (c, op) => {
      const b = await body(c);
      const secrets = await clients.rotate(c.req.param('ref')!, actor(op), {
        emKey: typeof b.emKey === 'string' ? b.emKey : undefined,
        signingValidity: typeof b.signingValidity === 'string' || typeof b.signingValidity === 'number' ? b.signingValidity : undefined,
      });
      c.header('Cache-Control', 'no-store');
      return c.json(secrets);
    }),
  );
}
