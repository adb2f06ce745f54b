/**
 * CMCStatusInfoV2 (RFC 5272 §6.1.1), the id-cmc-statusInfoV2 control of a response, with
 * CMCStatus, CMCFailInfo and PendInfo:
 *
 *   CMCStatusInfoV2 ::= SEQUENCE {
 *       cMCStatus             CMCStatus,
 *       bodyList              SEQUENCE SIZE (1..MAX) OF BodyPartReference,
 *       statusString          UTF8String OPTIONAL,
 *       otherInfo             OtherStatusInfo OPTIONAL }
 *   OtherStatusInfo ::= CHOICE {
 *       failInfo              CMCFailInfo,          -- INTEGER
 *       pendInfo              PendInfo,             -- SEQUENCE
 *       extendedFailInfo      ExtendedFailInfo }    -- SEQUENCE { OID, ANY } (not produced)
 *   BodyPartReference ::= CHOICE { bodyPartID BodyPartID, bodyPartPath BodyPartPath }
 *   CMCStatus ::= INTEGER { success(0), failed(2), pending(3), noSupport(4),
 *                           confirmRequired(5), popRequired(6), partial(7) }
 *   CMCFailInfo ::= INTEGER { badAlg(0), badMessageCheck(1), badRequest(2), badTime(3),
 *       badCertId(4), unsupportedExt(5), mustArchiveKeys(6), badIdentity(7), popRequired(8),
 *       popFailed(9), noKeyReuse(10), internalCAError(11), tryLater(12), authDataFail(13) }
 *   PendInfo ::= SEQUENCE { pendToken OCTET STRING, pendTime GeneralizedTime }
 *
 * Only bodyPartID references are produced and read (bodyPartPath is for nested messages).
 */
import { Tag, childList, decodeInteger, decodeTime, generalizedTime, integer, octetString, readTlv, seq, utf8String } from './der.ts';
import { decodeBodyPartId, encodeBodyPartId } from './cmc-body-part.ts';

export const cmcStatus = { success: 0, failed: 2, pending: 3, noSupport: 4, confirmRequired: 5, popRequired: 6, partial: 7 } as const;
export type CmcStatus = keyof typeof cmcStatus;

export const cmcFailInfo = {
  badAlg: 0,
  badMessageCheck: 1,
  badRequest: 2,
  badTime: 3,
  badCertId: 4,
  unsupportedExt: 5,
  mustArchiveKeys: 6,
  badIdentity: 7,
  popRequired: 8,
  popFailed: 9,
  noKeyReuse: 10,
  internalCAError: 11,
  tryLater: 12,
  authDataFail: 13,
} as const;
export type CmcFailInfo = keyof typeof cmcFailInfo;

export interface CmcStatusInfoV2 {
  status: CmcStatus;
  bodyList: number[];
  statusString?: string;
  failInfo?: CmcFailInfo;
  pendInfo?: { token: Buffer; time: Date };
}

const byValue = <T extends Record<string, number>>(m: T, v: number): keyof T | undefined => (Object.keys(m) as (keyof T)[]).find((k) => m[k] === v);

export function encodeCmcStatusInfoV2(s: CmcStatusInfoV2): Buffer {
  const parts = [integer(cmcStatus[s.status]), seq(...s.bodyList.map(encodeBodyPartId))];
  if (s.statusString !== undefined) parts.push(utf8String(s.statusString));
  if (s.failInfo !== undefined) parts.push(integer(cmcFailInfo[s.failInfo]));
  else if (s.pendInfo) parts.push(seq(octetString(s.pendInfo.token), generalizedTime(s.pendInfo.time)));
  return seq(...parts);
}

export function decodeCmcStatusInfoV2(der: Uint8Array): CmcStatusInfoV2 {
  const outer = readTlv(der, 0);
  if (outer.tag !== Tag.SEQUENCE) throw new Error('CMC: CMCStatusInfoV2 is not a SEQUENCE');
  const [st, body, ...rest] = childList(der, outer);
  if (!st || st.tag !== Tag.INTEGER || !body || body.tag !== Tag.SEQUENCE) throw new Error('CMC: malformed CMCStatusInfoV2');
  const status = byValue(cmcStatus, Number(decodeInteger(der, st.start, st.end)));
  if (!status) throw new Error('CMC: unknown CMCStatus');
  const out: CmcStatusInfoV2 = { status, bodyList: childList(der, body).map((b) => decodeBodyPartId(der, b)) };
  for (const t of rest) {
    if (t.tag === Tag.UTF8_STRING) out.statusString = Buffer.from(der.subarray(t.start, t.end)).toString('utf8');
    else if (t.tag === Tag.INTEGER) out.failInfo = byValue(cmcFailInfo, Number(decodeInteger(der, t.start, t.end)));
    else if (t.tag === Tag.SEQUENCE) {
      const [tok, time] = childList(der, t);
      if (tok?.tag === Tag.OCTET_STRING && time) out.pendInfo = { token: Buffer.from(der.subarray(tok.start, tok.end)), time: decodeTime(der, time) };
    }
  }
  return out;
}
