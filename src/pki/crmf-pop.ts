/**
 * ProofOfPossession and POPOSigningKey (RFC 4211 §4). IMPLICIT tags.
 *
 *   ProofOfPossession ::= CHOICE {
 *     raVerified      [0] NULL,
 *     signature       [1] POPOSigningKey,
 *     keyEncipherment [2] POPOPrivKey,
 *     keyAgreement    [3] POPOPrivKey }
 *   POPOSigningKey ::= SEQUENCE {
 *     poposkInput         [0] POPOSigningKeyInput OPTIONAL,
 *     algorithmIdentifier AlgorithmIdentifier,
 *     signature           BIT STRING }
 *
 * When poposkInput is absent the signature is over the DER of the CertRequest (§4.1).
 */
import { Tag, bitString, childList, implicitConstructed, tlvBytes, type Tlv } from './der.ts';
import { decodeAlgorithmIdentifier, encodeAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm-identifier.ts';

export type ProofOfPossession =
  | { kind: 'raVerified' }
  | { kind: 'signature'; poposkInput?: Buffer; algorithm: AlgorithmIdentifier; signature: Buffer }
  | { kind: 'keyEncipherment' | 'keyAgreement'; raw: Buffer };

export function decodePop(buf: Uint8Array, t: Tlv): ProofOfPossession {
  switch (t.tag) {
    case 0x80:
      if (t.length !== 0) throw new Error('ProofOfPossession: raVerified is not NULL');
      return { kind: 'raVerified' };
    case 0xa1: {
      const f = childList(buf, t);
      let i = 0;
      let poposkInput: Buffer | undefined;
      if (f[0]?.tag === 0xa0) poposkInput = Buffer.from(tlvBytes(buf, f[i++]));
      const a = f[i];
      const s = f[i + 1];
      if (!a || !s || f.length !== i + 2 || s.tag !== Tag.BIT_STRING || s.length < 1 || buf[s.start] !== 0) {
        throw new Error('POPOSigningKey: malformed');
      }
      return { kind: 'signature', poposkInput, algorithm: decodeAlgorithmIdentifier(buf, a), signature: Buffer.from(buf.subarray(s.start + 1, s.end)) };
    }
    case 0xa2:
    case 0xa3:
      return { kind: t.tag === 0xa2 ? 'keyEncipherment' : 'keyAgreement', raw: Buffer.from(tlvBytes(buf, t)) };
    default:
      throw new Error('ProofOfPossession: unknown choice');
  }
}

export function encodePop(p: ProofOfPossession): Buffer {
  if (p.kind === 'raVerified') return Buffer.from([0x80, 0x00]);
  if (p.kind === 'signature') {
    const parts: Buffer[] = [];
    if (p.poposkInput) parts.push(p.poposkInput);
    parts.push(encodeAlgorithmIdentifier(p.algorithm), bitString(p.signature));
    return implicitConstructed(1, ...parts);
  }
  return p.raw;
}
