/**
 * PKIMessage and ProtectedPart (RFC 9810 §5.1).
 *
 *   PKIMessage ::= SEQUENCE {
 *     header      PKIHeader,
 *     body        PKIBody,
 *     protection  [0] PKIProtection OPTIONAL,
 *     extraCerts  [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL }
 *   PKIProtection ::= BIT STRING
 *   ProtectedPart ::= SEQUENCE { header PKIHeader, body PKIBody }
 *
 * The decoder keeps the received header and body bytes: protection is checked over exactly them.
 */
import { Tag, bitString, childList, explicit, readTlv, seq, tlvBytes } from './der.ts';
import { decodeBody, encodeBody, type PKIBody } from './cmp-body.ts';
import { decodeHeader, encodeHeader, type PKIHeader } from './cmp-header.ts';

export interface PKIMessage {
  header: PKIHeader;
  body: PKIBody;
  /** The protection BIT STRING's bytes (no unused-bits octet). */
  protection?: Buffer;
  extraCerts?: Buffer[];
}

export interface DecodedPKIMessage extends PKIMessage {
  /** DER of ProtectedPart built from the received header and body bytes. */
  protectedPart: Buffer;
}

/** The most extraCerts a message may carry (a chain or two; beyond that it is an attack). */
const MAX_EXTRA_CERTS = 16;

export function decodePKIMessage(der: Uint8Array): DecodedPKIMessage {
  const top = readTlv(der, 0);
  if (top.tag !== Tag.SEQUENCE || top.end !== der.length) throw new Error('PKIMessage: not a single SEQUENCE');
  const f = childList(der, top);
  if (f.length < 2 || f.length > 4) throw new Error('PKIMessage: wrong number of fields');
  const header = decodeHeader(der, f[0]);
  const body = decodeBody(der, f[1]);
  const msg: DecodedPKIMessage = { header, body, protectedPart: seq(tlvBytes(der, f[0]), tlvBytes(der, f[1])) };
  let last = -1;
  for (const x of f.slice(2)) {
    const n = x.tag - 0xa0;
    if ((n !== 0 && n !== 1) || n <= last) throw new Error('PKIMessage: unexpected field');
    last = n;
    const inner = readTlv(der, x.start);
    if (inner.end !== x.end) throw new Error('PKIMessage: trailing data');
    if (n === 0) {
      if (inner.tag !== Tag.BIT_STRING || inner.length < 1 || der[inner.start] !== 0) throw new Error('PKIMessage: protection is not an octet-aligned BIT STRING');
      msg.protection = Buffer.from(der.subarray(inner.start + 1, inner.end));
    } else {
      if (inner.tag !== Tag.SEQUENCE) throw new Error('PKIMessage: extraCerts is not a SEQUENCE');
      const certs = childList(der, inner);
      if (certs.length > MAX_EXTRA_CERTS) throw new Error('PKIMessage: too many extraCerts');
      msg.extraCerts = certs.map((c) => {
        if (c.tag !== Tag.SEQUENCE) throw new Error('PKIMessage: an extraCert is not a SEQUENCE');
        return Buffer.from(tlvBytes(der, c));
      });
    }
  }
  return msg;
}

/** ProtectedPart DER for a message to be protected. */
export function protectedPartOf(header: PKIHeader, body: PKIBody): Buffer {
  return seq(encodeHeader(header), encodeBody(body));
}

export function encodePKIMessage(m: PKIMessage): Buffer {
  const parts: Buffer[] = [encodeHeader(m.header), encodeBody(m.body)];
  if (m.protection) parts.push(explicit(0, bitString(m.protection)));
  if (m.extraCerts?.length) parts.push(explicit(1, seq(...m.extraCerts)));
  return seq(...parts);
}
