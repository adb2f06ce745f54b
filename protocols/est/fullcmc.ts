/**
 * /fullcmc (RFC 7030 §4.3, RFC 5272/5273): a Full PKI Request — SignedData over PKIData with one
 * PKCS#10 or CRMF request and the controls transactionId, senderNonce, identification and
 * identityProof(V2) — answered with a Full PKI Response: SignedData (signed by the issuing CA)
 * over PKIResponse with CMCStatusInfoV2, transactionId and the nonces; the certificate and its
 * chain in the SignedData's certificates.
 *
 * A message that cannot be read as SignedData/PKIData is a 400 with a text reason. Once it is
 * read, every refusal is a CMC response (failInfo) — with the 4xx status the same refusal has on
 * the simple operations, so HTTP-only clients see the failure too.
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import { estStatusFor, isIssuanceError, type ReasonCode } from '../../src/issuance/errors.ts';
import type { IssuanceResult } from '../../src/issuance/request.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { cmcOids } from '../../src/pki/cmc-oids.ts';
import {
  decodeIdentification,
  decodeIdentityProofV2,
  decodeOctets,
  decodeTransactionId,
  encodeNonce,
  encodeTransactionId,
  identityProofMatches,
  type IdentityProofV2,
} from '../../src/pki/cmc-controls.ts';
import { decodePkiData, type PkiData } from '../../src/pki/cmc-pki-data.ts';
import { encodePkiResponse } from '../../src/pki/cmc-pki-response.ts';
import { encodeCmcStatusInfoV2, type CmcFailInfo, type CmcStatusInfoV2 } from '../../src/pki/cmc-status-info-v2.ts';
import type { TaggedAttribute } from '../../src/pki/cmc-tagged-attribute.ts';
import { parseSignedData, signerCertificate, verifySigner, type ParsedSignedData } from '../../src/pki/cms-signed-data.ts';
import { decodeCertReqMsg } from '../../src/pki/crmf-cert-req-msg.ts';
import { decodeGeneralNames } from '../../src/pki/extensions.ts';
import { keyInfoFromSpki } from '../../src/pki/keyinfo.ts';
import { decodeName } from '../../src/pki/name.ts';
import { ext } from '../../src/pki/oids.ts';
import { buildSignedData } from '../../src/pki/cms-signed-data.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import type { Authenticated } from './auth.ts';
import { checkChannelBinding, checkedCsr, enroll, type ChannelBinding, type RequestedCertificate } from './enroll.ts';
import { EstError } from './errors.ts';
import { chainOf, labelIssuer } from './issuer.ts';
import type { Label } from './labels.ts';
import type { UserStore } from './users.ts';

/** A refusal inside a readable request: becomes CMCStatusInfoV2 failed + failInfo. */
class CmcFailure extends Error {
  constructor(
    readonly failInfo: CmcFailInfo,
    message: string,
    readonly httpStatus: CmcAnswer['status'] = 400,
  ) {
    super(message);
  }
}

/** The pipeline's reason codes as CMCFailInfo (a table; RFC 5272 §6.1.4). */
const failInfoFor: Record<ReasonCode, CmcFailInfo> = {
  badCsr: 'badRequest',
  badPop: 'popFailed',
  policy: 'badRequest',
  unknownProfile: 'badRequest',
  forbiddenProfile: 'badRequest',
  notAuthorizedForIdentifier: 'badIdentity',
  validity: 'badRequest',
  duplicateKey: 'noKeyReuse',
  issuerUnavailable: 'tryLater',
  pending: 'tryLater',
  rateLimited: 'tryLater',
  internal: 'internalCAError',
  malformed: 'badRequest',
  notFound: 'badCertId',
  conflict: 'badRequest',
  unauthorized: 'badIdentity',
  forbidden: 'badIdentity',
};

interface Controls {
  transactionId?: bigint;
  senderNonce?: Buffer;
  identification?: string;
  identityProof?: IdentityProofV2;
}

export interface CmcAnswer {
  status: 200 | EstError['status'];
  response: Buffer;
}

export class FullCmc {
  constructor(
    private readonly ctx: ProtocolContext,
    private readonly users: UserStore,
  ) {}

