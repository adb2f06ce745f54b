/**
 * PKIHeader (RFC 9810 §5.1.1). The CMP module uses EXPLICIT tags.
 *
 *   PKIHeader ::= SEQUENCE {
 *     pvno          INTEGER { cmp1999(1), cmp2000(2), cmp2021(3) },
 *     sender        GeneralName,
 *     recipient     GeneralName,
 *     messageTime   [0] GeneralizedTime OPTIONAL,
 *     protectionAlg [1] AlgorithmIdentifier OPTIONAL,
 *     senderKID     [2] KeyIdentifier OPTIONAL,
 *     recipKID      [3] KeyIdentifier OPTIONAL,
 *     transactionID [4] OCTET STRING OPTIONAL,
 *     senderNonce   [5] OCTET STRING OPTIONAL,
 *     recipNonce    [6] OCTET STRING OPTIONAL,
 *     freeText      [7] PKIFreeText OPTIONAL,
 *     generalInfo   [8] SEQUENCE SIZE (1..MAX) OF InfoTypeAndValue OPTIONAL }
 *
 * sender and recipient are kept as their raw GeneralName encodings.
 */
import { Tag, childList, decodeInteger, decodeTime, explicit, generalizedTime, integer, octetString, readTlv, seq, tlvBytes, type Tlv } from './der.ts';
import { decodeAlgorithmIdentifier, encodeAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm-identifier.ts';
import { decodeFreeText, encodeFreeText } from './cmp-free-text.ts';
import { decodeInfoTypeAndValue, encodeInfoTypeAndValue, type InfoTypeAndValue } from './cmp-info-type-value.ts';

export interface PKIHeader {
  pvno: number;
  /** GeneralName DER. */
  sender: Buffer;
  recipient: Buffer;
  messageTime?: Date;
  protectionAlg?: AlgorithmIdentifier;
  senderKID?: Buffer;
  recipKID?: Buffer;
  transactionID?: Buffer;
  senderNonce?: Buffer;
  recipNonce?: Buffer;
  freeText?: string[];
  generalInfo?: InfoTypeAndValue[];
}

/** The NULL-DN GeneralName (directoryName of an empty SEQUENCE): "sender unknown". */
export const NULL_DN_NAME = Buffer.from([0xa4, 0x02, 0x30, 0x00]);

/** GeneralName directoryName [4] Name → the Name DER, when it is one. */
export function directoryName(generalName: Uint8Array): Buffer | undefined {
  const t = readTlv(generalName, 0);
  if (t.tag !== 0xa4) return undefined;
  const inner = readTlv(generalName, t.start);
  if (inner.tag !== Tag.SEQUENCE || inner.end !== t.end) return undefined;
  return Buffer.from(tlvBytes(generalName, inner));
}

/** A Name DER as a directoryName GeneralName. */
export function directoryGeneralName(nameDer: Uint8Array): Buffer {
  return explicit(4, nameDer);
}

const octets = (buf: Uint8Array, t: Tlv, what: string): Buffer => {
  if (t.tag !== Tag.OCTET_STRING) throw new Error(`PKIHeader: ${what} is not an OCTET STRING`);
  return Buffer.from(buf.subarray(t.start, t.end));
};

export function decodeHeader(buf: Uint8Array, t: Tlv): PKIHeader {
  if (t.tag !== Tag.SEQUENCE) throw new Error('PKIHeader: not a SEQUENCE');
  const f = childList(buf, t);
  if (f.length < 3 || f[0].tag !== Tag.INTEGER || f[0].length > 4) throw new Error('PKIHeader: pvno/sender/recipient missing');
  const h: PKIHeader = {
    pvno: Number(decodeInteger(buf, f[0].start, f[0].end)),
    sender: Buffer.from(tlvBytes(buf, f[1])),
    recipient: Buffer.from(tlvBytes(buf, f[2])),
  };
  let last = -1;
  for (const x of f.slice(3)) {
    const n = x.tag - 0xa0;
    if (n < 0 || n > 8 || n <= last) throw new Error('PKIHeader: unexpected or out-of-order field');
    last = n;
    const inner = readTlv(buf, x.start);
    if (inner.end !== x.end) throw new Error('PKIHeader: trailing data in a tagged field');
    switch (n) {
      case 0:
        if (inner.tag !== Tag.GENERALIZED_TIME) throw new Error('PKIHeader: messageTime is not a GeneralizedTime');
        h.messageTime = decodeTime(buf, inner);
        break;
      case 1: h.protectionAlg = decodeAlgorithmIdentifier(buf, inner); break;
      case 2: h.senderKID = octets(buf, inner, 'senderKID'); break;
      case 3: h.recipKID = octets(buf, inner, 'recipKID'); break;
      case 4: h.transactionID = octets(buf, inner, 'transactionID'); break;
      case 5: h.senderNonce = octets(buf, inner, 'senderNonce'); break;
      case 6: h.recipNonce = octets(buf, inner, 'recipNonce'); break;
      case 7: h.freeText = decodeFreeText(buf, inner); break;
      case 8:
        if (inner.tag !== Tag.SEQUENCE) throw new Error('PKIHeader: generalInfo is not a SEQUENCE');
        h.generalInfo = childList(buf, inner).map((i) => decodeInfoTypeAndValue(buf, i));
        break;
    }
  }
  return h;
}

export function encodeHeader(h: PKIHeader): Buffer {
  const parts: Buffer[] = [integer(h.pvno), h.sender, h.recipient];
  if (h.messageTime) parts.push(explicit(0, generalizedTime(h.messageTime)));
  if (h.protectionAlg) parts.push(explicit(1, encodeAlgorithmIdentifier(h.protectionAlg)));
  if (h.senderKID) parts.push(explicit(2, octetString(h.senderKID)));
  if (h.recipKID) parts.push(explicit(3, octetString(h.recipKID)));
  if (h.transactionID) parts.push(explicit(4, octetString(h.transactionID)));
  if (h.senderNonce) parts.push(explicit(5, octetString(h.senderNonce)));
  if (h.recipNonce) parts.push(explicit(6, octetString(h.recipNonce)));
  if (h.freeText?.length) parts.push(explicit(7, encodeFreeText(h.freeText)));
  if (h.generalInfo?.length) parts.push(explicit(8, seq(...h.generalInfo.map(encodeInfoTypeAndValue))));
  return seq(...parts);
}
