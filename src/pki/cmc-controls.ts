/**
 * The values of the CMC controls Certgate reads and writes (RFC 5272 §6):
 *
 *   id-cmc-transactionId    TransactionId ::= INTEGER
 *   id-cmc-senderNonce      SenderNonce ::= OCTET STRING
 *   id-cmc-recipientNonce   RecipientNonce ::= OCTET STRING
 *   id-cmc-identification   UTF8String
 *   id-cmc-identityProof    OCTET STRING      -- HMAC-SHA1 keyed with SHA-1(shared secret)
 *   id-cmc-identityProofV2  IdentityProofV2 ::= SEQUENCE {
 *       proofAlgID     AlgorithmIdentifier,   -- hash applied to the shared secret → MAC key
 *       macAlgId       AlgorithmIdentifier,   -- HMAC
 *       witness        OCTET STRING }         -- MAC over the DER of reqSequence
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Tag, childList, decodeInteger, integer, nullValue, octetString, oid, readOid, readTlv, seq, utf8String } from './der.ts';

const hashOids: Record<string, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const hmacOids: Record<string, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = {
  '1.3.6.1.5.5.8.1.2': 'sha1',
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

export function decodeTransactionId(v: Uint8Array): bigint {
  const t = readTlv(v, 0);
  if (t.tag !== Tag.INTEGER || t.end !== v.length) throw new Error('CMC: transactionId is not an INTEGER');
  return decodeInteger(v, t.start, t.end);
}
/** The INTEGER as received, re-encodable verbatim in the response. */
export const encodeTransactionId = (n: bigint): Buffer => integer(n);

export function decodeOctets(v: Uint8Array, what: string): Buffer {
  const t = readTlv(v, 0);
  if (t.tag !== Tag.OCTET_STRING || t.end !== v.length) throw new Error(`CMC: ${what} is not an OCTET STRING`);
  return Buffer.from(v.subarray(t.start, t.end));
}
export const encodeNonce = (n: Uint8Array): Buffer => octetString(n);

export function decodeIdentification(v: Uint8Array): string {
  const t = readTlv(v, 0);
  if (t.tag !== Tag.UTF8_STRING || t.end !== v.length) throw new Error('CMC: identification is not a UTF8String');
  return Buffer.from(v.subarray(t.start, t.end)).toString('utf8');
}
export const encodeIdentification = (s: string): Buffer => utf8String(s);

export interface IdentityProofV2 {
  proofHash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  macHash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  witness: Buffer;
}

export function decodeIdentityProofV2(v: Uint8Array): IdentityProofV2 {
  const t = readTlv(v, 0);
  const [proof, mac, witness] = t.tag === Tag.SEQUENCE ? childList(v, t) : [];
  if (!proof || !mac || witness?.tag !== Tag.OCTET_STRING) throw new Error('CMC: malformed IdentityProofV2');
  const algOid = (a: typeof proof) => readOid(v, readTlv(v, a.start));
  const proofHash = hashOids[algOid(proof)];
  const macHash = hmacOids[algOid(mac)];
  if (!proofHash || !macHash) throw new Error('CMC: unsupported identityProofV2 algorithm');
  return { proofHash, macHash, witness: Buffer.from(v.subarray(witness.start, witness.end)) };
}

export function encodeIdentityProofV2(p: IdentityProofV2): Buffer {
  const hashOid = Object.keys(hashOids).find((k) => hashOids[k] === p.proofHash)!;
  const macOid = p.macHash === 'sha1' ? '1.3.6.1.5.5.8.1.2' : Object.keys(hmacOids).find((k) => hmacOids[k] === p.macHash)!;
  return seq(seq(oid(hashOid)), seq(oid(macOid), nullValue()), octetString(p.witness));
}

/** identityProofV2 witness: HMAC-<mac>(key = <proof>(sharedSecret), DER of reqSequence). */
export function identityWitness(p: Pick<IdentityProofV2, 'proofHash' | 'macHash'>, sharedSecret: Uint8Array, reqSequenceDer: Uint8Array): Buffer {
  const key = createHash(p.proofHash).update(sharedSecret).digest();
  return createHmac(p.macHash, key).update(reqSequenceDer).digest();
}

/** Constant-time check of an identityProof (V1: SHA-1 / HMAC-SHA1) or identityProofV2. */
export function identityProofMatches(p: IdentityProofV2, sharedSecret: Uint8Array, reqSequenceDer: Uint8Array): boolean {
  const want = identityWitness(p, sharedSecret, reqSequenceDer);
  return want.length === p.witness.length && timingSafeEqual(want, p.witness);
}

