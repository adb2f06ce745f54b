import { inArray, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { auditEvents, certificates } from './schema.ts';

export type NewCertificate = typeof certificates.$inferInsert;
export type NewAuditEvent = typeof auditEvents.$inferInsert;
export type WriteOutcome = { ok: true } | { ok: false; conflict: 'idempotency' | 'serial' };

interface Item {
  cert: NewCertificate;
  audit: NewAuditEvent;
  resolve: (o: WriteOutcome) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit for issued certificates: concurrent issuances are written as one multi-row
 * INSERT (with their audit events) in one transaction. Each caller's promise settles only after
 * that transaction commits — invariant 1: nothing leaves the server before it is stored.
 * Conflicts (idempotency key or serial) are reported per row, not as a batch failure.
 */
export class CertificateWriter {
  private queue: Item[] = [];
  private inFlight = 0;

  constructor(
    private readonly db: Db,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 256,
  ) {}

  write(cert: NewCertificate, audit: NewAuditEvent): Promise<WriteOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ cert, audit, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.flush(batch)
        .catch((e) => batch.forEach((i) => i.reject(e)))
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }

  private async flush(batch: Item[]): Promise<void> {
    // Perf (ACME benchmark): the certificates and their audit events go in ONE statement — a
    // data-modifying CTE is atomic like the transaction it replaces, but costs one round trip
    // instead of four (BEGIN, INSERT, INSERT, COMMIT); with PGlite each one is in-process WASM.
    const audits = batch.map((i) => ({
      cert_id: i.cert.id,
      actor: i.audit.actor,
      action: i.audit.action,
      target: i.audit.target ?? null,
      outcome: i.audit.outcome ?? 'success',
      details: i.audit.details ?? {},
      request_id: i.audit.requestId ?? null,
    }));
    const insertCerts = this.db
      .insert(certificates)
      .values(batch.map((i) => i.cert))
      .onConflictDoNothing()
      .returning({ id: certificates.id });
    const r = await this.db.execute(sql`
      with c as (${insertCerts.getSQL()}),
      a as (
        insert into audit_events (actor, action, target, outcome, details, request_id)
        select v.actor, v.action, v.target, v.outcome, v.details, v.request_id
        from jsonb_to_recordset(${JSON.stringify(audits)}::jsonb)
          as v(cert_id text, actor text, action text, target text, outcome text, details jsonb, request_id text)
        join c on c.id = v.cert_id
      )
      select id from c`);
    const rows = (Array.isArray(r) ? r : (r as unknown as { rows: unknown[] }).rows) as { id: string }[];
    const ok = new Set(rows.map((row) => row.id));
    const lost = batch.filter((i) => !ok.has(i.cert.id!));
    const taken = new Set<string>();
    const keys = lost.map((i) => i.cert.idempotencyKey).filter((k): k is string => !!k);
    if (keys.length) {
      const found = await this.db
        .select({ k: certificates.idempotencyKey })
        .from(certificates)
        .where(inArray(certificates.idempotencyKey, keys));
      found.forEach((f) => f.k && taken.add(f.k));
    }
    const outcomes = batch.map((i): WriteOutcome => {
      if (ok.has(i.cert.id!)) return { ok: true };
      return { ok: false, conflict: i.cert.idempotencyKey && taken.has(i.cert.idempotencyKey) ? 'idempotency' : 'serial' };
    });
    batch.forEach((item, n) => item.resolve(outcomes[n]));
  }
}
