/**
 * KeyAgreeRecipientInfo (RFC 5652 §6.2.2) with ECDH ephemeral-static (RFC 5753 §3.1): a fresh
 * key pair on the recipient's curve, the shared secret through the ANSI X9.63 KDF
 * (dhSinglePass-stdDH-sha*kdf-scheme), the content-encryption key wrapped with AES key wrap
 * (RFC 3394). Curve → KDF hash and wrap as RFC 9481 §4.1 and RFC 5753 suggest: P-256 SHA-256 and
 * aes128-wrap, P-384 SHA-384 and aes256-wrap, P-521 SHA-512 and aes256-wrap.
 *
 *   KeyAgreeRecipientInfo ::= SEQUENCE {          -- RecipientInfo kari [1] IMPLICIT
 *     version CMSVersion,  -- always set to 3
 *     originator [0] EXPLICIT OriginatorIdentifierOrKey,
 *     ukm [1] EXPLICIT UserKeyingMaterial OPTIONAL,
 *     keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
 *     recipientEncryptedKeys RecipientEncryptedKeys }
 *   OriginatorIdentifierOrKey ::= CHOICE { issuerAndSerialNumber, subjectKeyIdentifier [0],
 *     originatorKey [1] OriginatorPublicKey }
 *   OriginatorPublicKey ::= SEQUENCE { algorithm AlgorithmIdentifier, publicKey BIT STRING }
 *   RecipientEncryptedKeys ::= SEQUENCE OF RecipientEncryptedKey
 *   RecipientEncryptedKey ::= SEQUENCE { rid KeyAgreeRecipientIdentifier, encryptedKey EncryptedKey }
 *   KeyAgreeRecipientIdentifier ::= CHOICE { issuerAndSerialNumber, rKeyId [0] IMPLICIT RecipientKeyIdentifier }
 *
 *   ECC-CMS-SharedInfo ::= SEQUENCE {             -- the X9.63 KDF's SharedInfo (RFC 5753 §7.2)
 *     keyInfo AlgorithmIdentifier,                 -- the key wrap algorithm
 *     entityUInfo [0] EXPLICIT OCTET STRING OPTIONAL,   -- the ukm
 *     suppPubInfo [2] EXPLICIT OCTET STRING }      -- KEK length in bits, 32-bit big-endian
 */
