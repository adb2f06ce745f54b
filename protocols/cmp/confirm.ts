/**
 * The second half of a transaction: certConf → pkiConf (RFC 9810 §5.3.18, RFC 9483 §4.1.1) and
 * pollReq → pollRep or the certificate answer (RFC 9483 §4.4). Both must come from the sender
 * that started the transaction and echo our last senderNonce.
 */
import { parseCertificate } from '../../src/pki/certificate.ts';
import { pkiConfBody } from '../../src/pki/cmp-body.ts';
import { decodeCertConfirmContent } from '../../src/pki/cmp-cert-confirm.ts';
import { owfByOid } from '../../src/pki/cmp-pbm.ts';
import { decodePollReqContent, encodePollRepContent } from '../../src/pki/cmp-poll.ts';
import { PKIStatus } from '../../src/pki/cmp-status-info.ts';
import { decodeAlgorithmIdentifier } from '../../src/pki/algorithm-identifier.ts';
import { readTlv } from '../../src/pki/der.ts';
import { signatureHash } from '../../src/pki/signature.ts';
import { timingSafeEqual } from 'node:crypto';
import { answer, type Exchange } from './exchange.ts';
import { certHash, certificateAnswer } from './enroll.ts';
import { CmpFailure } from './failures.ts';
import { senderId } from './protection.ts';
import type { Transactions, TxProtection, TxRow } from './transactions.ts';

/** cessationOfOperation (RFC 5280 §5.3.1): the client refused or never confirmed the certificate. */
export const UNCONFIRMED_REASON = 5;

async function continuing(ex: Exchange, txs: Transactions): Promise<TxRow> {
  const tx = await txs.get(ex.txid);
  if (!tx) throw new CmpFailure('badRequest', 'no such transaction');
  if (tx.sender !== senderId(ex.sender!)) throw new CmpFailure('notAuthorized', 'the transaction belongs to another sender');
  const echoed = ex.msg.header.recipNonce;
  const expected = Buffer.from(tx.serverNonce, 'hex');
  if (!echoed || echoed.length !== expected.length || !timingSafeEqual(echoed, expected)) {
    throw new CmpFailure('badRecipientNonce', 'recipNonce does not match our last senderNonce');
  }
  return tx;
}

function hashNameFor(certDer: Uint8Array, hashAlgOid?: string): string {
  if (hashAlgOid) {
    const h = owfByOid[hashAlgOid];
    if (!h) throw new CmpFailure('badAlg', `unsupported certConf hashAlg ${hashAlgOid}`);
    return h;
  }
  const alg = parseCertificate(certDer).signatureAlgorithm;
  const name = signatureHash(decodeAlgorithmIdentifier(alg, readTlv(alg)).oid);
  if (!name) throw new CmpFailure('badAlg', 'cannot tell the certHash algorithm');
  return name;
}

export async function confirm(ex: Exchange, txs: Transactions): Promise<Buffer> {
  const tx = await continuing(ex, txs);
  if (tx.state !== 'waiting' || !tx.certDer) throw new CmpFailure('badRequest', `nothing to confirm in this transaction (${tx.state})`);
  let statuses;
  try {
    statuses = decodeCertConfirmContent(ex.msg.body.content, readTlv(ex.msg.body.content));
  } catch (e) {
    throw new CmpFailure('badDataFormat', `malformed certConf: ${(e as Error).message}`);
  }
  if (statuses.length > 1) throw new CmpFailure('badRequest', 'one CertStatus per transaction');
  const st = statuses[0];
  // An empty CertConfirmContent rejects every certificate (RFC 9810 §5.3.18).
  let rejected = !st;
  if (st) {
    if (String(st.certReqId) !== tx.certReqId) throw new CmpFailure('badRequest', 'certReqId does not match the request');
    const h = certHash(tx.certDer, hashNameFor(tx.certDer, st.hashAlg?.oid));
    if (h.length !== st.certHash.length || !timingSafeEqual(h, st.certHash)) throw new CmpFailure('badCertId', 'certHash does not match the issued certificate');
    rejected = st.statusInfo !== undefined && st.statusInfo.status === PKIStatus.rejection;
  }
  const moved = await txs.advance(ex.txid, 'waiting', tx.serverNonce, { state: rejected ? 'rejected' : 'confirmed', serverNonce: ex.nonce.toString('hex'), confirmBy: null });
  if (!moved) throw new CmpFailure('badRecipientNonce', 'this certConf was already answered');
  if (rejected) await ex.ctx.revocation.revoke(tx.issuerId!, tx.serial!, UNCONFIRMED_REASON, `cmp:${tx.sender}`);
  return answer(ex, pkiConfBody(), { issuerId: tx.issuerId ?? undefined });
}

export async function poll(ex: Exchange, txs: Transactions): Promise<Buffer> {
  const tx = await continuing(ex, txs);
  let ids: bigint[];
  try {
    ids = decodePollReqContent(ex.msg.body.content, readTlv(ex.msg.body.content));
  } catch (e) {
    throw new CmpFailure('badDataFormat', `malformed pollReq: ${(e as Error).message}`);
  }
  if (ids.length !== 1 || String(ids[0]) !== tx.certReqId) throw new CmpFailure('badRequest', 'pollReq names another certReqId');
  if (tx.state !== 'pending' || !tx.requestId) throw new CmpFailure('badRequest', `nothing to poll in this transaction (${tx.state})`);
  const result = await ex.ctx.pipeline.getRequest(tx.requestId);
  if (result.status === 'pending') {
    const moved = await txs.advance(ex.txid, 'pending', tx.serverNonce, { serverNonce: ex.nonce.toString('hex') });
    if (!moved) throw new CmpFailure('badRecipientNonce', 'this pollReq was already answered');
    const content = encodePollRepContent([{ certReqId: ids[0], checkAfter: ex.settings.pollSeconds, reason: ['awaiting approval'] }]);
    return answer(ex, { type: 'pollRep', content });
  }
  const moved = await txs.advance(ex.txid, 'pending', tx.serverNonce, { state: 'issuing', serverNonce: ex.nonce.toString('hex') });
  if (!moved) throw new CmpFailure('badRecipientNonce', 'this pollReq was already answered');
  return certificateAnswer(ex, txs, tx.protection as TxProtection, ids[0], result);
}
