/**
 * Processing a CV certificate request (RequestCertificate, TR-03129 §3 / TR-03110-3 C.2): syntax,
 * domain parameters against the issuing CVCA's, inner signature (possession of the new key), outer
 * signature by the requester's current certificate (or the one-time initial allowance), then the
 * certificate from the holder's profile, signed by the authority's current key, stored and audited
 * before it is returned.
 */
import { and, eq } from 'drizzle-orm';
import type { ProtocolTx } from '../../src/protocol-context.ts';
import { insertCert } from './authorities.ts';
import { SpocFailure } from './codes.ts';
import {
  andRights, chatRights, chatRole, cvDateValid, cvKeyObject, cvVerify, curveByParams, decodeCvCertificate, decodeCvRequest, makeChat, rightsWithin, signCvBody,
  type CvCertificate, type CvCurve, type CvRequest, type TerminalType, cvCurves, type CvCurveName, CvcSyntaxError,
} from './cvc.ts';
import type { HolderRow, Registry } from './registry.ts';
import { epassportHolders } from './schema.ts';
import { holderOf, today, type AuthorityRow, type CertRow, type CvStore } from './store.ts';

const DAY = 86_400_000;

export function parseRequest(der: Uint8Array): CvRequest {
  try {
    return decodeCvRequest(der);
  } catch (e) {
    if (e instanceof CvcSyntaxError) throw new SpocFailure('failure_syntax', e.message);
    throw e;
  }
}

export class Issuer {
  constructor(private readonly s: CvStore, private readonly registry: Registry) {}

  /** Checks and issues; returns the new certificate's row. Throws SpocFailure with the return code. */
  async process(req: CvRequest, actor: string): Promise<CertRow> {
    const body = req.inner.body;
    const holder = await this.registry.holder(holderOf(body.chr));
    if (!holder) throw new SpocFailure('failure_request_not_accepted', `${holderOf(body.chr)} is not a registered holder`);
    const authority = (await this.s.authority(holder.authorityId))!;
    const signer = await this.s.current(authority);
    if (body.car && !(await this.isAuthorityRef(authority, body.car))) throw new SpocFailure('failure_request_not_accepted', `CAR ${body.car} is not a key of ${authority.holder}`);
    const domain = cvCurves[authority.curve as CvCurveName];
    this.checkDomain(req, domain);
    this.checkInner(req, domain);
    if (req.outer) await this.verifyOuter(req, holder.holder);
    const cert = await this.build(req, holder, authority, signer, domain);
    const row = await this.store(async (tx) => {
      if (!req.outer) {
        // The initial allowance is spent by the first request that uses it, under concurrency too.
        const used = await tx.update(epassportHolders).set({ initialAllowed: false }).where(and(eq(epassportHolders.id, holder.id), eq(epassportHolders.initialAllowed, true))).returning();
        if (used.length === 0) throw new SpocFailure('failure_request_not_accepted', `an initial request of ${holder.holder} needs the operator's allowance; renewals need an outer signature`);
      }
      if ((await this.s.byChr(body.chr, tx)).length > 0) throw new SpocFailure('failure_request_not_accepted', `CHR ${body.chr} is already certified`);
      return insertCert(tx, cert, 'issued', { holderId: holder.id, authorityId: authority.id });
    });
    await this.s.ctx.audit.record({ actor, action: 'epassport.certificate.issue', target: body.chr, details: { car: signer.chr, role: row.role, expiration: row.expiration.toISOString(), outerCar: req.outer?.car ?? null } });
    return row;
  }

  /** A transaction whose unique-key collision (the same CHR certified concurrently) is a refusal. */
  private async store<T>(fn: (tx: ProtocolTx) => Promise<T>): Promise<T> {
    try {
      return await this.s.ctx.store.transaction(fn);
    } catch (e) {
      const code = (e as { code?: string }).code ?? (e as { cause?: { code?: string } }).cause?.code;
      if (code === '23505') throw new SpocFailure('failure_request_not_accepted', 'the CHR was certified by a concurrent request');
      throw e;
    }
  }

