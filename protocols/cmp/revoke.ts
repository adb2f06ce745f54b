/**
 * rr → rp (RFC 9810 §5.3.9-10, RFC 9483 §4.2): revocation of one certificate named by issuer and
 * serial, by its holder (signature with that certificate) or by the reference that enrolled it.
 */
import { parseCertificate } from '../../src/pki/certificate.ts';
import { decodeRevReqContent } from '../../src/pki/cmp-rev-req.ts';
import { encodeRevRepContent } from '../../src/pki/cmp-rev-rep.ts';
import { PKIStatus } from '../../src/pki/cmp-status-info.ts';
import { readTlv } from '../../src/pki/der.ts';
import { answer, type Exchange } from './exchange.ts';
import { CmpFailure } from './failures.ts';
import { responseProtection, senderId } from './protection.ts';
import type { Transactions } from './transactions.ts';

/** CRL reasons a client may give (RFC 5280 §5.3.1): not certificateHold (6), removeFromCRL (8) or 7. */
const CLIENT_REASONS = new Set([0, 1, 3, 4, 5, 9, 10]);

export async function revoke(ex: Exchange, txs: Transactions): Promise<Buffer> {
  let list;
  try {
    list = decodeRevReqContent(ex.msg.body.content, readTlv(ex.msg.body.content));
  } catch (e) {
    throw new CmpFailure('badDataFormat', `malformed rr: ${(e as Error).message}`);
  }
  if (list.length !== 1) throw new CmpFailure('badRequest', 'exactly one RevDetails per message (RFC 9483 §4.2)');
  const d = list[0];
  const reason = d.reason ?? 0;
  if (!CLIENT_REASONS.has(reason)) throw new CmpFailure('badRequest', `revocation reason ${reason} is not allowed`);
  const serial = d.certDetails.serialNumber?.toString('hex');
  const issuerName = d.certDetails.issuer;
  if (!serial || !issuerName) throw new CmpFailure('badCertId', 'certDetails must name issuer and serialNumber');
  const issuer = ex.ctx.issuers.list().find((i) => Buffer.from(parseCertificate(i.certDer).subject).equals(issuerName));
  await txs.claim({
    transactionId: ex.txid,
    bodyType: 'rr',
    sender: senderId(ex.sender!),
    alias: ex.alias,
    state: 'done',
    serverNonce: ex.nonce.toString('hex'),
    protection: { how: responseProtection(ex.sender!), implicit: false, answer: 'ip' },
  });
  const record = issuer ? await ex.ctx.certificates.bySerial(issuer.id, serial) : undefined;
  if (!record) throw new CmpFailure('badCertId', 'no such certificate');
  const s = ex.sender!;
  const mayRevoke = s.kind === 'signature' ? s.record.id === record.id : record.principalId === `cmp:${senderId(s)}`;
  if (!mayRevoke) throw new CmpFailure('notAuthorized', 'only the holder or the reference that enrolled it may revoke this certificate');
  if (record.status === 'revoked') throw new CmpFailure('certRevoked', 'the certificate is already revoked');
  await ex.ctx.revocation.revoke(record.issuerId, record.serial, reason, `cmp:${senderId(s)}`);
  const content = encodeRevRepContent({ status: [{ status: PKIStatus.accepted }] });
  return answer(ex, { type: 'rp', content }, { issuerId: record.issuerId });
}

