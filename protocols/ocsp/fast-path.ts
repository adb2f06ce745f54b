import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { ocspErrorResponse } from '../../src/pki/ocsp-response.ts';
import { decodeGetPath, getCacheHeaders, notModified } from './routes.ts';
import { errorResponseFor, INTERNAL as WIRE_INTERNAL } from './wire.ts';
import type { Answer, OcspService } from './service.ts';

const CT = 'application/ocsp-response';
const MALFORMED = ocspErrorResponse('malformedRequest');
const INTERNAL = ocspErrorResponse('internalError');

/**
 * OCSP at the node:http level, ahead of Hono: relying parties hit this path far more often than
 * anything else, and a cached answer is a Map lookup, so per-request framework objects would be
 * most of its cost. Same answers as routes.ts (which still serves `app.request` and HTTPS-less
 * tests); metrics and the access-log policy are kept.
 */
export function ocspFastPath(ctx: ProtocolContext, svc: OcspService, accessLog: 'all' | 'errors' | 'off' = 'errors'): (req: IncomingMessage, res: ServerResponse) => boolean {
  const max = svc.server.maxRequestBytes;
  // Labelled histogram children resolved once: label hashing per request would be a visible share.
  const timers = new Map<string, { observe(v: number): void }>();
  const timer = (method: string, status: number) => {
    const k = `${method} ${status}`;
    let t = timers.get(k);
    if (!t) timers.set(k, (t = ctx.metrics.httpSeconds.labels(method, '/ocsp', String(status))));
    return t;
  };
  const observe = (req: IncomingMessage, res: ServerResponse, start: number, failed = false) => {
    const ms = performance.now() - start;
    timer(req.method ?? '', res.statusCode).observe(ms / 1000);
    // At tens of thousands of answers a second a line per answer is noise: by default only
    // malformed and failed requests are logged (CERTGATE_OCSP_ACCESS_LOG).
    if (accessLog === 'all' || (accessLog === 'errors' && failed)) {
      ctx.log.info({ method: req.method, path: '/ocsp', status: res.statusCode, failed, ms: Math.round(ms * 100) / 100 }, 'request');
    }
  };
  const send = (req: IncomingMessage, res: ServerResponse, start: number, der: Buffer, headers: Record<string, string | number>) => {
    res.writeHead(200, { 'Content-Type': CT, 'Content-Length': der.length, ...headers });
    res.end(der);
    observe(req, res, start, der === MALFORMED || der === INTERNAL || der === WIRE_INTERNAL);
  };
  const settle = (r: Answer | Promise<Answer>, done: (a: Answer) => void, fail: (err: unknown) => void) => {
    if (!(r instanceof Promise)) return done(r);
    r.then(done, (err) => {
      ctx.log.error({ err: { message: (err as Error)?.message } }, 'ocsp: failed to answer');
      fail(err);
    });
  };

  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith('/ocsp')) return false;
    const start = performance.now();
    if (req.method === 'GET' && url.startsWith('/ocsp/')) {
      const der = decodeGetPath(url, max);
      if (!der) {
        send(req, res, start, MALFORMED, { 'Cache-Control': 'no-cache' });
        return true;
      }
      let r: Answer | Promise<Answer>;
      try {
        r = svc.answer(der);
      } catch (err) {
        send(req, res, start, errorResponseFor(err), { 'Cache-Control': 'no-cache' });
        return true;
      }
      settle(
        r,
        (a) => {
          if (Buffer.isBuffer(a)) return send(req, res, start, a, { 'Cache-Control': 'no-cache' });
          const headers = getCacheHeaders(svc, a);
          if (notModified(req.headers['if-none-match'], a)) {
            res.writeHead(304, headers).end();
            return observe(req, res, start);
          }
          send(req, res, start, a.der, headers);
        },
        (err) => send(req, res, start, errorResponseFor(err), { 'Cache-Control': 'no-cache' }),
      );
      return true;
    }
    if (req.method === 'POST' && (url === '/ocsp' || url === '/ocsp/')) {
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (declared > max) {
        // Answer without reading the oversized body, then drop the connection.
        res.setHeader('Connection', 'close');
        send(req, res, start, MALFORMED, {});
        req.destroy();
        return true;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let refused = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max && !refused) {
          refused = true;
          res.setHeader('Connection', 'close');
          send(req, res, start, MALFORMED, {});
          req.destroy();
        } else if (!refused) chunks.push(c);
      });
      req.on('error', () => {});
      req.on('end', () => {
        if (refused) return;
        const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
        if (body.length === 0) return send(req, res, start, MALFORMED, {});
        let r: Answer | Promise<Answer>;
        try {
          r = svc.answer(body);
        } catch (err) {
          return send(req, res, start, errorResponseFor(err), {});
        }
        // RFC 5019 §5: POST responses are not cached by HTTP caches.
        settle(
          r,
          (a) => send(req, res, start, Buffer.isBuffer(a) ? a : a.der, {}),
          // An issuer whose key is away (HSM) is tryLater; the rest internalError (wire.ts's table).
          (err) => send(req, res, start, errorResponseFor(err), {}),
        );
      });
      return true;
    }
    // GET /ocsp without a request and anything else: Hono answers (malformedRequest / 404).
    return false;
  };
}
