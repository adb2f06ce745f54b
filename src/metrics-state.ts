import { Gauge } from 'prom-client';
import type { Database } from './db/client.ts';
import type { IssuerRegistry } from './ca/registry.ts';
import type { Metrics } from './metrics.ts';

/**
 * Gauges of state operators alert on, read at scrape time (no timers): how long until each
 * active CA's certificate expires, until each issuer's newest full CRL passes its nextUpdate
 * (negative: the CRL is stale), and how many requests wait for manual approval. Seconds, as
 * Prometheus' base unit (`promtool check metrics`): divide by 86400 for days.
 */
export function registerStateGauges(metrics: Metrics, deps: { issuers: IssuerRegistry; database: Database }): void {
  const registers = [metrics.registry];
  if (metrics.registry.getSingleMetric('certgate_ca_certificate_expires_in_seconds')) return;
  new Gauge({
    name: 'certgate_ca_certificate_expires_in_seconds',
    help: 'Seconds until the certificate of each active CA expires (divide by 86400 for days)',
    labelNames: ['issuer'] as const,
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const i of deps.issuers.list()) if (i.status === 'active') this.set({ issuer: i.id }, secondsUntil(i.notAfter, now));
    },
  });
  new Gauge({
    name: 'certgate_crl_next_update_in_seconds',
    help: "Seconds until the nextUpdate of each issuer's newest full CRL; negative when it is stale",
    labelNames: ['issuer'] as const,
    registers,
    async collect() {
      const rows = await safely(() =>
        deps.database.query<{ issuer_id: string; next_update: Date | string }>(
          'select issuer_id, max(next_update) as next_update from crls where partition = 0 and base_number is null group by issuer_id',
        ),
      );
      if (!rows) return; // the database is down: keep the last values rather than fail the scrape
      this.reset();
      const now = Date.now();
      for (const r of rows) this.set({ issuer: r.issuer_id }, secondsUntil(new Date(r.next_update), now));
    },
  });
  new Gauge({
    name: 'certgate_pending_requests',
    help: 'Certificate requests waiting for manual approval',
    registers,
    async collect() {
      const rows = await safely(() => deps.database.query<{ n: number | string }>("select count(*)::int as n from pending_requests where status = 'pending'"));
      if (rows) this.set(Number(rows[0]?.n ?? 0));
    },
  });
}

function secondsUntil(at: Date, now: number): number {
  return Math.round((at.getTime() - now) / 1000);
}

async function safely<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch {
    return undefined;
  }
}
