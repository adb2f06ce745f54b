import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import { CLIENT_CLOSED_REQUEST, requestAborted } from './client-abort.ts';
import type { AppEnv } from './app-env.ts';

const safeId = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Request id (a client's X-Request-Id if sane, else a new UUID), JSON access log and latency metric.
 * A request whose client went away before sending its whole body is counted and logged as 499
 * (at debug): whatever the handler answered, nobody received it, and it was not the server's fault.
 */
export function requestContext(log: Logger, metrics: Metrics, accessLog: 'all' | 'errors' | 'off' = 'all'): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const id = given && safeId.test(given) ? given : randomUUID();
    c.set('requestId', id);
    // Set before the handler runs: touching a finished response's headers makes @hono/node-server
    // give up its lightweight Response and build a full one.
    c.header('X-Request-Id', id);
    const start = performance.now();
    await next();
    const ms = performance.now() - start;
    const route = c.req.routePath || 'unmatched';
    const aborted = requestAborted((c.env as { incoming?: IncomingMessage } | undefined)?.incoming);
    const status = aborted ? CLIENT_CLOSED_REQUEST : c.res.status;
    metrics.httpSeconds.observe({ method: c.req.method, route, status: String(status) }, ms / 1000);
    if (accessLog === 'off' || (accessLog === 'errors' && status < 400)) return;
    const line = { reqId: id, method: c.req.method, path: c.req.path, status, ms: Math.round(ms * 100) / 100 };
    if (aborted) log.debug(line, 'request: the client closed the connection before sending its whole request');
    else if (status >= 500) log.error(line, 'request');
    else log.info(line, 'request');
  };
}
