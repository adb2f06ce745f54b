/**
 * PKIOperation (RFC 8894 §3): unwraps a pkiMessage (SignedData around an EnvelopedData),
 * authenticates and authorizes it, hands PKCSReq / RenewalReq to the issuance pipeline and answers
 * every outcome with a signed CertRep. What cannot be answered with a CertRep (not CMS, no readable
 * transactionID or nonce) is a ScepHttpError: HTTP 400 with a plain-text reason.
 *
 * No oracle: a bad signature and an envelope that does not decrypt get the same CertRep
 * (FAILURE, badMessageCheck, same text); the key transport uses implicit rejection, so a bad
 * PKCS#1 padding surfaces only as a content that does not decrypt.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { isIssuanceError, scepBadAlgRule, scepFailInfoFor } from '../../src/issuance/errors.ts';
import type { EnrollmentRequest, IssuanceResult } from '../../src/issuance/request.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { buildCertsOnly, buildSignedData, decryptEnveloped, encryptEnveloped, parseSignedData, verifySigner, type ContentCipher } from '../../src/pki/cms.ts';
import { parseCsr, type ParsedCsr } from '../../src/pki/csr.ts';
import type { KeyHandle, ProtocolContext } from '../../src/protocol-context.ts';
import { decodeRequestAttributes, encodeCertRepAttributes, FailInfo, MessageType, PkiStatus, ScepAttributeError, type RequestAttributes } from './attributes.ts';
import { secretEquals, type ChallengeStore } from './challenges.ts';
import { ScepHttpError } from './errors.ts';
import { decodeIssuerAndSerial, decodeIssuerAndSubject, ScepContentError } from './content.ts';
import { scepTransactions } from './schema.ts';
import type { LabelSettings, ScepSettings } from './settings.ts';
import { webhookAllows } from './webhook.ts';

const DATA = '1.2.840.113549.1.7.1';

/** Who signs CertReps and whose keys open the envelopes (RA, or the CA itself). */
export interface ScepIdentity {
  signerCert: Buffer;
  signerKey: KeyHandle;
  /** Certificates sent with each CertRep so the client can build the path (RA, CA…). */
  certificates: Buffer[];
  /** Envelope recipients we hold a key for, RA first. */
  recipients: { certDer: Buffer; key: KeyHandle }[];
}

interface Sender {
  attrs: RequestAttributes;
  signerCert: Buffer;
  /** The requester's signing digest, echoed in the CertRep. */
  digest: ReplyDigest;
}

/** One CertRep outcome before it is signed. */
type Outcome =
  | { status: 'success'; certs: Uint8Array[]; crls?: Uint8Array[] }
  | { status: 'pending' }
  | { status: 'failure'; failInfo: FailInfo; text: string };

const failure = (failInfo: FailInfo, text: string): Outcome => ({ status: 'failure', failInfo, text });
/** The one answer for both a bad signature and an envelope that does not open. */
const BAD_MESSAGE: Outcome = failure(FailInfo.badMessageCheck, 'the message could not be verified or decrypted');

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

export class ScepService {
  constructor(
    private readonly ctx: ProtocolContext,
    private readonly settings: ScepSettings,
    private readonly identity: ScepIdentity,
    private readonly challenges: ChallengeStore,
  ) {}

  /**
   * The persist hook (registered once at mount, SQL form: composed into the certificate INSERT, no
   * extra round trip): a certificate this protocol requested — at once or after an officer
   * approved a held request — marks its transaction issued in the statement that stores it, so
   * CertPoll finds it without asking the pipeline.
   */
  static persistSql(rows: string): string {
    return `update scep_transactions t set status = 'issued', certificate_id = r.id, updated_at = now() from ${rows} r
      where t.label = r.metadata->'scep'->>'label' and t.transaction_id = r.metadata->'scep'->>'transactionId'`;
  }

