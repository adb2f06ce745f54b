import type { MiddlewareHandler } from 'hono';
import { Counter } from 'prom-client';
import type { ProtocolAppEnv as AppEnv, ProtocolContext } from '../../src/protocol-context.ts';

const ENDPOINTS = new Set(['directory', 'new-nonce', 'new-account', 'acct', 'key-change', 'new-order', 'order', 'authz', 'chall', 'cert', 'revoke-cert', 'renewal-info']);

/**
 * `certgate_acme_requests_total{endpoint, result}`: every ACME request, by resource (a closed
 * set, so unknown paths cannot grow the label space) and result — `ok`, or the problem type
 * answered (badNonce, unauthorized, rateLimited, …), or `error` for a failure without one.
 */
export function acmeMetrics(pctx: ProtocolContext): MiddlewareHandler<AppEnv> {
  const registry = pctx.metrics.registry;
  const counter =
    (registry.getSingleMetric('certgate_acme_requests_total') as Counter<'endpoint' | 'result'> | undefined) ??
    new Counter({
      name: 'certgate_acme_requests_total',
      help: 'ACME requests by endpoint and result (ok, or the ACME problem type answered)',
      labelNames: ['endpoint', 'result'] as const,
      registers: [registry],
    });
  return async (c, next) => {
    await next();
    counter.inc({ endpoint: endpointOf(new URL(c.req.url).pathname), result: await resultOf(c.res) });
  };
}

function endpointOf(path: string): string {
  const parts = path.split('/').filter(Boolean); // ['acme', 'order', id, 'finalize']
  if (parts[1] === 'order' && parts[3] === 'finalize') return 'finalize';
  return ENDPOINTS.has(parts[1]) ? parts[1] : 'other';
}

async function resultOf(res: Response): Promise<string> {
  if (res.status < 400) return 'ok';
  if (!res.headers.get('content-type')?.includes('problem+json')) return 'error';
  try {
    const type = ((await res.clone().json()) as { type?: string }).type ?? '';
    const m = /^urn:ietf:params:acme:error:([A-Za-z]+)$/.exec(type);
    return m ? m[1] : 'error';
  } catch {
    return 'error';
  }
}
