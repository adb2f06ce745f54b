import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { ocspErrorResponse } from '../../src/pki/ocsp-response.ts';
import { decodeGetPath, getCacheHeaders, notModified } from './routes.ts';
import type { Answer, OcspService } from './service.ts';
import { errorResponseFor, INTERNAL as WIRE_INTERNAL } from './wire.ts';

const CT = 'application/ocsp-response';
const MALFORMED = ocspErrorResponse('malformedRequest');
const INTERNAL = ocspErrorResponse('internalError');

interface Io {
  send(req: IncomingMessage, res: ServerResponse, start: number, der: Buffer, headers: Record<string, string | number>): void;
  observe(req: IncomingMessage, res: ServerResponse, start: number, failed?: boolean): void;
  settle(r: Answer | Promise<Answer>, done: (a: Answer) => void, fail: (err: unknown) => void): void;
}

/**
 * OCSP at the node:http level, ahead of Hono: relying parties hit this path far more often than
 * anything else, and a cached answer is a Map lookup, so per-request framework objects would be
 * most of its cost. Same answers as routes.ts (which still serves `app.request` and HTTPS-less
 * tests); metrics and the access-log policy are kept.
 */
export function ocspFastPath(ctx: ProtocolContext, svc: OcspService, accessLog: 'all' | 'errors' | 'off' = 'errors'): (req: IncomingMessage, res: ServerResponse) => boolean {
  const max = svc.server.maxRequestBytes;
  const io = answerIo(ctx, accessLog);
  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith('/ocsp')) return false;
    const start = performance.now();
    if (req.method === 'GET' && url.startsWith('/ocsp/')) {
      answerGet(io, svc, max, url, req, res, start);
      return true;
    }
    if (req.method === 'POST' && (url === '/ocsp' || url === '/ocsp/')) {
      answerPost(io, svc, max, req, res, start);
      return true;
    }
    // GET /ocsp without a request and anything else: Hono answers (malformedRequest / 404).
    return false;
  };
}

/** Writing an answer, with its metric and access-log line. */
function answerIo(ctx: ProtocolContext, accessLog: 'all' | 'errors' | 'off'): Io {
  // Labelled histogram children resolved once: label hashing per request would be a visible share.
  const timers = new Map<string, { observe(v: number): void }>();
  const timer = (method: string, status: number) => {
    const k = `${method} ${status}`;
    let t = timers.get(k);
    if (!t) timers.set(k, (t = ctx.metrics.httpSeconds.labels(method, '/ocsp', String(status))));
    return t;
  };
  const io: Io = {
    observe(req, res, start, failed = false) {
      const ms = performance.now() - start;
      timer(req.method ?? '', res.statusCode).observe(ms / 1000);
      // At tens of thousands of answers a second a line per answer is noise: by default only
      // malformed and failed requests are logged (CERTGATE_OCSP_ACCESS_LOG).
      if (accessLog === 'all' || (accessLog === 'errors' && failed)) {
        ctx.log.info({ method: req.method, path: '/ocsp', status: res.statusCode, failed, ms: Math.round(ms * 100) / 100 }, 'request');
      }
    },
    send(req, res, start, der, headers) {
      res.writeHead(200, { 'Content-Type': CT, 'Content-Length': der.length, ...headers });
      res.end(der);
      io.observe(req, res, start, der === MALFORMED || der === INTERNAL || der === WIRE_INTERNAL);
    },
    settle(r, done, fail) {
      if (!(r instanceof Promise)) return done(r);
      r.then(done, (err) => {
        ctx.log.error({ err: { message: (err as Error)?.message } }, 'ocsp: failed to answer');
        fail(err);
      });
    },
  };
  return io;
}

/** GET /ocsp/<base64> (RFC 5019 §5): cacheable, with ETag / If-None-Match. */
function answerGet(io: Io, svc: OcspService, max: number, url: string, req: IncomingMessage, res: ServerResponse, start: number): void {
  const noCache = { 'Cache-Control': 'no-cache' };
  const der = decodeGetPath(url, max);
  if (!der) return io.send(req, res, start, MALFORMED, noCache);
  let r: Answer | Promise<Answer>;
  try {
    r = svc.answer(der);
  } catch (err) {
    return io.send(req, res, start, errorResponseFor(err), noCache);
  }
  io.settle(
    r,
    (a) => {
      if (Buffer.isBuffer(a)) return io.send(req, res, start, a, noCache);
      const headers = getCacheHeaders(svc, a);
      if (notModified(req.headers['if-none-match'], a)) {
        res.writeHead(304, headers).end();
        return io.observe(req, res, start);
      }
      io.send(req, res, start, a.der, headers);
    },
    (err) => io.send(req, res, start, errorResponseFor(err), noCache),
  );
}

/** POST /ocsp: the body read up to the size limit; an oversized one is refused unread. */
function answerPost(io: Io, svc: OcspService, max: number, req: IncomingMessage, res: ServerResponse, start: number): void {
  const refuse = () => {
    res.setHeader('Connection', 'close');
    io.send(req, res, start, MALFORMED, {});
    req.destroy();
  };
  if (Number(req.headers['content-length'] ?? NaN) > max) return refuse();
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > max && !refused) {
      refused = true;
      refuse();
    } else if (!refused) chunks.push(c);
  });
  req.on('error', () => {});
  req.on('end', () => {
    if (refused) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    if (body.length === 0) return io.send(req, res, start, MALFORMED, {});
    let r: Answer | Promise<Answer>;
    try {
      r = svc.answer(body);
    } catch (err) {
      return io.send(req, res, start, errorResponseFor(err), {});
    }
    // RFC 5019 §5: POST responses are not cached by HTTP caches.
    io.settle(
      r,
      (a) => io.send(req, res, start, Buffer.isBuffer(a) ? a : a.der, {}),
      (err) => io.send(req, res, start, errorResponseFor(err), {}),
    );
  });
}