import { createCipheriv, createDecipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { berChildren, berOctets, berOid, berSmallInt, definiteBytes, expectBer, octetString, readBer, type Ber } from './ber.ts';
import { decodeIdentifier, encodeIdentifier, type CmsIdentifier } from './cms-identifier.ts';
import { bitString, explicit, implicitConstructed, integer, octetString as derOctetString, oid, seq } from './der.ts';

export const kariOids = {
  ecPublicKey: '1.2.840.10045.2.1',
  /** What `openssl cms -encrypt` picks by default; read, never written. */
  dhSinglePassSha1: '1.3.133.16.840.63.0.2',
  dhSinglePassSha256: '1.3.132.1.11.1',
  dhSinglePassSha384: '1.3.132.1.11.2',
  dhSinglePassSha512: '1.3.132.1.11.3',
  aes128Wrap: '2.16.840.1.101.3.4.1.5',
  aes192Wrap: '2.16.840.1.101.3.4.1.25',
  aes256Wrap: '2.16.840.1.101.3.4.1.45',
} as const;

type KdfHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';
const kdfHash: Record<string, KdfHash> = {
  [kariOids.dhSinglePassSha1]: 'sha1',
  [kariOids.dhSinglePassSha256]: 'sha256',
  [kariOids.dhSinglePassSha384]: 'sha384',
  [kariOids.dhSinglePassSha512]: 'sha512',
};
const wrapKeyLength: Record<string, 16 | 24 | 32> = { [kariOids.aes128Wrap]: 16, [kariOids.aes192Wrap]: 24, [kariOids.aes256Wrap]: 32 };

/** RFC 3394 default IV. */
const WRAP_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

export interface KeyAgreeRecipientInfo {
  /** The originator's ephemeral public key (SubjectPublicKeyInfo DER, parameters as sent). */
  originatorSpki: Buffer;
  ukm?: Buffer;
  kdfOid: string;
  wrapOid: string;
  recipients: { rid: CmsIdentifier; encryptedKey: Buffer }[];
}

/** ANSI X9.63 KDF (SEC 1 §3.6.1): Hash(Z ‖ counter ‖ SharedInfo) for counter = 1, 2, … */
export function x963Kdf(hash: KdfHash, z: Uint8Array, sharedInfo: Uint8Array, length: number): Buffer {
  const out: Buffer[] = [];
  for (let counter = 1, got = 0; got < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(z).update(c).update(sharedInfo).digest();
    out.push(block);
    got += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

function sharedInfo(wrapOid: string, kekBytes: number, ukm?: Buffer): Buffer {
  const bits = Buffer.alloc(4);
  bits.writeUInt32BE(kekBytes * 8);
  const parts = [seq(oid(wrapOid))];
  if (ukm) parts.push(explicit(0, derOctetString(ukm)));
  parts.push(explicit(2, derOctetString(bits)));
  return seq(...parts);
}

function schemeForCurve(curve: string | undefined): { kdf: string; wrap: string } {
  if (curve === 'prime256v1' || curve === 'P-256') return { kdf: kariOids.dhSinglePassSha256, wrap: kariOids.aes128Wrap };
  if (curve === 'secp384r1' || curve === 'P-384') return { kdf: kariOids.dhSinglePassSha384, wrap: kariOids.aes256Wrap };
  if (curve === 'secp521r1' || curve === 'P-521') return { kdf: kariOids.dhSinglePassSha512, wrap: kariOids.aes256Wrap };
  throw new Error(`key agreement supports the curves P-256, P-384 and P-521, not ${curve ?? 'this key'}`);
}

function kek(z: Buffer, kdfOid: string, wrapOid: string, ukm?: Buffer): Buffer {
  const hash = kdfHash[kdfOid];
  const len = wrapKeyLength[wrapOid];
  if (!hash || !len) throw new Error('unsupported key agreement or key wrap algorithm');
  return x963Kdf(hash, z, sharedInfo(wrapOid, len, ukm), len);
}

const wrapCipher = (len: number) => `id-aes${len * 8}-wrap` as const;

/** Agrees a key with the recipient's EC key (ephemeral-static ECDH), wraps `cek`, encodes `[1] kari`. */
export function encodeKeyAgreeRecipientInfo(rid: CmsIdentifier, recipientKey: KeyObject, cek: Uint8Array): Buffer {
  if (recipientKey.asymmetricKeyType !== 'ec') throw new Error('key agreement needs an EC recipient key');
  const curve = recipientKey.asymmetricKeyDetails?.namedCurve;
  const { kdf, wrap } = schemeForCurve(curve);
  const eph = generateKeyPairSync('ec', { namedCurve: curve! });
  const z = diffieHellman({ privateKey: eph.privateKey, publicKey: recipientKey });
  const k = kek(z, kdf, wrap);
  const c = createCipheriv(wrapCipher(k.length), k, WRAP_IV);
  const encryptedKey = Buffer.concat([c.update(cek), c.final()]);
  z.fill(0);
  k.fill(0);
  // OriginatorPublicKey: id-ecPublicKey with parameters absent (RFC 5753 §7.1.2: the recipient's curve).
  const point = eph.publicKey.export({ format: 'jwk' });
  const raw = Buffer.concat([Buffer.from([4]), Buffer.from(point.x!, 'base64url'), Buffer.from(point.y!, 'base64url')]);
  const originator = explicit(0, implicitConstructed(1, seq(oid(kariOids.ecPublicKey)), bitString(raw)));
  const rek = seq(seq(encodeIdentifier(rid), derOctetString(encryptedKey)));
  return implicitConstructed(1, integer(3), originator, seq(oid(kdf), seq(oid(wrap))), rek);
}

export function decodeKeyAgreeRecipientInfo(buf: Uint8Array, b: Ber): KeyAgreeRecipientInfo {
  const f = berChildren(buf, expectBer(b, 0xa1, 'KeyAgreeRecipientInfo'));
  let k = 0;
  if (berSmallInt(buf, f[k++], 'KeyAgreeRecipientInfo version') !== 3) throw new Error('KeyAgreeRecipientInfo version must be 3');
  const [orig] = berChildren(buf, expectBer(f[k++], 0xa0, 'originator'));
  const [algT, keyT] = berChildren(buf, expectBer(orig, 0xa1, 'originatorKey'));
  const algOid = berOid(buf, berChildren(buf, expectBer(algT, 0x30, 'originatorKey algorithm'))[0]);
  if (algOid !== kariOids.ecPublicKey) throw new Error('originatorKey is not an EC key');
  const point = berOctets(buf, expectBer(keyT, 0x03, 'originatorKey publicKey')).subarray(1);
  let ukm: Buffer | undefined;
  if (f[k]?.tag === 0xa1) ukm = octetString(buf, berChildren(buf, f[k++])[0], 'ukm');
  const [kdfT, wrapT] = berChildren(buf, expectBer(f[k++], 0x30, 'keyEncryptionAlgorithm'));
  const kdfOid = berOid(buf, kdfT);
  const wrapOid = berOid(buf, berChildren(buf, expectBer(wrapT, 0x30, 'KeyWrapAlgorithm'))[0]);
  const recipients = berChildren(buf, expectBer(f[k++], 0x30, 'recipientEncryptedKeys')).map((r) => {
    const [ridT, ekT] = berChildren(buf, expectBer(r, 0x30, 'RecipientEncryptedKey'));
    return { rid: decodeIdentifier(buf, ridT), encryptedKey: octetString(buf, ekT, 'encryptedKey') };
  });
  if (k !== f.length) throw new Error('unexpected element in KeyAgreeRecipientInfo');
  return { originatorSpki: seq(definiteBytes(buf, algT, 'algorithm'), bitString(point)), ukm, kdfOid, wrapOid, recipients };
}

/** Unwraps the content-encryption key of recipient `index` with the recipient's private key. */
export function unwrapKeyAgree(kari: KeyAgreeRecipientInfo, privateKey: KeyObject, index = 0): Buffer {
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  // The originator key names no curve (parameters absent): it is the recipient's.
  const spki = readBer(kari.originatorSpki, 0);
  const point = berOctets(kari.originatorSpki, berChildren(kari.originatorSpki, spki)[1]).subarray(1);
  const curveOid = { prime256v1: '1.2.840.10045.3.1.7', secp384r1: '1.3.132.0.34', secp521r1: '1.3.132.0.35' }[curve ?? ''];
  if (!curveOid) throw new Error('unsupported recipient curve');
  const pub = createPublicKey({ key: seq(seq(oid(kariOids.ecPublicKey), oid(curveOid)), bitString(point)), format: 'der', type: 'spki' });
  const z = diffieHellman({ privateKey, publicKey: pub });
  const k = kek(z, kari.kdfOid, kari.wrapOid, kari.ukm);
  const d = createDecipheriv(wrapCipher(k.length), k, WRAP_IV);
  return Buffer.concat([d.update(kari.recipients[index].encryptedKey), d.final()]);
}
