import { X509Certificate } from 'node:crypto';
import { Counter, Gauge } from 'prom-client';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import type { OcspService } from './service.ts';

/**
 * The responder's Prometheus families, read from the service at scrape time so the answering
 * path only bumps plain integers (service.stats): responses by result, and how long each
 * delegated responder certificate has left.
 */
export function registerOcspMetrics(pctx: ProtocolContext, svc: () => OcspService | undefined): void {
  const registry = pctx.metrics.registry;
  if (registry.getSingleMetric('certgate_ocsp_responses_total')) return;
  const results = {
    cached: 'hits',
    signed: 'misses',
    live: 'live',
    malformedRequest: 'malformed',
    unauthorized: 'unauthorized',
    tryLater: 'tryLater',
    internalError: 'internalError',
  } as const;
  new Counter({
    name: 'certgate_ocsp_responses_total',
    help: 'OCSP responses by result: cached (pre-signed), signed (signed on a cache miss), live (nonce or several CertIDs), or the error status sent',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      const s = svc()?.stats;
      this.reset();
      for (const [result, key] of Object.entries(results)) this.inc({ result }, s?.[key] ?? 0);
    },
  });
  new Gauge({
    name: 'certgate_ocsp_responder_certificate_expires_in_seconds',
    help: 'Seconds until the delegated OCSP responder certificate of each issuer expires (divide by 86400 for days)',
    labelNames: ['issuer'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const r of svc()?.responderCertificates() ?? []) {
        this.set({ issuer: r.issuerId }, Math.round((Date.parse(new X509Certificate(r.der).validTo) - now) / 1000));
      }
    },
  });
}
