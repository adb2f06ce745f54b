/**
 * ir, cr, kur (CRMF, RFC 4211) and p10cr (PKCS#10): the request becomes one EnrollmentRequest for
 * the pipeline; the answer is ip, cp or kup (RFC 9483 §4.1). Proof of possession by signature is
 * checked here; a PKCS#10's signature by the pipeline.
 */
import { createHash } from 'node:crypto';
import { importSpki, keyInfoFromKeyObject, spkiAlgorithmOid, type KeyInfo } from '../../src/pki/keyinfo.ts';
import type { EnvelopeRecipient } from '../../src/pki/cms-enveloped-data.ts';
import type { EnrollmentRequest, Identifier, IssuanceResult, KeySpec, PublicKeyInput, SubjectAttribute, ValidityRequest } from '../../src/issuance/request.ts';
import { isIssuanceError } from '../../src/issuance/errors.ts';
import { parseCertificate, parseExtensions } from '../../src/pki/certificate.ts';
import { encodeCertRepMessage, type CertResponse } from '../../src/pki/cmp-cert-rep.ts';
import { PKIStatus } from '../../src/pki/cmp-status-info.ts';
import { decodeCertReqMessages, regCtrlOids, type CertReqMsg } from '../../src/pki/crmf-cert-req-messages.ts';
import { decodeCertId } from '../../src/pki/crmf-cert-id.ts';
import { readTlv } from '../../src/pki/der.ts';
import { decodeGeneralNames } from '../../src/pki/extensions.ts';
import { decodeName } from '../../src/pki/name.ts';
import { ext } from '../../src/pki/oids.ts';
import { centralKeyRequest, centralKeySpec, keyRecipient, privateKeyEnvelope } from './central-key.ts';
import { answer, implicitConfirmInfo, wantsImplicitConfirm, type Exchange } from './exchange.ts';
import { CmpFailure, failInfoForError } from './failures.ts';
import { responseProtection, senderId } from './protection.ts';
import { claimOf, type NewTx, type Transactions, type TxProtection } from './transactions.ts';

interface Parsed {
  certReqId: bigint;
  key: PublicKeyInput;
  /** Central key generation: the key the template names (if any) and who gets the private key. */
  central?: { request: { algorithm?: string; curve?: string }; recipient: EnvelopeRecipient };
  subject?: SubjectAttribute[];
  sans?: Identifier[];
  validity?: ValidityRequest;
  replaces?: EnrollmentRequest['replaces'];
}

const answerType = { ir: 'ip', cr: 'cp', kur: 'kup', p10cr: 'cp' } as const;
export type EnrollBody = keyof typeof answerType;

/**
 * Checks the POP; returns the loaded key's KeyInfo so the pipeline need not load it again. The
 * signature check (loading the key and verifying) runs on the crypto workers.
 */
async function checkPop(ex: Exchange, m: CertReqMsg, spki: Buffer): Promise<KeyInfo> {
  const pop = m.popo;
  if (!pop) throw new CmpFailure('badPOP', 'proof of possession missing');
  if (pop.kind === 'raVerified') {
    // RFC 4211 §4: the RA checked the POP; only an RA we trust may say so.
    if (!ex.ra) throw new CmpFailure('badPOP', 'raVerified proof of possession is accepted only from an authorised RA');
    return loadKeyInfo(spki);
  }
  if (pop.kind !== 'signature') throw new CmpFailure('badPOP', `proof of possession by ${pop.kind} is not supported (sign the request)`);
  if (pop.poposkInput) throw new CmpFailure('badPOP', 'POPOSigningKeyInput is not supported: the template must carry subject and key');
  // Checked already with the sender's MAC (same decoded request), or now.
  const pre = ex.sender?.kind === 'mac' ? ex.sender.crmf : undefined;
  const r = pre?.pop && pre.reqs[0] === m ? pre.pop : await ex.ctx.crypto.checkSignature(spki, pop.algorithm, m.certReqDer, pop.signature);
  if (r.ok) return r.keyInfo;
  if (r.reason === 'bad-key') throw badTemplateKey();
  throw new CmpFailure('badPOP', 'proof of possession signature does not verify');
}

function badTemplateKey(): CmpFailure {
  return new CmpFailure('badCertTemplate', 'the template public key is not a valid SubjectPublicKeyInfo');
}

function importTemplateKey(spki: Buffer): { key: ReturnType<typeof importSpki>; algOid: string } {
  try {
    return { algOid: spkiAlgorithmOid(spki), key: importSpki(spki) };
  } catch {
    throw badTemplateKey();
  }
}

function loadKeyInfo(spki: Buffer): KeyInfo {
  const { key, algOid } = importTemplateKey(spki);
  return keyInfoFromKeyObject(key, algOid);
}

function templateSans(extensions: Buffer | undefined): Identifier[] | undefined {
  if (!extensions) return undefined;
  const list = parseExtensions(extensions, readTlv(extensions));
  const san = list.find((e) => e.oid === ext.subjectAltName);
  return san ? decodeGeneralNames(san.value) : undefined;
}

