/**
 * CertRepMessage, CertResponse and CertifiedKeyPair (RFC 9810 §5.3.4): the ip, cp and kup bodies.
 *
 *   CertRepMessage ::= SEQUENCE {
 *     caPubs    [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL,
 *     response      SEQUENCE OF CertResponse }
 *   CertResponse ::= SEQUENCE {
 *     certReqId        INTEGER,
 *     status           PKIStatusInfo,
 *     certifiedKeyPair CertifiedKeyPair OPTIONAL,
 *     rspInfo          OCTET STRING OPTIONAL }
 *   CertifiedKeyPair ::= SEQUENCE {
 *     certOrEncCert    CertOrEncCert,
 *     privateKey       [0] EncryptedKey OPTIONAL,
 *     publicationInfo  [1] PKIPublicationInfo OPTIONAL }
 *   CertOrEncCert ::= CHOICE { certificate [0] CMPCertificate, encryptedCert [1] EncryptedKey }
 *   EncryptedKey ::= CHOICE { encryptedValue EncryptedValue, envelopedData [0] EnvelopedData }
 *
 * Certgate writes `certificate` and, for central key generation, `privateKey` as envelopedData.
 */
import { Tag, childList, decodeInteger, explicit, integer, readTlv, seq, tlvBytes, type Tlv } from './der.ts';
import { decodeStatusInfo, encodeStatusInfo, type PKIStatusInfo } from './cmp-status-info.ts';

export interface CertResponse {
  certReqId: bigint;
  status: PKIStatusInfo;
  /** Certificate DER. */
  certificate?: Buffer;
  /** EnvelopedData DER (a ContentInfo's content) holding the private key (RFC 9483 §4.1.6). */
  privateKeyEnveloped?: Buffer;
}

export interface CertRepMessage {
  caPubs?: Buffer[];
  response: CertResponse[];
}

function decodeCertifiedKeyPair(buf: Uint8Array, t: Tlv, out: CertResponse): void {
  const f = childList(buf, t);
  if (f.length < 1 || f[0].tag !== 0xa0) throw new Error('CertifiedKeyPair: only certificate is supported');
  const cert = readTlv(buf, f[0].start);
  if (cert.tag !== Tag.SEQUENCE || cert.end !== f[0].end) throw new Error('CertifiedKeyPair: malformed certificate');
  out.certificate = Buffer.from(tlvBytes(buf, cert));
  for (const x of f.slice(1)) {
    if (x.tag !== 0xa0) continue;
    const ek = readTlv(buf, x.start);
    if (ek.tag !== 0xa0) throw new Error('CertifiedKeyPair: privateKey is not envelopedData');
    out.privateKeyEnveloped = seq(buf.subarray(ek.start, ek.end));
  }
}

export function decodeCertRepMessage(buf: Uint8Array, t: Tlv): CertRepMessage {
  if (t.tag !== Tag.SEQUENCE) throw new Error('CertRepMessage: not a SEQUENCE');
  const f = childList(buf, t);
  const out: CertRepMessage = { response: [] };
  let i = 0;
  if (f[0]?.tag === 0xa1) {
    const inner = readTlv(buf, f[0].start);
    out.caPubs = childList(buf, inner).map((c) => Buffer.from(tlvBytes(buf, c)));
    i = 1;
  }
  const list = f[i];
  if (!list || list.tag !== Tag.SEQUENCE || f.length !== i + 1) throw new Error('CertRepMessage: malformed');
  for (const r of childList(buf, list)) {
    const g = childList(buf, r);
    if (g.length < 2 || g[0].tag !== Tag.INTEGER) throw new Error('CertResponse: malformed');
    const cr: CertResponse = { certReqId: decodeInteger(buf, g[0].start, g[0].end), status: decodeStatusInfo(buf, g[1]) };
    if (g[2]?.tag === Tag.SEQUENCE) decodeCertifiedKeyPair(buf, g[2], cr);
    out.response.push(cr);
  }
  return out;
}

export function encodeCertRepMessage(m: CertRepMessage): Buffer {
  const responses = m.response.map((r) => {
    const parts = [integer(r.certReqId), encodeStatusInfo(r.status)];
    if (r.certificate) {
      const kp = [explicit(0, r.certificate)];
      // privateKey [0] EncryptedKey; EncryptedKey's envelopedData [0] is IMPLICIT (CRMF module).
      if (r.privateKeyEnveloped) kp.push(explicit(0, explicit(0, r.privateKeyEnveloped.subarray(readTlv(r.privateKeyEnveloped).start))));
      parts.push(seq(...kp));
    }
    return seq(...parts);
  });
  const parts: Buffer[] = [];
  if (m.caPubs?.length) parts.push(explicit(1, seq(...m.caPubs)));
  parts.push(seq(...responses));
  return seq(...parts);
}