  /** Answers one PKIOperation message; returns the CertRep DER. */
  async pkiOperation(label: string, der: Uint8Array, clientAddress: string): Promise<Buffer> {
    const labelSettings = this.settings.labels[label];
    if (!labelSettings) throw new ScepHttpError(`unknown SCEP label "${label}"`);
    let parsed;
    try {
      parsed = parseSignedData(der);
    } catch {
      throw new ScepHttpError('the message is not a CMS SignedData');
    }
    if (parsed.signers.length !== 1) throw new ScepHttpError('the message must have exactly one signer');
    if (parsed.contentType !== DATA || !parsed.content) throw new ScepHttpError('the signed content must be id-data');
    let attrs: RequestAttributes;
    try {
      attrs = decodeRequestAttributes(parsed.signers[0].signedAttrs);
    } catch (e) {
      throw new ScepHttpError(e instanceof ScepAttributeError ? e.message : 'unreadable SCEP attributes');
    }
    const check = verifySigner(parsed, 0);
    const sender: Sender = { attrs, signerCert: check.certDer ?? Buffer.alloc(0), digest: replyDigest(parsed.signers[0].digestAlgorithm) };
    let outcome: Outcome;
    let cipher: ContentCipher = 'aes-256-cbc';
    if (!check.ok || !check.certDer) {
      outcome = BAD_MESSAGE;
    } else {
      const opened = await this.open(parsed.content);
      if (!opened) {
        outcome = BAD_MESSAGE;
      } else {
        cipher = opened.cipher;
        outcome = await this.dispatch(label, labelSettings, sender, opened.content, clientAddress).catch((e) => this.mapError(e));
      }
    }
    if (outcome.status === 'failure') {
      // For the operator: why (the client gets failInfo and a short text; a bad signature and a
      // bad envelope look the same to it, not to the log).
      this.ctx.log.info(
        { label, transactionId: attrs.transactionID, failInfo: outcome.failInfo, reason: outcome === BAD_MESSAGE ? (check.ok ? 'envelope does not decrypt' : check.reason) : outcome.text },
        'scep: request refused',
      );
    }
    return this.certRep(sender, outcome, cipher);
  }

  /** Decrypts the pkcsPKIEnvelope with whichever of our keys it was made for. */
  private async open(envelope: Uint8Array): Promise<{ content: Buffer; cipher: ContentCipher } | undefined> {
    for (const r of this.identity.recipients) {
      if (!r.key.decrypter) continue;
      try {
        return await decryptEnveloped(envelope, r.key.decrypter, { recipientCert: r.certDer });
      } catch {
        // Not for this recipient, or does not decrypt: try the next; all failing is one answer.
      }
    }
    return undefined;
  }

  private async dispatch(label: string, ls: LabelSettings, s: Sender, content: Buffer, clientAddress: string): Promise<Outcome> {
    switch (s.attrs.messageType) {
      case MessageType.PKCSReq:
      case MessageType.RenewalReq:
        return this.enrol(label, ls, s, content, clientAddress);
      case MessageType.CertPoll:
        return this.poll(label, s, content);
      case MessageType.GetCert:
        return this.getCert(content);
      case MessageType.GetCRL:
        return this.getCrl(content);
      default:
        return failure(FailInfo.badRequest, 'unsupported messageType');
    }
  }

  // ── PKCSReq and RenewalReq ────────────────────────────────────────────────

  private async enrol(label: string, ls: LabelSettings, s: Sender, content: Buffer, clientAddress: string): Promise<Outcome> {
    let csr: ParsedCsr;
    try {
      csr = parseCsr(content);
    } catch {
      return failure(FailInfo.badRequest, 'the request is not a PKCS#10 CertificationRequest');
    }
    if (!csr.signatureValid) return failure(FailInfo.badMessageCheck, 'the PKCS#10 signature does not verify');
    const renewal = s.attrs.messageType === MessageType.RenewalReq;
    const signerSpki = Buffer.from(parseCertificate(s.signerCert).spki);
    const replaces = await this.signerAuthority(s, csr, signerSpki, renewal);
    if (replaces && 'status' in replaces) return replaces;
    const claim = await this.claim(label, ls, s, csr, signerSpki, renewal, clientAddress);
    if ('status' in claim) return claim;
    const fresh = claim.fresh;

    const request: EnrollmentRequest = {
      principal: { id: `scep:${label}`, protocol: 'scep', authenticatedBy: renewal ? 'cms-signature' : 'challenge-password' },
      profile: ls.profile,
      // The CSR is parsed and its signature checked above: the pipeline takes the key as proven.
      key: { kind: 'spki', der: csr.spki, pop: 'verified-by-protocol', keyInfo: csr.key },
      subject: csr.subject,
      sans: csr.sans,
      idempotencyKey: `${label}:${s.attrs.transactionID}`,
      // This request just claimed the transaction: no earlier attempt used the key.
      idempotencyKeyUnused: fresh,
      replaces,
      metadata: { scep: { label, transactionId: s.attrs.transactionID, messageType: renewal ? 'RenewalReq' : 'PKCSReq' } },
    };
    let result: IssuanceResult;
    try {
      result = await this.ctx.pipeline.issue(request);
    } catch (e) {
      // Refused: forget the transaction, so a retry is authorized afresh rather than riding on it.
      if (fresh) await this.forget(label, s.attrs.transactionID);
      throw e;
    }
    await this.record(label, s.attrs.transactionID, result);
    return this.outcomeOf(result);
  }

