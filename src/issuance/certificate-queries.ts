import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { certificates } from '../db/schema.ts';
import type { CertificateQueries, CertificateRecord } from '../protocol-context.ts';
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
