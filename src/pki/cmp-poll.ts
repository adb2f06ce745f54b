/**
 * PollReqContent and PollRepContent (RFC 9810 §5.3.22): the pollReq and pollRep bodies.
 *
 *   PollReqContent ::= SEQUENCE OF SEQUENCE { certReqId INTEGER }
 *   PollRepContent ::= SEQUENCE OF SEQUENCE {
 *     certReqId  INTEGER,
 *     checkAfter INTEGER,   -- time in seconds
 *     reason     PKIFreeText OPTIONAL }
 */
import { Tag, childList, decodeInteger, integer, seq, type Tlv } from './der.ts';
import { decodeFreeText, encodeFreeText } from './cmp-free-text.ts';

export interface PollRep {
  certReqId: bigint;
  checkAfter: number;
  reason?: string[];
}

export function decodePollReqContent(buf: Uint8Array, t: Tlv): bigint[] {
  if (t.tag !== Tag.SEQUENCE) throw new Error('PollReqContent: not a SEQUENCE');
  const list = childList(buf, t);
  if (list.length < 1 || list.length > 8) throw new Error('PollReqContent: wrong number of entries');
  return list.map((s) => {
    const f = childList(buf, s);
    if (s.tag !== Tag.SEQUENCE || f.length !== 1 || f[0].tag !== Tag.INTEGER || f[0].length > 8) throw new Error('PollReqContent: malformed');
    return decodeInteger(buf, f[0].start, f[0].end);
  });
}

export function encodePollReqContent(ids: bigint[]): Buffer {
  return seq(...ids.map((id) => seq(integer(id))));
}

export function decodePollRepContent(buf: Uint8Array, t: Tlv): PollRep[] {
  if (t.tag !== Tag.SEQUENCE) throw new Error('PollRepContent: not a SEQUENCE');
  return childList(buf, t).map((s) => {
    const f = childList(buf, s);
    if (f.length < 2 || f[0].tag !== Tag.INTEGER || f[1].tag !== Tag.INTEGER) throw new Error('PollRepContent: malformed');
    const out: PollRep = { certReqId: decodeInteger(buf, f[0].start, f[0].end), checkAfter: Number(decodeInteger(buf, f[1].start, f[1].end)) };
    if (f[2]) out.reason = decodeFreeText(buf, f[2]);
    return out;
  });
}

export function encodePollRepContent(list: PollRep[]): Buffer {
  return seq(
    ...list.map((p) => {
      const parts = [integer(p.certReqId), integer(p.checkAfter)];
      if (p.reason?.length) parts.push(encodeFreeText(p.reason));
      return seq(...parts);
    }),
  );
}