  async handle(label: Label, auth: Authenticated, body: Buffer, cb: ChannelBinding | undefined): Promise<CmcAnswer> {
    let sd: ParsedSignedData;
    let pki: PkiData;
    try {
      sd = parseSignedData(body);
      if (sd.contentType !== cmcOids.pkiData) throw new Error('the SignedData does not carry PKIData (id-cct-PKIData)');
      if (!sd.content) throw new Error('the SignedData has no content');
      pki = decodePkiData(sd.content);
    } catch (e) {
      throw new EstError(400, `not a CMC Full PKI Request: ${(e as Error).message}`);
    }
    let controls: Controls = {};
    const bodyList = pki.requests.map((r) => r.bodyPartId);
    try {
      controls = readControls(pki.controls);
      const requested = this.request(pki, label, cb);
      await this.checkSignature(sd, requested.spki);
      await this.checkIdentity(label, controls, pki.reqSequenceDer);
      const result = await enroll(this.ctx, 'fullcmc', label, auth, requested, {
        cmcTransactionId: controls.transactionId?.toString(),
        cmcIdentification: controls.identification,
      });
      return await this.answer(label, controls, result, bodyList);
    } catch (e) {
      const f = e instanceof CmcFailure ? e : e instanceof EstError ? new CmcFailure(e.status === 401 || e.status === 403 ? 'badIdentity' : 'badRequest', e.message, e.status === 202 ? 400 : e.status) : isIssuanceError(e) ? new CmcFailure(failInfoFor[e.code], e.code === 'internal' ? 'internal error' : e.message, estStatusFor[e.code]) : undefined;
      if (!f) throw e;
      const status: CmcStatusInfoV2 = { status: 'failed', bodyList: bodyList.length ? bodyList : [0], statusString: f.message, failInfo: f.failInfo };
      return { status: f.httpStatus, response: await this.sign(label, controls, status, []) };
    }
  }

  /** The one request of the PKIData, with its proof of possession checked. */
  private request(pki: PkiData, label: Label, cb: ChannelBinding | undefined): RequestedCertificate {
    if (pki.requests.length !== 1) throw new CmcFailure('badRequest', `exactly one certification request per message is supported, not ${pki.requests.length}`);
    const r = pki.requests[0];
    if (r.kind === 'pkcs10') {
      let csr;
      try {
        csr = checkedCsr(r.der);
      } catch (e) {
        throw new CmcFailure(/signature/.test((e as Error).message) ? 'popFailed' : 'badRequest', (e as Error).message);
      }
      if (label.channelBinding) checkChannelBinding(csr, cb);
      return csr;
    }
    if (r.kind === 'crmf') {
      if (label.channelBinding) throw new CmcFailure('badRequest', 'this label requires the channel binding in a PKCS#10 challengePassword; CRMF cannot carry it', 403);
      let msg;
      try {
        msg = decodeCertReqMsg(r.der);
      } catch (e) {
        throw new CmcFailure('badRequest', (e as Error).message);
      }
      if (!msg.subject || !msg.publicKey) throw new CmcFailure('badRequest', 'the CRMF template needs a subject and a public key');
      if (msg.popo !== 'signature') throw new CmcFailure('popRequired', 'a CRMF request needs a signature proof of possession (without poposkInput)');
      if (!msg.popValid) throw new CmcFailure('popFailed', 'the CRMF proof-of-possession signature does not verify');
      const san = msg.extensions.find((x) => x.oid === ext.subjectAltName);
      try {
        return { subject: decodeName(msg.subject), spki: msg.publicKey, key: keyInfoFromSpki(msg.publicKey), sans: san ? decodeGeneralNames(san.value) : [] };
      } catch (e) {
        throw new CmcFailure('badRequest', `malformed CRMF template: ${(e as Error).message}`);
      }
    }
    throw new CmcFailure('badRequest', 'only PKCS#10 and CRMF requests are supported');
  }

  /**
   * The PKIData signature (RFC 5272 §3.2.1.3): by a certificate this CA issued and still holds
   * valid (embedded in the SignedData), or else by the key being certified.
   */
  private async checkSignature(sd: ParsedSignedData, spki: Buffer): Promise<void> {
    if (sd.signers.length !== 1) throw new CmcFailure('badMessageCheck', 'the PKIData must have exactly one signer');
    const cert = signerCertificate(sd, sd.signers[0]);
    if (cert && !Buffer.from(parseCertificate(cert).spki).equals(spki)) {
      // Signed with another certificate: it must verify and be a valid certificate this CA issued.
      if (!verifySigner(sd, 0, cert).ok) throw new CmcFailure('badMessageCheck', 'the PKIData signature does not verify');
      const record = (await this.ctx.issuers.issuerOf(cert)) ? await this.ctx.certificates.byDer(cert) : undefined;
      if (!record || record.status !== 'valid' || record.notAfter.getTime() < Date.now()) {
        throw new CmcFailure('badIdentity', 'the PKIData is signed by a certificate this CA did not issue or no longer holds valid', 403);
      }
      return;
    }
    if (!verifySigner(sd, 0, createPublicKey({ key: spki, format: 'der', type: 'spki' })).ok) {
      throw new CmcFailure('badMessageCheck', 'the PKIData signature does not verify with the requested key');
    }
  }

