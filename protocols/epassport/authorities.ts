/**
 * Certgate's own CV certification authorities: creating a CVCA (self-signed), rolling its key
 * over (link certificate: the new key certified by the old, TR-03110-3 §2.5.1), creating a DV that
 * Certgate operates (its key in the key store, certified by a CVCA), and importing foreign CVCA
 * and DV certificates (verified before they are trusted).
 */
import { eq } from 'drizzle-orm';
import type { KeyHandle } from '../../src/protocol-context.ts';
import {
  chatRole, cvChainOk, cvCurves, decodeCvCertificate, makeChat, nextReference, parseReference, signCvBody, taAlgorithmFor, templateLength, validateCvChain, verifySelfSigned, cvPublicKeyOf,
  type CvBody, type CvCertificate, type CvCurveName, type CvRole, type TerminalType,
} from './cvc.ts';
import { EpassportError } from './errors.ts';
import { epassportAuthorities, epassportCertificates } from './schema.ts';
import { holderOf, today, type CertRow, type CvStore } from './store.ts';

const DAY = 86_400_000;

/** A body for `key` under `car`; CVCA certificates carry the domain parameters, others do not. */
function bodyFor(o: { car: string; chr: string; key: KeyHandle; role: CvRole; terminalType: TerminalType; rights: Buffer; days: number; notAfter?: Date }): CvBody {
  const effective = today();
  let expiration = new Date(effective.getTime() + (o.days - 1) * DAY);
  if (o.notAfter && expiration > o.notAfter) expiration = o.notAfter;
  return {
    profileId: 0,
    car: o.car,
    chr: o.chr,
    publicKey: cvPublicKeyOf(o.key.signer.publicKey, taAlgorithmFor(o.key.signer.publicKey), o.role === 'cvca'),
    chat: makeChat(o.terminalType, o.role, o.rights),
    effective,
    expiration,
  };
}

const allRights = (t: TerminalType) => Buffer.alloc(templateLength[t], 0xff);

export class Authorities {
  constructor(private readonly s: CvStore) {}

  async createCvca(o: { chr: string; curve: CvCurveName; terminalType: TerminalType; days: number; actor: string }): Promise<CertRow> {
    parseReference(o.chr, 'CHR');
    if (!cvCurves[o.curve]) throw new EpassportError('bad_request', `unknown curve ${o.curve}`);
    const holder = holderOf(o.chr);
    if (await this.s.authorityByHolder(holder)) throw new EpassportError('conflict', `an authority ${holder} exists`);
    const key = await this.s.ctx.keys.generate({ type: 'EC', curve: o.curve }, `cvca:${o.chr}`);
    const cert = await signCvBody(bodyFor({ car: o.chr, chr: o.chr, key, role: 'cvca', terminalType: o.terminalType, rights: allRights(o.terminalType), days: o.days }), key.signer);
    const row = await this.s.ctx.store.transaction(async (tx) => {
      const [a] = await tx.insert(epassportAuthorities).values({ kind: 'cvca', holder, terminalType: o.terminalType, curve: o.curve }).returning();
      const c = await insertCert(tx, cert, 'own', { keyRef: key.keyRef, authorityId: a.id });
      await tx.update(epassportAuthorities).set({ currentCertificateId: c.id }).where(eq(epassportAuthorities.id, a.id));
      return c;
    });
    await this.audit(o.actor, 'epassport.cvca.create', o.chr, { curve: o.curve, terminalType: o.terminalType, expiration: row.expiration.toISOString() });
    return row;
  }

  /** New CVCA key: a link certificate (signed by the old key) and a self-signed certificate. */
  async rolloverCvca(o: { holder: string; curve?: CvCurveName; days: number; actor: string }): Promise<{ link: CertRow; self: CertRow }> {
    const a = await this.s.authorityByHolder(o.holder);
    if (a?.kind !== 'cvca') throw new EpassportError('not_found', `no CVCA ${o.holder}`);
    const old = await this.s.current(a);
    const oldKey = await this.s.ctx.keys.open(old.keyRef!);
    const chr = nextReference(old.chr);
    const curve = o.curve ?? (a.curve as CvCurveName);
    const key = await this.s.ctx.keys.generate({ type: 'EC', curve }, `cvca:${chr}`);
    const tt = a.terminalType as TerminalType;
    const link = await signCvBody(bodyFor({ car: old.chr, chr, key, role: 'cvca', terminalType: tt, rights: allRights(tt), days: o.days }), oldKey.signer);
    const self = await signCvBody(bodyFor({ car: chr, chr, key, role: 'cvca', terminalType: tt, rights: allRights(tt), days: o.days }), key.signer);
    const out = await this.s.ctx.store.transaction(async (tx) => {
      const l = await insertCert(tx, link, 'own', { keyRef: key.keyRef, authorityId: a.id });
      const s = await insertCert(tx, self, 'own', { keyRef: key.keyRef, authorityId: a.id });
      await tx.update(epassportAuthorities).set({ currentCertificateId: s.id, curve }).where(eq(epassportAuthorities.id, a.id));
      return { link: l, self: s };
    });
    await this.audit(o.actor, 'epassport.cvca.rollover', chr, { previous: old.chr, curve });
    return out;
  }

