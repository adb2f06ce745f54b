/**
 * PKIStatusInfo and PKIFailureInfo (RFC 9810 §5.2.3).
 *
 *   PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL, failInfo PKIFailureInfo OPTIONAL }
 *   PKIStatus ::= INTEGER { accepted (0), grantedWithMods (1), rejection (2), waiting (3),
 *                           revocationWarning (4), revocationNotification (5), keyUpdateWarning (6) }
 *   PKIFailureInfo ::= BIT STRING { badAlg (0), badMessageCheck (1), badRequest (2), badTime (3),
 *     badCertId (4), badDataFormat (5), wrongAuthority (6), incorrectData (7), missingTimeStamp (8),
 *     badPOP (9), certRevoked (10), certConfirmed (11), wrongIntegrity (12), badRecipientNonce (13),
 *     timeNotAvailable (14), unacceptedPolicy (15), unacceptedExtension (16), addInfoNotAvailable (17),
 *     badSenderNonce (18), badCertTemplate (19), signerNotTrusted (20), transactionIdInUse (21),
 *     unsupportedVersion (22), notAuthorized (23), systemUnavail (24), systemFailure (25), duplicateCertReq (26) }
 */
import { Tag, bitString, childList, decodeInteger, integer, seq, type Tlv } from './der.ts';
import { decodeFreeText, encodeFreeText } from './cmp-free-text.ts';

export const PKIStatus = {
  accepted: 0,
  grantedWithMods: 1,
  rejection: 2,
  waiting: 3,
  revocationWarning: 4,
  revocationNotification: 5,
  keyUpdateWarning: 6,
} as const;

export const failInfoBits = [
  'badAlg', 'badMessageCheck', 'badRequest', 'badTime', 'badCertId', 'badDataFormat', 'wrongAuthority',
  'incorrectData', 'missingTimeStamp', 'badPOP', 'certRevoked', 'certConfirmed', 'wrongIntegrity',
  'badRecipientNonce', 'timeNotAvailable', 'unacceptedPolicy', 'unacceptedExtension', 'addInfoNotAvailable',
  'badSenderNonce', 'badCertTemplate', 'signerNotTrusted', 'transactionIdInUse', 'unsupportedVersion',
  'notAuthorized', 'systemUnavail', 'systemFailure', 'duplicateCertReq',
] as const;
export type FailInfo = (typeof failInfoBits)[number];

export interface PKIStatusInfo {
  status: number;
  statusString?: string[];
  failInfo?: FailInfo[];
}

/** Named-bit BIT STRING: bit 0 is the most significant bit of the first octet; trailing zeros dropped (DER). */
export function encodeFailInfo(bits: FailInfo[]): Buffer {
  const nums = bits.map((b) => failInfoBits.indexOf(b));
  const highest = Math.max(...nums);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const n of nums) bytes[n >> 3] |= 0x80 >> (n & 7);
  return bitString(bytes, 7 - (highest & 7));
}

export function decodeFailInfo(buf: Uint8Array, t: Tlv): FailInfo[] {
  if (t.tag !== Tag.BIT_STRING || t.length < 1) throw new Error('PKIFailureInfo: not a BIT STRING');
  const out: FailInfo[] = [];
  for (let i = 0; i < (t.length - 1) * 8; i++) {
    if (buf[t.start + 1 + (i >> 3)] & (0x80 >> (i & 7))) {
      if (i < failInfoBits.length) out.push(failInfoBits[i]);
    }
  }
  return out;
}

export function decodeStatusInfo(buf: Uint8Array, t: Tlv): PKIStatusInfo {
  if (t.tag !== Tag.SEQUENCE) throw new Error('PKIStatusInfo: not a SEQUENCE');
  const [s, ...rest] = childList(buf, t);
  if (!s || s.tag !== Tag.INTEGER) throw new Error('PKIStatusInfo: status missing');
  const status = Number(decodeInteger(buf, s.start, s.end));
  const out: PKIStatusInfo = { status };
  for (const f of rest) {
    if (f.tag === Tag.SEQUENCE && !out.statusString && !out.failInfo) out.statusString = decodeFreeText(buf, f);
    else if (f.tag === Tag.BIT_STRING && !out.failInfo) out.failInfo = decodeFailInfo(buf, f);
    else throw new Error('PKIStatusInfo: unexpected field');
  }
  return out;
}

export function encodeStatusInfo(s: PKIStatusInfo): Buffer {
  const parts = [integer(s.status)];
  if (s.statusString?.length) parts.push(encodeFreeText(s.statusString));
  if (s.failInfo?.length) parts.push(encodeFailInfo(s.failInfo));
  return seq(...parts);
}
