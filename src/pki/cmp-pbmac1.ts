/**
 * PBMAC1 (RFC 8018 §7.1, for CMP RFC 9481 §6.1.2): HMAC keyed by PBKDF2(secret).
 *
 *   id-PBMAC1 OBJECT IDENTIFIER ::= { 1 2 840 113549 1 5 14 }
 *   PBMAC1-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier {{PBMAC1-KDFs}},
 *                                messageAuthScheme AlgorithmIdentifier {{PBMAC1-MACs}} }
 *   id-PBKDF2 OBJECT IDENTIFIER ::= { 1 2 840 113549 1 5 12 }
 *   PBKDF2-params ::= SEQUENCE {
 *     salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier },
 *     iterationCount INTEGER (1..MAX),
 *     keyLength INTEGER (1..MAX) OPTIONAL,
 *     prf AlgorithmIdentifier DEFAULT algid-hmacWithSHA1 }
 */
import { createHmac, pbkdf2Sync } from 'node:crypto';
import { Tag, childList, decodeInteger, integer, octetString, oid, readTlv, seq, type Tlv } from './der.ts';
import { decodeAlgorithmIdentifier, encodeAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm-identifier.ts';
import { hmacByOid } from './cmp-pbm.ts';

export const PBMAC1 = '1.2.840.113549.1.5.14';
export const PBKDF2 = '1.2.840.113549.1.5.12';

export interface Pbmac1Parameter {
  salt: Buffer;
  iterationCount: number;
  keyLength?: number;
  /** PBKDF2 PRF (an HMAC OID); default hmacWithSHA1. */
  prf: AlgorithmIdentifier;
  /** The MAC (an HMAC OID). */
  mac: AlgorithmIdentifier;
}

function decodePbkdf2(buf: Uint8Array, t: Tlv): Omit<Pbmac1Parameter, 'mac'> {
  if (t.tag !== Tag.SEQUENCE) throw new Error('PBKDF2-params: not a SEQUENCE');
  const f = childList(buf, t);
  if (f.length < 2 || f[0].tag !== Tag.OCTET_STRING || f[1].tag !== Tag.INTEGER || f[1].length > 4) throw new Error('PBKDF2-params: malformed');
  const out: Omit<Pbmac1Parameter, 'mac'> = {
    salt: Buffer.from(buf.subarray(f[0].start, f[0].end)),
    iterationCount: Number(decodeInteger(buf, f[1].start, f[1].end)),
    prf: { oid: '1.2.840.113549.2.7' },
  };
  for (const x of f.slice(2)) {
    if (x.tag === Tag.INTEGER && x.length <= 2 && out.keyLength === undefined) out.keyLength = Number(decodeInteger(buf, x.start, x.end));
    else if (x.tag === Tag.SEQUENCE) out.prf = decodeAlgorithmIdentifier(buf, x);
    else throw new Error('PBKDF2-params: unexpected field');
  }
  return out;
}

export function pbmac1ParameterFromDer(der: Uint8Array): Pbmac1Parameter {
  const t = readTlv(der, 0);
  if (t.tag !== Tag.SEQUENCE || t.end !== der.length) throw new Error('PBMAC1-params: malformed');
  const f = childList(der, t);
  if (f.length !== 2) throw new Error('PBMAC1-params: malformed');
  const kdf = decodeAlgorithmIdentifier(der, f[0]);
  if (kdf.oid !== PBKDF2 || !kdf.params) throw new Error('PBMAC1-params: key derivation is not PBKDF2');
  return { ...decodePbkdf2(kdf.params, readTlv(kdf.params, 0)), mac: decodeAlgorithmIdentifier(der, f[1]) };
}

export function encodePbmac1Parameter(p: Pbmac1Parameter): Buffer {
  const kdf = [octetString(p.salt), integer(p.iterationCount)];
  if (p.keyLength !== undefined) kdf.push(integer(p.keyLength));
  kdf.push(encodeAlgorithmIdentifier(p.prf));
  return seq(seq(oid(PBKDF2), seq(...kdf)), encodeAlgorithmIdentifier(p.mac));
}

const hashLength: Record<string, number> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

/** The PBKDF2-derived HMAC key. */
export function pbmac1Key(p: Pbmac1Parameter, secret: Uint8Array): Buffer {
  const prf = hmacByOid[p.prf.oid];
  const mac = hmacByOid[p.mac.oid];
  if (!prf || !mac) throw new Error('PBMAC1: unsupported PRF or MAC');
  const len = p.keyLength ?? hashLength[mac];
  if (len < 16 || len > 64) throw new Error('PBMAC1: unsupported key length');
  return pbkdf2Sync(secret, p.salt, p.iterationCount, len, prf);
}

export function pbmac1Mac(p: Pbmac1Parameter, secret: Uint8Array, data: Uint8Array): Buffer {
  return createHmac(hmacByOid[p.mac.oid], pbmac1Key(p, secret)).update(data).digest();
}