  /**
   * What the request signer proves. PKCSReq (§2.3): it holds the key being certified. RenewalReq
   * (§3.3.1.2): it is the valid, unrevoked certificate of ours being renewed (same key: renew;
   * another key: re-key).
   */
  private async signerAuthority(s: Sender, csr: ParsedCsr, signerSpki: Buffer, renewal: boolean): Promise<EnrollmentRequest['replaces'] | Outcome> {
    const sameKey = signerSpki.equals(csr.spki);
    if (!renewal) return sameKey ? undefined : failure(FailInfo.badMessageCheck, 'PKCSReq must be signed with the key being certified');
    const old = await this.ctx.certificates.byDer(s.signerCert);
    if (!old || old.status !== 'valid' || old.notAfter.getTime() < Date.now()) {
      return failure(FailInfo.badMessageCheck, 'RenewalReq must be signed by a valid certificate of this CA');
    }
    return { issuerId: old.issuerId, serial: old.serial, mode: sameKey ? 'renew' : 'rekey' };
  }

  /**
   * Authorizes the request and claims its transaction. The common case — a static challenge or a
   * renewal — needs no database to authorize, so the claim is one statement; a one-time challenge
   * must not be spent on a replay, so that path looks the transaction up first. `fresh`: this
   * request created the transaction; otherwise it is a retry (or a concurrent twin) with the same key.
   */
  private async claim(label: string, ls: LabelSettings, s: Sender, csr: ParsedCsr, signerSpki: Buffer, renewal: boolean, clientAddress: string): Promise<{ fresh: boolean } | Outcome> {
    const spkiHash = sha256(csr.spki);
    const statically = renewal || this.staticChallengeOk(ls, csr);
    let known = statically ? undefined : await this.transaction(label, s.attrs.transactionID);
    if (!known) {
      const denied = renewal ? undefined : await this.authorize(label, ls, s, csr, clientAddress, statically);
      if (denied) return denied;
      const row = { label, transactionId: s.attrs.transactionID, spkiSha256: spkiHash, signerSpkiSha256: sha256(signerSpki), messageType: String(s.attrs.messageType), status: 'pending', subjectDer: csr.subjectDer };
      const inserted = await this.ctx.store.db.insert(scepTransactions).values(row).onConflictDoNothing().returning({ label: scepTransactions.label });
      if (inserted.length === 1) return { fresh: true };
      known = await this.transaction(label, s.attrs.transactionID);
    }
    if (!known || !Buffer.from(known.spkiSha256).equals(spkiHash)) return failure(FailInfo.badRequest, 'this transactionID was used with another key');
    return { fresh: false };
  }

  /** The label's static challenge matches the CSR's challengePassword (constant time). */
  private staticChallengeOk(ls: LabelSettings, csr: ParsedCsr): boolean {
    return ls.challenge !== undefined && csr.challengePassword !== undefined && secretEquals(csr.challengePassword, ls.challenge);
  }

