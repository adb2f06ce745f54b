/**
 * TaggedContentInfo (RFC 5272 §3.2.1.4), a nested CMS message inside PKIData / PKIResponse:
 *
 *   TaggedContentInfo ::= SEQUENCE {
 *       bodyPartID              BodyPartID,
 *       contentInfo             ContentInfo }
 */
import { Tag, childList, seq, tlvBytes, type Tlv } from './der.ts';
import { decodeBodyPartId, encodeBodyPartId } from './cmc-body-part.ts';

export interface TaggedContentInfo {
  bodyPartId: number;
  /** The ContentInfo, DER. */
  contentInfo: Buffer;
}

export function decodeTaggedContentInfo(buf: Uint8Array, t: Tlv): TaggedContentInfo {
  const [id, ci, ...rest] = t.tag === Tag.SEQUENCE ? childList(buf, t) : [];
  if (!ci || rest.length || ci.tag !== Tag.SEQUENCE) throw new Error('CMC: malformed TaggedContentInfo');
  return { bodyPartId: decodeBodyPartId(buf, id), contentInfo: Buffer.from(tlvBytes(buf, ci)) };
}

export function encodeTaggedContentInfo(t: TaggedContentInfo): Buffer {
  return seq(encodeBodyPartId(t.bodyPartId), t.contentInfo);
}
