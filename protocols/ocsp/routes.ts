import type { Context as HonoContext, Hono } from 'hono';
import { ocspErrorResponse } from '../../src/pki/ocsp-response.ts';
import type { ProtocolAppEnv as AppEnv, ProtocolContext } from '../../src/protocol-context.ts';
import type { Answer, OcspService } from './service.ts';
import { errorResponseFor } from './wire.ts';

const CT = 'application/ocsp-response';
const MALFORMED = ocspErrorResponse('malformedRequest');
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

type C = HonoContext<AppEnv>;
const param = (c: C, k: string): string => c.req.param(k) ?? '';

/** POST /ocsp and GET /ocsp/<base64> (RFC 6960 appendix A, RFC 5019 §5). */
export function mountOcspRoutes(app: Hono<AppEnv>, ctx: ProtocolContext, svc: OcspService): void {
  const max = svc.server.maxRequestBytes;

  const post = async (c: C) => {
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > max) return raw(c, MALFORMED);
    let body: Buffer;
    try {
      body = Buffer.from(await c.req.arrayBuffer());
    } catch {
      return raw(c, MALFORMED);
    }
    if (body.length > max || body.length === 0) return raw(c, MALFORMED);
    let a: Answer;
    try {
      const r = svc.answer(body);
      a = r instanceof Promise ? await r : r;
    } catch (err) {
      ctx.log.error({ err }, 'ocsp: failed to answer');
      return raw(c, errorResponseFor(err));
    }
    // RFC 5019 §5: POST responses are not cached by HTTP caches.
    return raw(c, Buffer.isBuffer(a) ? a : a.der);
  };
  app.post('/ocsp', post);
  app.post('/ocsp/', post);

  app.get('/ocsp/*', async (c) => {
    const der = decodeGetPath(c.req.url, max);
    if (!der) return raw(c, MALFORMED, { 'Cache-Control': 'no-cache' });
    let a: Answer;
    try {
      const r = svc.answer(der);
      a = r instanceof Promise ? await r : r;
    } catch (err) {
      ctx.log.error({ err }, 'ocsp: failed to answer');
      return raw(c, errorResponseFor(err), { 'Cache-Control': 'no-cache' });
    }
    if (Buffer.isBuffer(a)) return raw(c, a, { 'Cache-Control': 'no-cache' });
    const headers = getCacheHeaders(svc, a);
    if (notModified(c.req.header('if-none-match'), a)) return c.body(null, 304, headers);
    return c.body(new Uint8Array(a.der.buffer, a.der.byteOffset, a.der.byteLength) as Uint8Array<ArrayBuffer>, 200, headers);
  });
  app.get('/ocsp', (c) => raw(c, MALFORMED, { 'Cache-Control': 'no-cache' }));
}

/** RFC 5019 §6 caching headers of a GET answer. */
export function getCacheHeaders(svc: OcspService, a: Exclude<Answer, Buffer>): Record<string, string> {
  const st = svc.state(a.issuerId);
  const remaining = Math.floor((a.nextUpdate - Date.now()) / 1000);
  const maxAge = Math.max(0, Math.min(st?.settings.maxAgeSeconds ?? 0, remaining));
  return {
    'Content-Type': CT,
    'Cache-Control': maxAge > 0 ? `max-age=${maxAge}, public, no-transform, must-revalidate` : 'no-cache',
    ETag: a.etag,
    'Last-Modified': a.lastModified,
    Expires: a.expires,
  };
}

export function notModified(ifNoneMatch: string | undefined, a: Exclude<Answer, Buffer>): boolean {
  return !!ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim() === a.etag);
}

function raw(c: C, der: Buffer, extra?: Record<string, string>) {
  return c.body(new Uint8Array(der.buffer, der.byteOffset, der.byteLength) as Uint8Array<ArrayBuffer>, 200, extra ? { 'Content-Type': CT, ...extra } : { 'Content-Type': CT });
}

/**
 * The DER request in a GET URL: everything after `/ocsp/`, percent-decoded when encoded (RFC 5019
 * §5: clients differ), `+` turned to space by some proxies restored, base64url accepted, padding
 * optional. Undefined when it is not base64 or decodes to more than `max` bytes.
 */
export function decodeGetPath(url: string, max: number): Buffer | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const i = path.indexOf('/ocsp/');
  if (i < 0) return undefined;
  let s = path.slice(i + 6);
  if (s.length === 0 || s.length > Math.ceil((max * 4) / 3) * 3 + 16) return undefined;
  if (s.includes('%')) {
    try {
      s = decodeURIComponent(s);
    } catch {
      return undefined;
    }
  }
  if (s.includes(' ')) s = s.replace(/ /g, '+');
  if (s.includes('-') || s.includes('_')) s = s.replace(/-/g, '+').replace(/_/g, '/');
  if (!B64.test(s) || s.replace(/=+$/, '').length % 4 === 1) return undefined;
  const der = Buffer.from(s, 'base64');
  if (der.length === 0 || der.length > max) return undefined;
  return der;
}
