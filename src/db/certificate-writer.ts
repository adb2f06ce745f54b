import { inArray } from 'drizzle-orm';
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
    const outcomes = await this.db.transaction(async (tx) => {
      const inserted = await tx
        .insert(certificates)
        .values(batch.map((i) => i.cert))
        .onConflictDoNothing()
        .returning({ id: certificates.id });
      const ok = new Set(inserted.map((r) => r.id));
      const audits = batch.filter((i) => ok.has(i.cert.id!)).map((i) => i.audit);
      if (audits.length) await tx.insert(auditEvents).values(audits);
      const lost = batch.filter((i) => !ok.has(i.cert.id!));
      const taken = new Set<string>();
      const keys = lost.map((i) => i.cert.idempotencyKey).filter((k): k is string => !!k);
      if (keys.length) {
        const rows = await tx
          .select({ k: certificates.idempotencyKey })
          .from(certificates)
          .where(inArray(certificates.idempotencyKey, keys));
        rows.forEach((r) => r.k && taken.add(r.k));
      }
      return batch.map((i): WriteOutcome => {
        if (ok.has(i.cert.id!)) return { ok: true };
        return { ok: false, conflict: i.cert.idempotencyKey && taken.has(i.cert.idempotencyKey) ? 'idempotency' : 'serial' };
      });
    });
    batch.forEach((item, n) => item.resolve(outcomes[n]));
  }
}