  /** The label's authorization of a PKCSReq: challenge (static or one-time), then the webhook. */
  private async authorize(label: string, ls: LabelSettings, s: Sender, csr: ParsedCsr, clientAddress: string, staticOk: boolean): Promise<Outcome | undefined> {
    const given = csr.challengePassword;
    const webhookOnly = !!ls.webhookUrl && !ls.challenge;
    if (!webhookOnly && !staticOk) {
      const ok = given !== undefined && (await this.challenges.consume(label, given));
      if (!ok) return failure(FailInfo.badRequest, 'the challenge password is missing, wrong, expired or already used');
    }
    if (ls.webhookUrl) {
      const verdict = await webhookAllows(
        ls.webhookUrl,
        { label, transactionId: s.attrs.transactionID, messageType: 'PKCSReq', csr: Buffer.from(csr.der).toString('base64'), challengePassword: given, clientAddress },
        this.settings.webhookTimeoutMs,
      );
      if (!verdict.allowed) {
        this.ctx.log.info({ label, transactionId: s.attrs.transactionID, status: verdict.status }, 'scep: validation webhook refused the request');
        return failure(FailInfo.badRequest, 'the request was refused by validation');
      }
    }
    return undefined;
  }

  private async transaction(label: string, transactionId: string) {
    const [row] = await this.ctx.store.db
      .select()
      .from(scepTransactions)
      .where(and(eq(scepTransactions.label, label), eq(scepTransactions.transactionId, transactionId)));
    return row;
  }

  private async forget(label: string, transactionId: string): Promise<void> {
    await this.ctx.store.db
      .delete(scepTransactions)
      .where(and(eq(scepTransactions.label, label), eq(scepTransactions.transactionId, transactionId), eq(scepTransactions.status, 'pending')));
  }

  /** A held or refused outcome on the transaction (an issued one is written by the persist hook). */
  private async record(label: string, transactionId: string, r: IssuanceResult): Promise<void> {
    if (r.status === 'issued') return;
    const set = { status: r.status, requestId: r.requestId };
    await this.ctx.store.db
      .update(scepTransactions)
      .set({ ...set, updatedAt: new Date() })
      .where(and(eq(scepTransactions.label, label), eq(scepTransactions.transactionId, transactionId)));
  }

  private outcomeOf(r: IssuanceResult): Outcome {
    if (r.status === 'issued') return { status: 'success', certs: [r.certificate.der] };
    if (r.status === 'pending') return { status: 'pending' };
    return failure(FailInfo.badRequest, 'the request was rejected');
  }

  // ── CertPoll (GetCertInitial), GetCert and GetCRL ─────────────────────────────────

  private async poll(label: string, s: Sender, content: Buffer): Promise<Outcome> {
    try {
      decodeIssuerAndSubject(content);
    } catch (e) {
      if (e instanceof ScepContentError) return failure(FailInfo.badRequest, e.message);
      throw e;
    }
    const t = await this.transaction(label, s.attrs.transactionID);
    // Only the holder of the requested key, or of the key that signed the request, may poll (§3.3.3).
    const signerHash = sha256(parseCertificate(s.signerCert).spki);
    if (!t || (!signerHash.equals(Buffer.from(t.spkiSha256)) && !signerHash.equals(Buffer.from(t.signerSpkiSha256)))) {
      return failure(FailInfo.badCertId, 'no such transaction');
    }
    if (t.certificateId) {
      const cert = await this.ctx.certificates.byId(t.certificateId);
      if (cert) return { status: 'success', certs: [cert.der] };
    }
    if (!t.requestId) {
      // Issued at once but polled before the hook's row was visible, or stored by an older version.
      const cert = await this.ctx.certificates.byIdempotencyKey('scep', `scep:${label}`, `${label}:${s.attrs.transactionID}`);
      return cert ? { status: 'success', certs: [cert.der] } : { status: 'pending' };
    }
    const r = await this.ctx.pipeline.getRequest(t.requestId);
    if (r.status !== 'pending') await this.record(label, s.attrs.transactionID, r);
    return this.outcomeOf(r);
  }

