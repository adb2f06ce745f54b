/**
 * PBMParameter: the PasswordBasedMac protection of CMP (RFC 4211 §4.4, RFC 9481 §6.1.1 "shared
 * secret"), as OpenSSL computes it: basekey = OWF(secret || salt), then OWF applied to the
 * basekey iterationCount - 1 more times; the MAC is HMAC(basekey, ProtectedPart).
 *
 *   id-PasswordBasedMac OBJECT IDENTIFIER ::= { 1 2 840 113533 7 66 13 }
 *   PBMParameter ::= SEQUENCE {
 *     salt           OCTET STRING,
 *     owf            AlgorithmIdentifier,   -- a hash: SHA-1, SHA-2
 *     iterationCount INTEGER,
 *     mac            AlgorithmIdentifier }  -- an HMAC
 */
import { createHash, createHmac, hash } from 'node:crypto';
import { Tag, childList, decodeInteger, integer, octetString, readTlv, seq, type Tlv } from './der.ts';
import { decodeAlgorithmIdentifier, encodeAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm-identifier.ts';
import { sha256Chain } from './sha256-chain.ts';

export const PASSWORD_BASED_MAC = '1.2.840.113533.7.66.13';

/** OWF (hash) OIDs → node:crypto names. */
export const owfByOid: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** HMAC OIDs (RFC 3370 hmac-sha1 from IPsec, and RFC 8018's hmacWithSHA*) → hash names. */
export const hmacByOid: Record<string, string> = {
  '1.3.6.1.5.5.8.1.2': 'sha1',
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

export interface PBMParameter {
  salt: Buffer;
  owf: AlgorithmIdentifier;
  iterationCount: number;
  mac: AlgorithmIdentifier;
}

export function decodePbmParameter(buf: Uint8Array, t: Tlv): PBMParameter {
  if (t.tag !== Tag.SEQUENCE) throw new Error('PBMParameter: not a SEQUENCE');
  const f = childList(buf, t);
  if (f.length !== 4 || f[0].tag !== Tag.OCTET_STRING || f[2].tag !== Tag.INTEGER || f[2].length > 4) throw new Error('PBMParameter: malformed');
  const count = decodeInteger(buf, f[2].start, f[2].end);
  return {
    salt: Buffer.from(buf.subarray(f[0].start, f[0].end)),
    owf: decodeAlgorithmIdentifier(buf, f[1]),
    iterationCount: Number(count),
    mac: decodeAlgorithmIdentifier(buf, f[3]),
  };
}

/** From the protectionAlg parameters DER. */
export function pbmParameterFromDer(der: Uint8Array): PBMParameter {
  const t = readTlv(der, 0);
  if (t.end !== der.length) throw new Error('PBMParameter: trailing data');
  return decodePbmParameter(der, t);
}

export function encodePbmParameter(p: PBMParameter): Buffer {
  return seq(octetString(p.salt), encodeAlgorithmIdentifier(p.owf), integer(p.iterationCount), encodeAlgorithmIdentifier(p.mac));
}

/** The base key (the HMAC key); throws on an unknown OWF (callers check the count range first). */
export function pbmKey(p: PBMParameter, secret: Uint8Array): Buffer {
  const owf = owfByOid[p.owf.oid];
  if (!owf) throw new Error('PBMParameter: unsupported OWF');
  if (!Number.isInteger(p.iterationCount) || p.iterationCount < 1) throw new Error('PBMParameter: bad iteration count');
  let key = createHash(owf).update(secret).update(p.salt).digest();
  // SHA-256 (OpenSSL's default OWF): one-block compressions in JS, ~3x faster than a call each.
  if (owf === 'sha256') return sha256Chain(key, p.iterationCount - 1);
  // crypto.hash (one-shot, no Hash object) is ~3x faster than createHash for these short inputs.
  for (let i = 1; i < p.iterationCount; i++) key = hash(owf, key, 'buffer');
  return key;
}

/** The MAC over `data`; throws on an unknown OWF or MAC algorithm. */
export function pbmMac(p: PBMParameter, secret: Uint8Array, data: Uint8Array): Buffer {
  const mac = hmacByOid[p.mac.oid];
  if (!mac) throw new Error('PBMParameter: unsupported MAC algorithm');
  return createHmac(mac, pbmKey(p, secret)).update(data).digest();
}
