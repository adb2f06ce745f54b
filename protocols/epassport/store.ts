/**
 * Reads and writes of the ePassport tables that several parts share: certificates by CHR, the
 * chain of a certificate up to its CVCA, the trust anchors.
 */
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { ProtocolContext, ProtocolTx } from '../../src/protocol-context.ts';
import { anchorCurve, chatRole, decodeCvCertificate, type CvCertificate, type CvCurve } from '../../src/pki/cvc/index.ts';
import { epassportAuthorities, epassportCertificates } from './schema.ts';

export type CertRow = typeof epassportCertificates.$inferSelect;
export type AuthorityRow = typeof epassportAuthorities.$inferSelect;
type Db = ProtocolContext['store']['db'] | ProtocolTx;

/** The holder part of a reference: the CHR without its five-character sequence number. */
export const holderOf = (chr: string): string => chr.slice(0, -5);

export const today = (): Date => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
};

export class CvStore {
  constructor(readonly ctx: ProtocolContext) {}

  get db(): ProtocolContext['store']['db'] {
    return this.ctx.store.db;
  }

  /** Certificates with this CHR, self-signed ones first (a CVCA has a self-signed and a link certificate). */
  async byChr(chr: string, db: Db = this.db): Promise<CertRow[]> {
    const rows = await db.select().from(epassportCertificates).where(eq(epassportCertificates.chr, chr)).orderBy(desc(epassportCertificates.createdAt));
    return rows.sort((a, b) => Number(b.car === b.chr) - Number(a.car === a.chr));
  }

  /** Every stored CV certificate, newest first (at most 1000). */
  list(): Promise<CertRow[]> {
    return this.db.select().from(epassportCertificates).orderBy(desc(epassportCertificates.createdAt)).limit(1000);
  }

  async byId(id: string, db: Db = this.db): Promise<CertRow | undefined> {
    return (await db.select().from(epassportCertificates).where(eq(epassportCertificates.id, id)))[0];
  }

  /** Every CVCA certificate Certgate trusts: its own and the imported (checked on import). */
  async anchors(db: Db = this.db): Promise<CvCertificate[]> {
    const rows = await db.select().from(epassportCertificates).where(eq(epassportCertificates.role, 'cvca'));
    return rows.map((r) => decodeCvCertificate(r.der));
  }

  /**
   * The chain of `cert` below its CVCA, top first (the CVCA certificate itself excluded unless it is
   * `cert`), by following CARs through stored certificates; undefined when a link is missing.
   */
  async chainOf(cert: CvCertificate, db: Db = this.db): Promise<CvCertificate[] | undefined> {
    const chain = [cert];
    let cur = cert;
    for (let i = 0; i < 4 && chatRole(cur.body.chat!) !== 'cvca'; i++) {
      const up = (await this.byChr(cur.body.car!, db))[0];
      if (!up) return undefined;
      cur = decodeCvCertificate(up.der);
      if (chatRole(cur.body.chat!) !== 'cvca') chain.unshift(cur);
    }
    return chatRole(cur.body.chat!) === 'cvca' ? chain : undefined;
  }

  /** The domain parameters in force for certificates below the CVCA that `car` leads to. */
  async domainOf(cert: CvCertificate, db: Db = this.db): Promise<CvCurve | undefined> {
    let cur = cert;
    for (let i = 0; i < 4; i++) {
      if (chatRole(cur.body.chat!) === 'cvca') return anchorCurve(cur);
      const up = (await this.byChr(cur.body.car!, db))[0];
      if (!up) return undefined;
      cur = decodeCvCertificate(up.der);
    }
    return undefined;
  }

  async authority(id: string, db: Db = this.db): Promise<AuthorityRow | undefined> {
    return (await db.select().from(epassportAuthorities).where(eq(epassportAuthorities.id, id)))[0];
  }

  async authorityByHolder(holder: string, db: Db = this.db): Promise<AuthorityRow | undefined> {
    return (await db.select().from(epassportAuthorities).where(eq(epassportAuthorities.holder, holder)))[0];
  }

  async authorities(): Promise<AuthorityRow[]> {
    return this.db.select().from(epassportAuthorities).orderBy(epassportAuthorities.createdAt);
  }

  /** The certificate an authority signs with now, with its key reference. */
  async current(a: AuthorityRow, db: Db = this.db): Promise<CertRow> {
    const row = a.currentCertificateId ? await this.byId(a.currentCertificateId, db) : undefined;
    if (!row?.keyRef) throw new Error(`authority ${a.holder} has no current certificate`);
    return row;
  }

  /** Own certificates (CVCA self-signed and link, DV) valid today: what GetCACertificates returns. */
  async validOwn(): Promise<CertRow[]> {
    const now = today();
    const rows = await this.db.select().from(epassportCertificates).where(and(eq(epassportCertificates.origin, 'own'), inArray(epassportCertificates.role, ['cvca', 'dv_domestic', 'dv_foreign'])));
    return rows.filter((r) => r.expiration.getTime() >= now.getTime() && r.effective.getTime() <= now.getTime()).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }
}
