/**
 * ErrorMsgContent (RFC 9810 §5.3.21): the error body.
 *
 *   ErrorMsgContent ::= SEQUENCE {
 *     pKIStatusInfo PKIStatusInfo,
 *     errorCode     INTEGER OPTIONAL,
 *     errorDetails  PKIFreeText OPTIONAL }
 */
import { Tag, childList, decodeInteger, integer, seq, type Tlv } from './der.ts';
import { decodeFreeText, encodeFreeText } from './cmp-free-text.ts';
import { decodeStatusInfo, encodeStatusInfo, type PKIStatusInfo } from './cmp-status-info.ts';

export interface ErrorMsgContent {
  status: PKIStatusInfo;
  errorCode?: number;
  errorDetails?: string[];
}

export function decodeErrorMsgContent(buf: Uint8Array, t: Tlv): ErrorMsgContent {
  if (t.tag !== Tag.SEQUENCE) throw new Error('ErrorMsgContent: not a SEQUENCE');
  const f = childList(buf, t);
  if (!f[0]) throw new Error('ErrorMsgContent: status missing');
  const out: ErrorMsgContent = { status: decodeStatusInfo(buf, f[0]) };
  for (const x of f.slice(1)) {
    if (x.tag === Tag.INTEGER && x.length <= 4) out.errorCode = Number(decodeInteger(buf, x.start, x.end));
    else if (x.tag === Tag.SEQUENCE) out.errorDetails = decodeFreeText(buf, x);
    else throw new Error('ErrorMsgContent: unexpected field');
  }
  return out;
}

export function encodeErrorMsgContent(e: ErrorMsgContent): Buffer {
  const parts = [encodeStatusInfo(e.status)];
  if (e.errorCode !== undefined) parts.push(integer(e.errorCode));
  if (e.errorDetails?.length) parts.push(encodeFreeText(e.errorDetails));
  return seq(...parts);
}