async function parseCrmf(ex: Exchange, type: 'ir' | 'cr' | 'kur'): Promise<Parsed> {
  const pre = ex.sender?.kind === 'mac' ? ex.sender.crmf : undefined;
  const reqs = pre?.reqs ?? decodeCertReqMessages(ex.msg.body.content, readTlv(ex.msg.body.content));
  if (reqs.length !== 1) throw new CmpFailure('badRequest', 'exactly one certificate request per message (RFC 9483 §4.1.1)');
  const m = reqs[0];
  const t = m.certReq.certTemplate;
  const central = centralKeyRequest(t.publicKey);
  if (central && m.popo) throw new CmpFailure('badPOP', 'a request for central key generation carries no proof of possession (RFC 9483 §4.1.6)');
  const out: Parsed = {
    certReqId: m.certReq.certReqId,
    // The key type is settled against the profile in enroll(); the pipeline generates the key.
    key: central ? { kind: 'generate', spec: { type: 'EC', curve: 'P-256' } } : { kind: 'spki', der: t.publicKey!, pop: 'verified-by-protocol', keyInfo: await checkPop(ex, m, t.publicKey!) },
    central: central ? { request: central, recipient: keyRecipient(ex.sender!) } : undefined,
    subject: t.subject ? decodeName(t.subject) : undefined,
    sans: templateSans(t.extensions),
    validity: t.validity && (t.validity.notBefore || t.validity.notAfter) ? { notBefore: t.validity.notBefore, notAfter: t.validity.notAfter } : undefined,
  };
  if (type === 'kur') {
    if (ex.sender?.kind !== 'signature') throw new CmpFailure('notAuthorized', 'kur must be signed with the certificate being updated');
    const old = ex.sender.record;
    const ctl = m.certReq.controls?.find((c) => c.type === regCtrlOids.oldCertID);
    if (ctl) {
      const id = decodeCertId(ctl.value, readTlv(ctl.value));
      if (id.serialNumber.toString('hex') !== old.serial.replace(/^00/, '') && id.serialNumber.toString('hex') !== old.serial) {
        throw new CmpFailure('badCertId', 'oldCertID does not name the signing certificate');
      }
    }
    out.replaces = { issuerId: old.issuerId, serial: old.serial, mode: 'rekey' };
    if (!out.subject) out.subject = decodeName(parseCertificate(ex.sender.certDer).subject);
    if (!out.sans) out.sans = old.sans;
  }
  return out;
}

/**
 * The pipeline principal. A certificate holder (signature protection) may only ask for the names its
 * certificate carries: its SANs become the authorized identifiers. A reference (MAC) may ask for any
 * name its profile allows, as a shared secret vouches for a device, not for names.
 */
function principalOf(ex: Exchange, profile: string): EnrollmentRequest['principal'] {
  const s = ex.sender!;
  return {
    id: `cmp:${senderId(s)}`,
    protocol: 'cmp',
    authenticatedBy: s.kind === 'mac' ? 'hmac' : 'cms-signature',
    allowedProfiles: [profile],
    // An authorised RA vouches for names as a shared secret does (RFC 9483 §5).
    authorizedIdentifiers: s.kind === 'signature' && !ex.ra ? s.record.sans : undefined,
  };
}

function statusAnswer(certReqId: bigint, result: IssuanceResult, privateKeyEnveloped?: Buffer): CertResponse {
  if (result.status === 'issued') return { certReqId, status: { status: PKIStatus.accepted }, certificate: Buffer.from(result.certificate.der), privateKeyEnveloped };
  if (result.status === 'pending') return { certReqId, status: { status: PKIStatus.waiting, statusString: ['held for approval; poll'] } };
  return { certReqId, status: { status: PKIStatus.rejection, statusString: [result.reason], failInfo: ['badRequest'] } };
}

/**
 * The ip/cp/kup for a pipeline result, recording what the transaction waits for next. With
 * `claimedConfirmed` the row was claimed as `confirmed` already (implicit confirm): an issued
 * certificate needs no second statement (the certificate row names the transaction).
 */
export async function certificateAnswer(
  ex: Exchange,
  txs: Transactions,
  tx: TxProtection,
  certReqId: bigint,
  result: IssuanceResult,
  claimedConfirmed = false,
  privateKeyEnveloped?: Buffer,
): Promise<Buffer> {
  const body = { type: tx.answer, content: encodeCertRepMessage({ response: [statusAnswer(certReqId, result, privateKeyEnveloped)] }) };
  if (result.status !== 'issued') {
    await txs.set(ex.txid, { state: result.status === 'pending' ? 'pending' : 'failed', serverNonce: ex.nonce.toString('hex'), requestId: result.requestId });
    return answer(ex, body);
  }
  const c = result.certificate;
  const implicit = tx.implicit;
  if (!(implicit && claimedConfirmed)) await txs.set(ex.txid, {
    state: implicit ? 'confirmed' : 'waiting',
    serverNonce: ex.nonce.toString('hex'),
    issuerId: c.issuerId,
    serial: c.serial,
    certDer: c.der,
    confirmBy: implicit ? null : new Date(Date.now() + ex.settings.confirmWaitSeconds * 1000),
  });
  const chain = result.chain.map((d) => Buffer.from(d));
  if (tx.answer === 'ip' && ex.sender?.kind === 'mac') {
    // RFC 9483 §4.1.1: caPubs carries the root for a MAC-authenticated ir (the client had no trust anchor).
    body.content = encodeCertRepMessage({ caPubs: chain.slice(-1), response: [statusAnswer(certReqId, result, privateKeyEnveloped)] });
  }
  return answer(ex, body, { issuerId: c.issuerId, extraCerts: chain, generalInfo: implicit ? [implicitConfirmInfo] : undefined });
}

