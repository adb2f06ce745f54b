/**
 * KeyTransRecipientInfo (RFC 5652 §6.2.1): the content-encryption key encrypted to one RSA
 * recipient, with PKCS#1 v1.5 (rsaEncryption, RFC 3370 §4.2.1) or RSAES-OAEP (RFC 3560).
 * Other RecipientInfo choices (key agreement, KEK, password, other) are recognised and skipped.
 *
 *   RecipientInfo ::= CHOICE {
 *     ktri KeyTransRecipientInfo,
 *     kari [1] KeyAgreeRecipientInfo,
 *     kekri [2] KEKRecipientInfo,
 *     pwri [3] PasswordRecipientinfo,
 *     ori [4] OtherRecipientInfo }
 *
 *   KeyTransRecipientInfo ::= SEQUENCE {
 *     version CMSVersion,  -- always set to 0 or 2
 *     rid RecipientIdentifier,
 *     keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
 *     encryptedKey EncryptedKey }
 *
 *   EncryptedKey ::= OCTET STRING
 */
import { constants, publicEncrypt, type KeyObject } from 'node:crypto';
import type { RsaScheme } from '../protocol-context.ts';
import { decodeOaepParams, encodeOaepParams, keyTransport, readAlgorithmIdentifier } from './algorithms.ts';
import { berAlgorithm, berChildren, berSmallInt, expectBer, octetString, type Ber } from './ber.ts';
import { decodeIdentifier, encodeIdentifier, type CmsIdentifier } from './cms-identifier.ts';
import { integer, nullValue, octetString as derOctetString, oid, readTlv, seq } from './der.ts';

export interface KeyTransRecipientInfo {
  version: number;
  rid: CmsIdentifier;
  scheme: RsaScheme;
  encryptedKey: Buffer;
}

/** Decodes one RecipientInfo; undefined for the non-ktri choices. */
export function decodeRecipientInfo(buf: Uint8Array, b: Ber): KeyTransRecipientInfo | undefined {
  if (b.tag !== 0x30) return undefined; // kari/kekri/pwri/ori are context-tagged
  const [versionT, ridT, algT, keyT, extra] = berChildren(buf, b);
  if (extra) throw new Error('unexpected element in KeyTransRecipientInfo');
  const version = berSmallInt(buf, versionT, 'KeyTransRecipientInfo version');
  const rid = decodeIdentifier(buf, ridT);
  const alg = berAlgorithm(buf, algT, 'keyEncryptionAlgorithm');
  let scheme: RsaScheme;
  if (alg.oid === keyTransport.rsaEncryption) scheme = { kind: 'pkcs1-v1_5' };
  else if (alg.oid === keyTransport.rsaesOaep) {
    // The AlgorithmIdentifier is definite (berAlgorithm checked): read its parameters as DER.
    const params = readAlgorithmIdentifier(alg.der, readTlv(alg.der, 0)).params;
    scheme = { kind: 'oaep', hash: decodeOaepParams(alg.der, params) };
  } else throw new Error(`unsupported key transport algorithm ${alg.oid}`);
  return { version, rid, scheme, encryptedKey: octetString(buf, expectBer(keyT, 0x04, 'encryptedKey'), 'encryptedKey') };
}

/** Encrypts `cek` to the recipient key and encodes the KeyTransRecipientInfo (version 0 or 2). */
export function encodeKeyTransRecipientInfo(rid: CmsIdentifier, key: KeyObject, scheme: RsaScheme, cek: Uint8Array): Buffer {
  if (key.asymmetricKeyType !== 'rsa') throw new Error('key transport needs an RSA recipient key');
  const encryptedKey =
    scheme.kind === 'oaep'
      ? publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: scheme.hash }, cek)
      : publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, cek);
  const alg = scheme.kind === 'oaep' ? seq(oid(keyTransport.rsaesOaep), encodeOaepParams(scheme.hash)) : seq(oid(keyTransport.rsaEncryption), nullValue());
  return seq(integer(rid.kind === 'ski' ? 2 : 0), encodeIdentifier(rid), alg, derOctetString(encryptedKey));
}
