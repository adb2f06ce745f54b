import { and, asc, eq, gte, inArray, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { certificates } from '../db/schema.ts';
import type { CertificateFilter, CertificateQueries, CertificateRecord, CertificateStatus } from '../protocol-context.ts';
import { parseCertificate } from '../pki/certificate.ts';
import { rowToIssued } from './pipeline.ts';
import { normaliseSerial } from './revocation.ts';

type CertRow = typeof certificates.$inferSelect;

/**
 * Read-only certificate lookups for protocols (the seam's `certificates`): a protocol reads what
 * the core stored, never the table itself. Idempotency keys are the pipeline's scoped ones
 * (`<protocol>:<principal>:<key>`).
 */
export class CertificateReader implements CertificateQueries {
  constructor(private readonly db: Db) {}

  async byId(id: string): Promise<CertificateRecord | undefined> {
    return this.one(eq(certificates.id, id));
  }

  async bySerial(issuerId: string, serial: string): Promise<CertificateRecord | undefined> {
    let s: string;
    try {
      s = normaliseSerial(serial);
    } catch {
      return undefined;
    }
    return this.one(and(eq(certificates.issuerId, issuerId), eq(certificates.serial, s)));
  }

  async byDer(der: Uint8Array): Promise<CertificateRecord | undefined> {
    // The unique (issuer, serial) index narrows it to one candidate; the DER must match exactly.
    let serial: string | undefined;
    try {
      serial = parseCertificate(der).serialHex;
    } catch {
      return undefined;
    }
    const rows = await this.db.select().from(certificates).where(eq(certificates.serial, serial)).limit(16);
    const row = rows.find((r) => Buffer.from(r.der).equals(Buffer.from(der)));
    return row && toRecord(row);
  }

  async byIdempotencyKey(protocol: string, principalId: string, key: string): Promise<CertificateRecord | undefined> {
    return this.one(eq(certificates.idempotencyKey, `${protocol}:${principalId}:${key}`));
  }

  async bySerialAnyIssuer(serial: string): Promise<CertificateRecord[]> {
    let s: string;
    try {
      s = normaliseSerial(serial);
    } catch {
      return [];
    }
    return (await this.db.select().from(certificates).where(eq(certificates.serial, s)).limit(16)).map(toRecord);
  }

  async statusBySerial(issuerId: string, serial: string): Promise<CertificateStatus | undefined> {
    const [row] = await this.db
      .select({ status: certificates.status, revokedAt: certificates.revokedAt, reason: certificates.revocationReason, notAfter: certificates.notAfter })
      .from(certificates)
      .where(and(eq(certificates.issuerId, issuerId), eq(certificates.serial, serial)))
      .limit(1);
    if (!row) return undefined;
    return { status: row.status as CertificateStatus['status'], revokedAt: row.revokedAt ?? undefined, revocationReason: row.reason ?? undefined, notAfter: row.notAfter };
  }

  async ofPrincipal(principalId: string, f: CertificateFilter = {}): Promise<CertificateRecord[]> {
    const where: (SQL | undefined)[] = [eq(certificates.principal, principalId)];
    if (f.serials) {
      if (f.serials.length === 0) return [];
      where.push(inArray(certificates.serial, f.serials));
    }
    if (f.status) where.push(eq(certificates.status, f.status));
    if (f.notAfterFrom) where.push(gte(certificates.notAfter, f.notAfterFrom));
    if (f.notAfterTo) where.push(lte(certificates.notAfter, f.notAfterTo));
    for (const [k, v] of Object.entries(f.metadata ?? {})) where.push(sql`${certificates.metadata} ->> ${k} = ${v}`);
    const limit = Math.min(Math.max(1, f.limit ?? 1000), 1000);
    return (await this.db.select().from(certificates).where(and(...where)).orderBy(asc(certificates.notAfter)).limit(limit)).map(toRecord);
  }

  private async one(where: ReturnType<typeof eq> | undefined): Promise<CertificateRecord | undefined> {
    const [row] = await this.db.select().from(certificates).where(where).limit(1);
    return row && toRecord(row);
  }
}

export function toRecord(row: CertRow): CertificateRecord {
  return {
    ...rowToIssued(row),
    status: row.status as CertificateRecord['status'],
    revokedAt: row.revokedAt ?? undefined,
    revocationReason: row.revocationReason ?? undefined,
    protocol: row.protocol,
    principalId: row.principal,
    spkiSha256: row.spkiSha256,
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
  };
}
