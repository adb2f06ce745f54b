import { inArray, sql } from 'drizzle-orm';
import type { PersistHooks } from '../issuance/persist-hooks.ts';
import type { PersistedCertificate } from '../protocol-context.ts';
import { inlineParams, type Database, type Db } from './client.ts';
import { auditEvents, certificates } from './schema.ts';

export type NewCertificate = typeof certificates.$inferInsert;
export type NewAuditEvent = typeof auditEvents.$inferInsert;
export type WriteOutcome = { ok: true } | { ok: false; conflict: 'idempotency' | 'serial' };

interface Item {
  cert: NewCertificate;
  audit: NewAuditEvent;
  persisted?: PersistedCertificate;
  resolve: (o: WriteOutcome) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit for issued certificates: concurrent issuances are written as one multi-row
 * INSERT (with their audit events) in one transaction. Each caller's promise settles only after
 * that transaction commits — invariant 1: nothing leaves the server before it is stored.
 * Conflicts (idempotency key or serial) are reported per row, not as a batch failure.
 * Protocols' onPersist hooks (src/issuance/persist-hooks.ts) run in the same statement (SQL hooks,
 * as further CTE members after `a`) or the same transaction (function hooks).
 */
const insertIssued = (hooks: string) => `
  with c as (
    insert into certificates (id, issuer_id, serial, der, subject, sans, not_before, not_after, profile, status,
      spki_sha256, protocol, principal, idempotency_key, replaces_id, private_key_sealed, crl_partition, metadata)
    select id, issuer_id, serial, decode(der, 'base64'), subject, sans, not_before, not_after, profile, status,
      spki_sha256, protocol, principal, idempotency_key, replaces_id, decode(private_key_sealed, 'base64'), crl_partition, metadata
    from jsonb_to_recordset($1::jsonb) as r(id text, issuer_id text, serial text, der text, subject text, sans text[],
      not_before timestamptz, not_after timestamptz, profile text, status text, spki_sha256 text, protocol text, principal text,
      idempotency_key text, replaces_id text, private_key_sealed text, crl_partition int, metadata jsonb)
    on conflict do nothing
    returning id, issuer_id, serial, protocol, principal, idempotency_key, metadata
  ),
  a as (
    insert into audit_events (actor, action, target, outcome, details, request_id)
    select v.actor, v.action, v.target, v.outcome, v.details, v.request_id
    from jsonb_to_recordset($2::jsonb)
      as v(cert_id text, actor text, action text, target text, outcome text, details jsonb, request_id text)
    join c on c.id = v.cert_id
  )${hooks}
  select id from c`;

export class CertificateWriter {
  private queue: Item[] = [];
  private inFlight = 0;
  private readonly db: Db;
  private statement = { text: insertIssued(''), version: -1 };

  constructor(
    private readonly database: Pick<Database, 'db' | 'query'>,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 256,
    private readonly hooks?: PersistHooks,
  ) {
    this.db = database.db;
  }

  /** Stores a certificate with its audit event; `persisted` is what the protocol's hooks receive. */
  write(cert: NewCertificate, audit: NewAuditEvent, persisted?: PersistedCertificate): Promise<WriteOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ cert, audit, persisted, resolve, reject });
      this.pump();
    });
  }

  /** The INSERT text with the SQL hooks registered so far (constant between registrations). */
  private text(): string {
    if (!this.hooks) return this.statement.text;
    const m = this.hooks.sqlMembers();
    if (m.version !== this.statement.version) this.statement = { text: insertIssued(m.text), version: m.version };
    return this.statement.text;
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

  private async flush(all: Item[]): Promise<void> {
    // Rows whose protocol has a function hook go one per transaction (a throwing hook aborts its
    // own certificate only); the rest as one statement.
    const hooked = this.hooks ? all.filter((i) => this.hooks!.hasFunctionHooks(i.cert.protocol)) : [];
    const batch = hooked.length ? all.filter((i) => !hooked.includes(i)) : all;
    const single = hooked.map((item) =>
      this.writeHooked(item).then(
        (o) => item.resolve(o),
        (e) => item.reject(e),
      ),
    );
    if (batch.length) await this.flushBatch(batch);
    await Promise.all(single);
  }

  private async flushBatch(batch: Item[]): Promise<void> {
    // Perf (ACME benchmark): the certificates and their audit events go in ONE statement — a
    // data-modifying CTE is atomic like the transaction it replaces, but costs one round trip
    // instead of four (BEGIN, INSERT, INSERT, COMMIT); with PGlite each one is in-process WASM.
    // Its text is constant whatever the batch size (rows travel as one JSON parameter), so it is
    // prepared once per connection and never rebuilt by the query builder.
    const rows = await this.database.query<{ id: string }>(this.text(), this.params(batch));
    const outcomes = await this.outcomes(batch, new Set(rows.map((row) => row.id)));
    batch.forEach((item, n) => item.resolve(outcomes[n]));
  }

  /** One certificate with function hooks: statement and hooks in one transaction. */
  private async writeHooked(item: Item): Promise<WriteOutcome> {
    const persisted = item.persisted;
    if (!persisted) throw new Error(`certificate ${item.cert.id}: its protocol has persist hooks, which need the persisted certificate`);
    const text = inlineParams(this.text(), this.params([item]));
    const stored = await this.db.transaction(async (tx) => {
      const r = await tx.execute(sql.raw(text));
      const rows = (Array.isArray(r) ? r : (r as unknown as { rows: unknown[] }).rows) as { id: string }[];
      if (rows.length === 0) return false;
      await this.hooks!.runFunctionHooks(tx, item.cert.protocol, persisted);
      return true;
    });
    const [outcome] = await this.outcomes([item], new Set(stored ? [item.cert.id!] : []));
    return outcome;
  }

  private params(batch: Item[]): [string, string] {
    const certs = batch.map(({ cert: c }) => ({
      id: c.id,
      issuer_id: c.issuerId,
      serial: c.serial,
      der: Buffer.from(c.der).toString('base64'),
      subject: c.subject,
      sans: c.sans ?? [],
      not_before: c.notBefore,
      not_after: c.notAfter,
      profile: c.profile,
      status: c.status ?? 'valid',
      spki_sha256: c.spkiSha256,
      protocol: c.protocol,
      principal: c.principal,
      idempotency_key: c.idempotencyKey ?? null,
      replaces_id: c.replacesId ?? null,
      private_key_sealed: c.privateKeySealed ? Buffer.from(c.privateKeySealed).toString('base64') : null,
      crl_partition: c.crlPartition ?? 0,
      metadata: c.metadata ?? {},
    }));
    const audits = batch.map((i) => ({
      cert_id: i.cert.id,
      actor: i.audit.actor,
      action: i.audit.action,
      target: i.audit.target ?? null,
      outcome: i.audit.outcome ?? 'success',
      details: i.audit.details ?? {},
      request_id: i.audit.requestId ?? null,
    }));
    return [JSON.stringify(certs), JSON.stringify(audits)];
  }

  /** Per row: stored, or which unique index refused it. */
  private async outcomes(batch: Item[], ok: Set<string>): Promise<WriteOutcome[]> {
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
    return batch.map((i): WriteOutcome => {
      if (ok.has(i.cert.id!)) return { ok: true };
      return { ok: false, conflict: i.cert.idempotencyKey && taken.has(i.cert.idempotencyKey) ? 'idempotency' : 'serial' };
    });
  }
}