  private async isAuthorityRef(a: AuthorityRow, car: string): Promise<boolean> {
    return (await this.s.byChr(car)).some((r) => r.authorityId === a.id && r.origin === 'own');
  }

  /** EC parameters in the request must be the CVCA's; an RSA key cannot join an EC hierarchy. */
  private checkDomain(req: CvRequest, domain: CvCurve): void {
    const pk = req.inner.body.publicKey;
    if (pk.algorithm.kind !== 'ecdsa') throw new SpocFailure('failure_domain_parameters', 'the CVCA uses ECDSA; the request holds an RSA key');
    if (pk.params && curveByParams(pk.params)?.name !== domain.name) throw new SpocFailure('failure_domain_parameters', `the request's domain parameters are not those of ${domain.name}`);
    if (pk.point!.length !== 1 + 2 * domain.size) throw new SpocFailure('failure_domain_parameters', `the public key is not a ${domain.name} point`);
  }

  private checkInner(req: CvRequest, domain: CvCurve): void {
    const pk = req.inner.body.publicKey;
    let ok = false;
    try {
      ok = cvVerify(pk.algorithm, cvKeyObject(pk, domain), req.inner.bodyRaw, req.inner.signature);
    } catch {
      ok = false;
    }
    if (!ok) throw new SpocFailure('failure_inner_signature', 'the inner signature does not verify under the requested key');
  }

  /** The outer CAR must be a certificate of the same holder, valid today, whose key signed. */
  async verifyOuter(req: CvRequest, holder: string): Promise<void> {
    const outer = req.outer!;
    if (holderOf(outer.car) !== holder) throw new SpocFailure('failure_outer_signature', `outer CAR ${outer.car} is not a certificate of ${holder}`);
    const row = (await this.s.byChr(outer.car))[0];
    if (!row) throw new SpocFailure('failure_outer_signature', `outer CAR ${outer.car} is not a known certificate`);
    const cert = decodeCvCertificate(row.der);
    const domain = await this.s.domainOf(cert);
    let ok = false;
    try {
      ok = cvVerify(cert.body.publicKey.algorithm, cvKeyObject(cert.body.publicKey, domain), outer.signed, outer.signature);
    } catch {
      ok = false;
    }
    if (!ok) throw new SpocFailure('failure_outer_signature', `the outer signature does not verify under ${outer.car}`);
    if (!cvDateValid(row.effective, row.expiration, new Date())) throw new SpocFailure('failure_expired', `${outer.car} expired on ${row.expiration.toISOString().slice(0, 10)}`);
  }

  private async build(req: CvRequest, holder: HolderRow, a: AuthorityRow, signer: CertRow, domain: CvCurve): Promise<CvCertificate> {
    const profile = (await this.registry.profile(holder.profile))!;
    const tt = a.terminalType as TerminalType;
    const allowed = andRights(Buffer.from(profile.chat, 'hex'), chatRights(decodeCvCertificate(signer.der).body.chat!));
    let rights = allowed;
    const asked = req.inner.body.chat;
    if (asked) {
      if (asked.terminalType !== tt || chatRole(asked) !== holder.role) throw new SpocFailure('failure_request_not_accepted', `the request's CHAT is not a ${holder.role} ${tt.toUpperCase()} CHAT`);
      if (!rightsWithin(chatRights(asked), allowed)) throw new SpocFailure('failure_request_not_accepted', 'the request asks for rights beyond its profile');
      rights = chatRights(asked);
    }
    const effective = today();
    let expiration = new Date(effective.getTime() + (profile.maxValidityDays - 1) * DAY);
    if (expiration > signer.expiration) expiration = signer.expiration;
    const key = await this.s.ctx.keys.open(signer.keyRef!);
    const pk = req.inner.body.publicKey;
    void domain;
    return signCvBody(
      {
        profileId: 0,
        car: signer.chr,
        // DV and terminal certificates carry no domain parameters (TR-03110-3 D.3.3).
        publicKey: { algorithm: pk.algorithm, point: pk.point },
        chr: req.inner.body.chr,
        chat: makeChat(tt, holder.role as 'dv_domestic', rights),
        effective,
        expiration,
        extensions: req.inner.body.extensions,
      },
      key.signer,
    );
  }
}