  private async getCert(content: Buffer): Promise<Outcome> {
    let q;
    try {
      q = decodeIssuerAndSerial(content);
    } catch (e) {
      if (e instanceof ScepContentError) return failure(FailInfo.badRequest, e.message);
      throw e;
    }
    const issuer = this.ctx.issuers.list().find((i) => Buffer.compare(Buffer.from(parseCertificate(i.certDer).subject), q.issuer) === 0);
    const cert = issuer && (await this.ctx.certificates.bySerial(issuer.id, q.serialHex));
    if (!cert) return failure(FailInfo.badCertId, 'no certificate with this issuer and serial number');
    return { status: 'success', certs: [cert.der] };
  }

  /**
   * GetCRL (§3.3.4): the complete CRL of the issuer named in the IssuerAndSerialNumber. Several of
   * our issuers may share a name (a re-keyed CA): the one that issued this serial wins, else the
   * first of that name. CRLs are public, so the serial need not be one of ours.
   */
  private async getCrl(content: Buffer): Promise<Outcome> {
    let q;
    try {
      q = decodeIssuerAndSerial(content);
    } catch (e) {
      if (e instanceof ScepContentError) return failure(FailInfo.badRequest, e.message);
      throw e;
    }
    const named = this.ctx.issuers.list().filter((i) => Buffer.compare(Buffer.from(parseCertificate(i.certDer).subject), q.issuer) === 0);
    let issuer = named[0];
    for (const i of named) if (await this.ctx.certificates.bySerial(i.id, q.serialHex)) issuer = i;
    const crl = issuer && (await this.ctx.crls.latest(issuer.id));
    if (!crl) return failure(FailInfo.badCertId, 'no issuer of this name here');
    return { status: 'success', certs: [], crls: [crl.der] };
  }

  // ── errors and the CertRep ────────────────────────────────────────────────

  /** A typed refusal of the pipeline, through the shared SCEP table (src/issuance/errors.ts). */
  private mapError(e: unknown): Outcome {
    if (!isIssuanceError(e)) throw e;
    const native = scepFailInfoFor[e.code];
    if (native === 'PENDING') return { status: 'pending' };
    return failure(FailInfo[e.code === 'policy' && scepBadAlgRule(e.rule) ? 'badAlg' : native], e.message);
  }

  /** Signs the CertRep (RFC 8894 §3.3.2); a SUCCESS carries the certificates enveloped for the signer. */
  private async certRep(s: Sender, o: Outcome, clientCipher: ContentCipher): Promise<Buffer> {
    const status = o.status === 'success' ? PkiStatus.SUCCESS : o.status === 'pending' ? PkiStatus.PENDING : PkiStatus.FAILURE;
    // RFC 8894 §3.3.2: a SUCCESS carries the certificates enveloped for the requester; other
    // answers an empty eContent (as micromdm's scepserver), which every client's verifier accepts.
    const content = o.status === 'success' ? encryptEnveloped(buildCertsOnly(o.certs, o.crls), [{ certDer: s.signerCert }], replyCipher(clientCipher)) : Buffer.alloc(0);
    const signedAttributes = encodeCertRepAttributes({
      transactionID: s.attrs.transactionID,
      recipientNonce: s.attrs.senderNonce,
      senderNonce: randomBytes(16),
      status,
      failInfo: o.status === 'failure' ? o.failInfo : undefined,
      failInfoText: o.status === 'failure' ? o.text : undefined,
    });
    return buildSignedData({
      content,
      contentType: DATA,
      signer: this.identity.signerKey.signer,
      signerCert: this.identity.signerCert,
      certificates: this.identity.certificates,
      signedAttributes,
      digest: s.digest,
      rsaSignatureOid: 'rsaEncryption',
    });
  }
}

type ReplyDigest = 'sha1' | 'sha256' | 'sha384' | 'sha512';
const digestByOid: Record<string, ReplyDigest> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** The CertRep's digest: the requester's own (a SHA-1-only client can check it), else SHA-256. */
function replyDigest(oid: string): ReplyDigest {
  return digestByOid[oid] ?? 'sha256';
}

/** The strongest cipher the client's own message shows it has: AES when it sent AES, else DES3. */
function replyCipher(clientCipher: ContentCipher): ContentCipher {
  return clientCipher.startsWith('aes') ? clientCipher : 'des-ede3-cbc';
}
