import { and, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { LOCK_SCHEDULER } from '../db/client.ts';
import { certificates, crls, issuers } from '../db/schema.ts';
import type { Metrics } from '../metrics.ts';
import { assembleSigned } from '../pki/certificate.ts';
import { buildTbsCertList } from '../pki/crl.ts';
import * as x509ext from '../pki/extensions.ts';
import { issuerUrls, type Issuer } from './issuer.ts';
import type { IssuerRegistry } from './registry.ts';

export interface CrlOptions {
  publicUrl: string;
  validityHours: number;
  refreshFraction: number;
}

export interface StoredCrl {
  issuerId: string;
  number: number;
  thisUpdate: Date;
  nextUpdate: Date;
  der: Buffer;
}

/**
 * Builds and stores CRLs. Numbers come from `issuers.crl_number`, incremented under that row's
 * lock in the same transaction that reads the revoked set: with several instances on one
 * PostgreSQL, a higher number always sees at least what a lower one saw (strictly increasing,
 * never missing a committed revocation).
 */
export class CrlPublisher {
  /** Per issuer: the generation running now and whether another must follow it. */
  private running = new Map<string, { p: Promise<StoredCrl>; again?: Promise<StoredCrl> }>();

  constructor(
    private readonly database: Database,
    private readonly registry: IssuerRegistry,
    private readonly metrics: Metrics,
    private readonly opts: CrlOptions,
  ) {}

  /**
   * Regenerates the issuer's CRL. Calls arriving while one is being built share the one after it,
   * so a burst of revocations costs two builds, and each caller's revocation is in the CRL it awaits.
   */
  regenerate(issuerId: string): Promise<StoredCrl> {
    const cur = this.running.get(issuerId);
    if (!cur) {
      const p = this.generate(issuerId).finally(() => this.advance(issuerId));
      this.running.set(issuerId, { p });
      return p;
    }
    if (!cur.again) cur.again = cur.p.catch(() => undefined).then(() => this.generate(issuerId));
    return cur.again;
  }

  private advance(issuerId: string): void {
    const cur = this.running.get(issuerId);
    if (!cur?.again) {
      this.running.delete(issuerId);
      return;
    }
    const p = cur.again.finally(() => this.advance(issuerId));
    this.running.set(issuerId, { p });
  }

  /** Builds, signs and stores a full CRL for one issuer now. */
  async generate(issuerId: string): Promise<StoredCrl> {
    const issuer = await this.registry.get(issuerId);
    if (!issuer) throw new Error(`unknown issuer ${issuerId}`);
    const db = this.database.db;
    const hours = issuer.options.crlValidityHours ?? this.opts.validityHours;
    const stored = await db.transaction(async (tx) => {
      const [n] = await tx
        .update(issuers)
        .set({ crlNumber: sql`${issuers.crlNumber} + 1` })
        .where(eq(issuers.id, issuerId))
        .returning({ number: issuers.crlNumber });
      const thisUpdate = new Date(Math.floor(Date.now() / 1000) * 1000);
      const nextUpdate = new Date(thisUpdate.getTime() + hours * 3600_000);
      // Entries stay until the certificate expires (RFC 5280 5.1.2.6 allows removal after).
      const rows = await tx
        .select({
          serial: certificates.serial,
          revokedAt: certificates.revokedAt,
          reason: certificates.revocationReason,
          invalidityDate: certificates.invalidityDate,
        })
        .from(certificates)
        .where(and(eq(certificates.issuerId, issuerId), inArray(certificates.status, ['revoked', 'hold']), gt(certificates.notAfter, thisUpdate)));
      const der = await this.sign(issuer, n.number, thisUpdate, nextUpdate, rows);
      await tx.insert(crls).values({ issuerId, number: n.number, thisUpdate, nextUpdate, entries: rows.length, der });
      return { issuerId, number: n.number, thisUpdate, nextUpdate, der };
    });
    this.metrics.crls.inc({ issuer: issuerId });
    return stored;
  }

  private async sign(
    issuer: Issuer,
    number: number,
    thisUpdate: Date,
    nextUpdate: Date,
    rows: { serial: string; revokedAt: Date | null; reason: number | null; invalidityDate: Date | null }[],
  ): Promise<Buffer> {
    const tbs = buildTbsCertList({
      signatureAlgorithm: issuer.signer.algorithmIdentifier,
      issuer: issuer.subjectDer,
      thisUpdate,
      nextUpdate,
      // Lazily: a 100,000-entry CRL must not hold a second array of entry objects.
      entries: (function* () {
        for (const r of rows) {
          yield { serial: r.serial, revocationDate: r.revokedAt ?? thisUpdate, reason: r.reason ?? undefined, invalidityDate: r.invalidityDate ?? undefined };
        }
      })(),
      extensions: [x509ext.authorityKeyIdentifier(issuer.keyId), x509ext.crlNumber(number)],
    });
    return assembleSigned(tbs, issuer.signer.algorithmIdentifier, await issuer.signer.sign(tbs));
  }

  /** The newest full CRL of an issuer, building one if none exists yet. */
  async latest(issuerId: string): Promise<StoredCrl | undefined> {
    const [row] = await this.database.db
      .select()
      .from(crls)
      .where(and(eq(crls.issuerId, issuerId), eq(crls.partition, 0), isNull(crls.baseNumber)))
      .orderBy(desc(crls.number))
      .limit(1);
    if (row) return { issuerId, number: row.number, thisUpdate: row.thisUpdate, nextUpdate: row.nextUpdate, der: Buffer.from(row.der) };
    if (!(await this.registry.get(issuerId))) return undefined;
    return this.regenerate(issuerId);
  }

  /** Scheduled job: refresh every CRL that is missing or past its refresh point. One instance at a time. */
  async refreshDue(): Promise<string[]> {
    const done: string[] = [];
    await this.database.withLock(
      LOCK_SCHEDULER,
      async () => {
        await this.registry.load();
        for (const issuer of this.registry.list()) {
          const [row] = await this.database.db
            .select({ thisUpdate: crls.thisUpdate, nextUpdate: crls.nextUpdate })
            .from(crls)
            .where(and(eq(crls.issuerId, issuer.id), isNull(crls.baseNumber)))
            .orderBy(desc(crls.number))
            .limit(1);
          const now = Date.now();
          const due =
            !row ||
            now >= row.nextUpdate.getTime() - (row.nextUpdate.getTime() - row.thisUpdate.getTime()) * this.opts.refreshFraction;
          if (due) {
            await this.regenerate(issuer.id);
            done.push(issuer.id);
          }
        }
      },
      false,
    );
    return done;
  }

  urls(issuerId: string) {
    return issuerUrls(this.opts.publicUrl, issuerId);
  }
}
