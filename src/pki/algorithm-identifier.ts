/**
 * AlgorithmIdentifier (RFC 5280 §4.1.1.2), kept with its parameters as raw DER.
 *
 *   AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY DEFINED BY algorithm OPTIONAL }
 */
import { Tag, expectTlv, oid, readOid, readTlv, seq, tlvBytes, type Tlv } from './der.ts';

export interface AlgorithmIdentifier {
  oid: string;
  /** The parameters TLV (whole encoding), when present. */
  params?: Buffer;
}

export function decodeAlgorithmIdentifier(buf: Uint8Array, t: Tlv): AlgorithmIdentifier {
  if (t.tag !== Tag.SEQUENCE) throw new Error('AlgorithmIdentifier: not a SEQUENCE');
  const o = expectTlv(buf, t.start, Tag.OID, 'algorithm');
  let params: Buffer | undefined;
  if (o.end < t.end) {
    const p = readTlv(buf, o.end);
    if (p.end !== t.end) throw new Error('AlgorithmIdentifier: trailing data');
    params = Buffer.from(tlvBytes(buf, p));
  }
  return { oid: readOid(buf, o), params };
}

export function encodeAlgorithmIdentifier(a: AlgorithmIdentifier): Buffer {
  return a.params ? seq(oid(a.oid), a.params) : seq(oid(a.oid));
}