  /** identityProof(V2) against the label user named by identification (RFC 5272 §6.2). */
  private async checkIdentity(label: Label, c: Controls, reqSequenceDer: Buffer): Promise<void> {
    if (!c.identityProof) return;
    if (!c.identification) throw new CmcFailure('badIdentity', 'identityProof needs the identification control naming the user', 403);
    const secret = await this.users.sharedSecret(label.name, c.identification);
    if (!secret || !identityProofMatches(c.identityProof, secret, reqSequenceDer)) throw new CmcFailure('badIdentity', 'the identity proof does not verify', 403);
  }

  private async answer(label: Label, c: Controls, result: IssuanceResult, bodyList: number[]): Promise<CmcAnswer> {
    if (result.status === 'pending') {
      const status: CmcStatusInfoV2 = { status: 'pending', bodyList, pendInfo: { token: Buffer.from(result.requestId), time: new Date() } };
      return { status: 202, response: await this.sign(label, c, status, []) };
    }
    if (result.status === 'rejected') {
      return { status: 403, response: await this.sign(label, c, { status: 'failed', bodyList, statusString: result.reason, failInfo: 'badRequest' }, []) };
    }
    const certs = [result.certificate.der, ...result.chain];
    return { status: 200, response: await this.sign(label, c, { status: 'success', bodyList }, certs) };
  }

  /** PKIResponse in SignedData signed by the label's issuing CA; nonces and transactionId echoed. */
  private async sign(label: Label, c: Controls, status: CmcStatusInfoV2, certs: Uint8Array[]): Promise<Buffer> {
    const controls: TaggedAttribute[] = [{ bodyPartId: 1, type: cmcOids.statusInfoV2, values: [encodeCmcStatusInfoV2(status)] }];
    let id = 2;
    if (c.transactionId !== undefined) controls.push({ bodyPartId: id++, type: cmcOids.transactionId, values: [encodeTransactionId(c.transactionId)] });
    if (c.senderNonce) controls.push({ bodyPartId: id++, type: cmcOids.recipientNonce, values: [encodeNonce(c.senderNonce)] });
    controls.push({ bodyPartId: id++, type: cmcOids.senderNonce, values: [encodeNonce(randomBytes(16))] });
    const issuer = await labelIssuer(this.ctx, label);
    const key = await this.ctx.keys.forIssuer(issuer.id);
    return buildSignedData({
      content: encodePkiResponse({ controls, cms: [], other: [] }),
      contentType: cmcOids.pkiResponse,
      signer: key.signer,
      signerCert: issuer.certDer,
      certificates: [...certs, ...chainOf(issuer).slice(1)],
    });
  }
}

const known = new Set<string>([cmcOids.transactionId, cmcOids.senderNonce, cmcOids.identification, cmcOids.identityProof, cmcOids.identityProofV2]);

function readControls(list: TaggedAttribute[]): Controls {
  const c: Controls = {};
  for (const a of list) {
    if (!known.has(a.type)) throw new CmcFailure('badRequest', `unsupported CMC control ${a.type}`);
    if (a.values.length !== 1) throw new CmcFailure('badRequest', `control ${a.type} must have one value`);
    const v = a.values[0];
    try {
      if (a.type === cmcOids.transactionId) c.transactionId = decodeTransactionId(v);
      else if (a.type === cmcOids.senderNonce) c.senderNonce = decodeOctets(v, 'senderNonce');
      else if (a.type === cmcOids.identification) c.identification = decodeIdentification(v);
      else if (a.type === cmcOids.identityProofV2) c.identityProof = decodeIdentityProofV2(v);
      // identityProof (V1): HMAC-SHA1 keyed with SHA-1 of the shared secret.
      else if (a.type === cmcOids.identityProof) c.identityProof = { proofHash: 'sha1', macHash: 'sha1', witness: decodeOctets(v, 'identityProof') };
    } catch (e) {
      throw new CmcFailure('badRequest', (e as Error).message);
    }
  }
  return c;
}
