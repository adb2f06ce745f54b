import { and, asc, eq, gt } from 'drizzle-orm';
import type { AuditLog } from '../audit.ts';
import type { Db } from '../db/client.ts';
import { certificates, revocations } from '../db/schema.ts';
import type { Events } from '../events.ts';
import type { Metrics } from '../metrics.ts';
import { revocationReasons, type RevocationReasonName } from '../pki/oids.ts';
import { BadRequest, Conflict, NotFound } from './errors.ts';

/** Reasons an operator or client may give for a permanent revocation (RFC 5280 5.3.1). */
export const permanentReasons: RevocationReasonName[] = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
  'aACompromise',
];

export function parseReason(input: string | number | undefined): number {
  if (input === undefined || input === '') return 0;
  if (typeof input === 'number' || /^\d+$/.test(input)) {
    const n = Number(input);
    if (!permanentReasons.some((r) => revocationReasons[r] === n)) throw new BadRequest(`revocation reason ${n} is not allowed (use 0-5, 9 or 10; 6 is a suspension)`, 'revocation.reason');
    return n;
  }
  const name = permanentReasons.find((r) => r.toLowerCase() === input.toLowerCase().replace(/[-_ ]/g, ''));
  if (!name) throw new BadRequest(`unknown revocation reason "${input}" (one of ${permanentReasons.join(', ')})`, 'revocation.reason');
  return revocationReasons[name];
}

export interface CertRef {
  serial: string;
  issuerId?: string;
}

/** Runs after a committed change; `partition` is the certificate's CRL partition (0 if none). */
type Hook = (issuerId: string, partition: number) => Promise<void>;

/**
 * Revoke, suspend (certificateHold) and reinstate. Each change is committed with its history
 * row, then the hooks (CRL regeneration, OCSP refresh) run before the call returns, so the
 * next CRL and OCSP answer show it (invariant 4).
 */
export class RevocationService {
  private hooks: Hook[] = [];

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly events: Events,
    private readonly metrics: Metrics,
  ) {}

  /** The status-change history after `afterId`, oldest first (cross-instance cache invalidation). */
  async changesSince(afterId: number, limit = 5000): Promise<{ id: number; issuerId: string; serial: string }[]> {
    return this.db
      .select({ id: revocations.id, issuerId: revocations.issuerId, serial: revocations.serial })
      .from(revocations)
      .where(gt(revocations.id, afterId))
      .orderBy(asc(revocations.id))
      .limit(Math.min(Math.max(1, limit), 5000));
  }

  afterChange(hook: Hook): void {
    this.hooks.push(hook);
  }

  async revoke(ref: CertRef, reason: string | number | undefined, actor: string, invalidityDate?: Date) {
    const code = parseReason(reason);
    return this.change(ref, actor, 'revoke', (row) => {
      if (row.status === 'revoked') throw new Conflict(`certificate ${row.serial} is already revoked`);
      return { status: 'revoked', revocationReason: code, revokedAt: new Date(), invalidityDate: invalidityDate ?? null };
    });
  }

  async suspend(ref: CertRef, actor: string) {
    return this.change(ref, actor, 'suspend', (row) => {
      if (row.status === 'revoked') throw new Conflict(`certificate ${row.serial} is revoked and cannot be suspended`);
      if (row.status === 'hold') throw new Conflict(`certificate ${row.serial} is already suspended`);
      return { status: 'hold', revocationReason: revocationReasons.certificateHold, revokedAt: new Date(), invalidityDate: null };
    });
  }

  async reinstate(ref: CertRef, actor: string) {
    return this.change(ref, actor, 'reinstate', (row) => {
      if (row.status !== 'hold') throw new Conflict(`certificate ${row.serial} is not suspended (status ${row.status})`);
      return { status: 'valid', revocationReason: null, revokedAt: null, invalidityDate: null };
    });
  }

  private async change(
    ref: CertRef,
    actor: string,
    action: 'revoke' | 'suspend' | 'reinstate',
    next: (row: typeof certificates.$inferSelect) => Partial<typeof certificates.$inferInsert>,
  ) {
    const serial = normaliseSerial(ref.serial);
    const updated = await this.db.transaction(async (tx) => {
      const where = ref.issuerId ? and(eq(certificates.serial, serial), eq(certificates.issuerId, ref.issuerId)) : eq(certificates.serial, serial);
      const rows = await tx.select().from(certificates).where(where).for('update').limit(2);
      if (rows.length === 0) throw new NotFound(`no certificate with serial ${ref.serial}`);
      if (rows.length > 1) throw new BadRequest(`serial ${ref.serial} exists under several issuers; name the issuer`);
      const row = rows[0];
      const set = next(row);
      const [after] = await tx.update(certificates).set(set).where(eq(certificates.id, row.id)).returning();
      await tx.insert(revocations).values({
        certificateId: row.id,
        issuerId: row.issuerId,
        serial: row.serial,
        action,
        reason: set.revocationReason ?? null,
        at: set.revokedAt ?? new Date(),
        actor,
      });
      return after;
    });
    this.metrics.revocations.inc({ action });
    await this.audit.record({
      actor,
      action: `certificate.${action}`,
      target: `${updated.issuerId}:${updated.serial}`,
      details: { reason: updated.revocationReason },
    });
    this.events.emitStatusChange({
      issuerId: updated.issuerId,
      serial: updated.serial,
      certificateId: updated.id,
      status: updated.status as 'valid' | 'revoked' | 'hold',
      reason: updated.revocationReason ?? undefined,
      at: new Date(),
    });
    for (const h of this.hooks) await h(updated.issuerId, updated.crlPartition);
    return updated;
  }
}

/** Accepts `0A1B`, `0a:1b`, `0x0a1b`; returns the lower-case hex the database keeps. */
export function normaliseSerial(s: string): string {
  const hex = s.trim().toLowerCase().replace(/^0x/, '').replace(/[:\s]/g, '');
  if (!/^[0-9a-f]+$/.test(hex) || hex.length > 40) throw new BadRequest(`"${s}" is not a hexadecimal serial number`);
  return hex.length % 2 ? '0' + hex : hex;
}
