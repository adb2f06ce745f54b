/**
 * AuthEnvelopedData (RFC 5083) for AES-GCM (RFC 5084): the authenticated sibling of
 * EnvelopedData, which RFC 5084 §1 requires for GCM (EnvelopedData would carry no tag).
 *
 *   AuthEnvelopedData ::= SEQUENCE {
 *     version CMSVersion,                        -- always 0
 *     originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
 *     recipientInfos RecipientInfos,
 *     authEncryptedContentInfo EncryptedContentInfo,
 *     authAttrs [1] IMPLICIT AuthAttributes OPTIONAL,
 *     mac MessageAuthenticationCode,             -- OCTET STRING: the GCM tag
 *     unauthAttrs [2] IMPLICIT UnauthAttributes OPTIONAL }
 *
 * With authAttrs present, their DER (re-tagged SET OF) is the GCM additional authenticated data.
 */
import { berChildren, berSmallInt, definiteBytes, expectBer, octetString, type Ber } from './ber.ts';
import { decodeEncryptedContentInfo, encodeEncryptedContentInfo, type EncryptedContentInfo } from './cms-encrypted-content-info.ts';
import { decodeRecipientInfo, type KeyTransRecipientInfo } from './cms-recipient-info.ts';
import { integer, octetString as derOctetString, seq, set } from './der.ts';

export interface AuthEnvelopedData {
  version: number;
  recipients: KeyTransRecipientInfo[];
  eci: EncryptedContentInfo;
  /** authAttrs as DER SET OF (the AAD), when present. */
  aad?: Buffer;
  mac: Buffer;
}

export function decodeAuthEnvelopedData(buf: Uint8Array, b: Ber): AuthEnvelopedData {
  const f = berChildren(buf, expectBer(b, 0x30, 'AuthEnvelopedData'));
  let k = 0;
  const version = berSmallInt(buf, f[k++], 'version');
  if (f[k]?.tag === 0xa0) k++; // originatorInfo
  const recipients = berChildren(buf, expectBer(f[k++], 0x31, 'recipientInfos'))
    .map((r) => decodeRecipientInfo(buf, r))
    .filter((r): r is KeyTransRecipientInfo => r !== undefined);
  const eci = decodeEncryptedContentInfo(buf, f[k++]);
  let aad: Buffer | undefined;
  if (f[k]?.tag === 0xa1) {
    aad = definiteBytes(buf, f[k++], 'authAttrs');
    aad[0] = 0x31;
  }
  const mac = octetString(buf, f[k++], 'mac');
  if (f[k]?.tag === 0xa2) k++;
  if (k !== f.length) throw new Error('unexpected element in AuthEnvelopedData');
  return { version, recipients, eci, aad, mac };
}

export function encodeAuthEnvelopedData(recipientInfos: Uint8Array[], eci: EncryptedContentInfo, mac: Uint8Array): Buffer {
  return seq(integer(0), set(...recipientInfos), encodeEncryptedContentInfo(eci), derOctetString(mac));
}