  /** A DV Certgate operates: key in the key store, certificate from the CVCA `cvcaHolder`. */
  async createDv(o: { chr: string; cvca: string; role: 'dv_domestic' | 'dv_foreign'; rights?: Buffer; days: number; actor: string }): Promise<CertRow> {
    parseReference(o.chr, 'CHR');
    const cvca = await this.s.authorityByHolder(o.cvca);
    if (cvca?.kind !== 'cvca') throw new EpassportError('not_found', `no CVCA ${o.cvca}`);
    const holder = holderOf(o.chr);
    if (await this.s.authorityByHolder(holder)) throw new EpassportError('conflict', `an authority ${holder} exists`);
    const signer = await this.s.current(cvca);
    const signerKey = await this.s.ctx.keys.open(signer.keyRef!);
    const tt = cvca.terminalType as TerminalType;
    const rights = o.rights ?? allRights(tt);
    if (rights.length !== templateLength[tt]) throw new EpassportError('bad_request', `rights: ${templateLength[tt]} byte(s) for ${tt.toUpperCase()}`);
    const key = await this.s.ctx.keys.generate({ type: 'EC', curve: cvca.curve as CvCurveName }, `dv:${o.chr}`);
    const cert = await signCvBody(bodyFor({ car: signer.chr, chr: o.chr, key, role: o.role, terminalType: tt, rights, days: o.days, notAfter: signer.expiration }), signerKey.signer);
    const row = await this.s.ctx.store.transaction(async (tx) => {
      const [a] = await tx.insert(epassportAuthorities).values({ kind: 'dv', holder, terminalType: tt, curve: cvca.curve }).returning();
      const c = await insertCert(tx, cert, 'own', { keyRef: key.keyRef, authorityId: a.id });
      await tx.update(epassportAuthorities).set({ currentCertificateId: c.id }).where(eq(epassportAuthorities.id, a.id));
      return c;
    });
    await this.audit(o.actor, 'epassport.dv.create', o.chr, { car: signer.chr, role: o.role });
    return row;
  }

  /**
   * Imports a foreign CV certificate: a self-signed CVCA certificate (its own signature checked),
   * or a link or DV certificate whose chain verifies against a CVCA already trusted. Dates are not
   * checked (an expired certificate may be kept for the record; using it is refused later).
   */
  async importCertificate(der: Uint8Array, actor: string): Promise<CertRow> {
    const cert = decodeCvCertificate(der);
    const role = chatRole(cert.body.chat!);
    if (role === 'terminal') throw new EpassportError('bad_request', 'terminal certificates are not imported');
    if (cert.body.car === cert.body.chr) {
      if (!verifySelfSigned(cert)) throw new EpassportError('bad_request', `${cert.body.chr}: not a valid self-signed CVCA certificate`);
    } else {
      const chain = await this.s.chainOf(cert);
      if (!chain) throw new EpassportError('bad_request', `${cert.body.chr}: its issuer ${cert.body.car} is not known`);
      const anchors = await this.s.anchors();
      cvChainOk(() => validateCvChain(chain, anchors, null));
    }
    const existing = (await this.s.byChr(cert.body.chr)).find((r) => r.car === cert.body.car);
    if (existing) {
      if (Buffer.from(existing.der).equals(cert.der)) return existing;
      throw new EpassportError('conflict', `another certificate ${cert.body.car} → ${cert.body.chr} is stored`);
    }
    const row = await this.s.ctx.store.transaction((tx) => insertCert(tx, cert, 'imported', {}));
    await this.audit(actor, 'epassport.certificate.import', cert.body.chr, { car: cert.body.car, role });
    return row;
  }

  private audit(actor: string, action: string, target: string, details: Record<string, unknown>) {
    return this.s.ctx.audit.record({ actor, action, target, details });
  }
}

export async function insertCert(
  tx: Parameters<Parameters<CvStore['ctx']['store']['transaction']>[0]>[0],
  cert: CvCertificate,
  origin: 'own' | 'issued' | 'imported',
  extra: { keyRef?: string; authorityId?: string; holderId?: string },
): Promise<CertRow> {
  const b = cert.body;
  const [row] = await tx
    .insert(epassportCertificates)
    .values({ car: b.car!, chr: b.chr, role: chatRole(b.chat!), terminalType: b.chat!.terminalType, origin, der: cert.der, effective: b.effective!, expiration: b.expiration!, ...extra })
    .returning();
  return row;
}
