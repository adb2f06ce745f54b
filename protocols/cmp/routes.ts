/**
 * HTTP transfer (RFC 9811, formerly RFC 6712): `POST /cmp` and `POST /cmp/<alias>`, body and
 * answer `application/pkixcmp`. A CMP refusal is an `error` PKIMessage with HTTP 200; HTTP 400
 * only when the body is not a PKIMessage (or too large), 404 for an unknown alias.
 */
import type { Context as HonoContext, Hono } from 'hono';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import { NotAPKIMessage, type CmpService } from './service.ts';
import type { CmpSettings } from './settings.ts';

const CONTENT_TYPE = 'application/pkixcmp';
const ALIAS = /^[A-Za-z0-9_.-]{1,64}$/;

export function mountRoutes(app: Hono<AppEnv>, ctx: ProtocolContext, settings: CmpSettings, service: CmpService): void {
  const known = new Set(Object.keys(settings.aliases));
  const aliasExists = async (alias: string): Promise<boolean> => {
    if (known.has(alias)) return true;
    const p = await ctx.profiles.get(alias);
    return p !== undefined;
  };

  const text = (c: HonoContext, status: 400 | 404 | 405 | 415, msg: string) => c.text(msg, status);

  const handle = async (c: HonoContext<AppEnv>, alias: string) => {
    if (!ALIAS.test(alias) || !(await aliasExists(alias))) return text(c, 404, `unknown CMP alias "${alias.slice(0, 64)}"`);
    const declared = Number(c.req.header('content-length') ?? '0');
    if (declared > settings.maxBodyBytes) return text(c, 400, `request body larger than ${settings.maxBodyBytes} bytes`);
    let body: Uint8Array;
    try {
      body = await ctx.http.rawBody(c, settings.maxBodyBytes);
    } catch {
      return text(c, 400, `request body larger than ${settings.maxBodyBytes} bytes`);
    }
    if (body.length === 0) return text(c, 400, 'empty body: a DER PKIMessage is expected');
    try {
      const der = await service.handle(body, alias);
      return new Response(der, { status: 200, headers: { 'content-type': CONTENT_TYPE, 'cache-control': 'no-store' } });
    } catch (e) {
      if (e instanceof NotAPKIMessage) return text(c, 400, 'the body is not a DER PKIMessage');
      throw e;
    }
  };

  app.post('/cmp', (c) => handle(c, settings.defaultAlias));
  app.post('/cmp/:alias', (c) => handle(c, c.req.param('alias')));
  app.on(['GET', 'PUT', 'DELETE', 'PATCH'], ['/cmp', '/cmp/:alias'], (c) => {
    c.header('allow', 'POST');
    return text(c, 405, 'CMP over HTTP uses POST (RFC 9811)');
  });
}