export async function enroll(ex: Exchange, txs: Transactions, type: EnrollBody): Promise<Buffer> {
  const profile = ex.aliasSettings.profile;
  let p: Parsed;
  try {
    // RFC 9810 §5.3.4: certReqId -1 answers a p10cr (as OpenSSL's own mock server does).
    p = type === 'p10cr' ? { certReqId: -1n, key: { kind: 'csr', der: ex.msg.body.content } } : await parseCrmf(ex, type);
  } catch (e) {
    if (e instanceof CmpFailure) throw e;
    throw new CmpFailure('badDataFormat', `malformed ${type}: ${(e as Error).message}`);
  }
  if (p.central) p.key = { kind: 'generate', spec: await centralSpec(ex, profile, p.central.request) };
  const tx: TxProtection = { how: responseProtection(ex.sender!), implicit: wantsImplicitConfirm(ex.msg) && ex.aliasSettings.implicitConfirm, answer: answerType[type] };
  const row: NewTx = {
    transactionId: ex.txid,
    bodyType: type,
    sender: senderId(ex.sender!),
    alias: ex.alias,
    // Implicit confirm: the row is written in its final state, so the usual path needs no update.
    state: tx.implicit ? 'confirmed' : 'issuing',
    serverNonce: ex.nonce.toString('hex'),
    certReqId: String(p.certReqId),
    protection: tx,
  };
  // Implicit confirm, the usual case, has no statement of its own for the transaction: its row goes
  // in with the certificate, in the certificate's INSERT (claimOnPersist in transactions.ts), and a
  // transactionID used before meets the certificate's idempotency key there (refused below).
  const folded = tx.implicit;
  if (!folded) await txs.claim(row);
  const req: EnrollmentRequest = {
    principal: principalOf(ex, profile),
    profile,
    key: p.key,
    subject: p.subject,
    sans: p.sans,
    validity: p.validity,
    replaces: p.replaces,
    // One certificate per transaction (RFC 9483: one request per message): the key is the
    // transactionID alone, so any enrolment that reuses it meets this key.
    idempotencyKey: ex.txid,
    idempotencyKeyUnused: true,
    metadata: { cmp: { transactionId: ex.txid, alias: ex.alias, body: type, ...(folded ? { claim: claimOf(row) } : {}) } },
  };
  let result: IssuanceResult;
  try {
    result = await ex.ctx.pipeline.issue(req);
  } catch (e) {
    // The transactionID is spent either way (a retry starts a new transaction).
    if (folded) await txs.tryClaim({ ...row, state: 'failed' });
    else await txs.set(ex.txid, { state: 'failed' });
    if (isIssuanceError(e)) throw new CmpFailure(failInfoForError(e), e.message);
    throw e;
  }
  if (folded) {
    // The stored result of this transactionID: a replay, or a reused transactionID.
    if (result.replayed) throw new CmpFailure('transactionIdInUse', 'transactionID already used');
    // Held for approval or refused: no certificate carried the row in; claim the transaction now.
    if (result.status !== 'issued') await txs.claim({ ...row, state: result.status === 'pending' ? 'pending' : 'failed' });
  }
  const envelope = p.central && result.status === 'issued' ? await centralKeyEnvelope(ex, result, p.central.recipient) : undefined;
  return certificateAnswer(ex, txs, tx, p.certReqId, result, true, envelope);
}

/** The key type for central generation; refused where the key could not be delivered later. */
async function centralSpec(ex: Exchange, profileName: string, request: { algorithm?: string; curve?: string }): Promise<KeySpec> {
  const profile = await ex.ctx.profiles.get(profileName);
  if (!profile) throw new CmpFailure('notAuthorized', `unknown profile ${profileName}`);
  // The generated key exists only in the answer: a request held for approval could never get it.
  if (profile.manualApproval) throw new CmpFailure('badCertTemplate', 'central key generation is not offered where certificates need manual approval');
  return centralKeySpec(request, profile);
}

async function centralKeyEnvelope(ex: Exchange, result: Extract<IssuanceResult, { status: 'issued' }>, recipient: EnvelopeRecipient): Promise<Buffer> {
  if (!result.privateKey) throw new CmpFailure('systemFailure', 'the generated key is not available');
  return privateKeyEnvelope(ex.ctx, result.certificate.issuerId, result.privateKey, recipient);
}

/** certConf certHash (RFC 9810 §5.3.18): the certificate's signature digest unless hashAlg names one. */
export function certHash(certDer: Uint8Array, hashName: string): Buffer {
  return createHash(hashName).update(certDer).digest();
}
