/**
 * OtherMsg (RFC 5272 §3.2.1.5), a body part of a type outside CMC:
 *
 *   OtherMsg ::= SEQUENCE {
 *       bodyPartID        BodyPartID,
 *       otherMsgType      OBJECT IDENTIFIER,
 *       otherMsgValue     ANY DEFINED BY otherMsgType }
 */
import { Tag, childList, oid, readOid, seq, tlvBytes, type Tlv } from './der.ts';
import { decodeBodyPartId, encodeBodyPartId } from './cmc-body-part.ts';

export interface OtherMsg {
  bodyPartId: number;
  type: string;
  value: Buffer;
}

export function decodeOtherMsg(buf: Uint8Array, t: Tlv): OtherMsg {
  const [id, type, value, ...rest] = t.tag === Tag.SEQUENCE ? childList(buf, t) : [];
  if (!type || !value || rest.length) throw new Error('CMC: malformed OtherMsg');
  return { bodyPartId: decodeBodyPartId(buf, id), type: readOid(buf, type), value: Buffer.from(tlvBytes(buf, value)) };
}

export function encodeOtherMsg(m: OtherMsg): Buffer {
  return seq(encodeBodyPartId(m.bodyPartId), oid(m.type), m.value);
}
