/**
 * TaggedAttribute (RFC 5272 §3.2.1.2), a CMC control:
 *
 *   TaggedAttribute ::= SEQUENCE {
 *       bodyPartID         BodyPartID,
 *       attrType           OBJECT IDENTIFIER,
 *       attrValues         SET OF AttributeValue }
 *
 * Values are kept as DER; cmc-controls.ts reads and writes the controls Certgate uses.
 */
import { Tag, childList, oid, readOid, seq, set, tlvBytes, type Tlv } from './der.ts';
import { decodeBodyPartId, encodeBodyPartId } from './cmc-body-part.ts';

export interface TaggedAttribute {
  bodyPartId: number;
  type: string;
  values: Buffer[];
}

export function decodeTaggedAttribute(buf: Uint8Array, t: Tlv): TaggedAttribute {
  if (t.tag !== Tag.SEQUENCE) throw new Error('CMC: TaggedAttribute is not a SEQUENCE');
  const [id, type, values, ...rest] = childList(buf, t);
  if (!type || !values || rest.length || values.tag !== Tag.SET) throw new Error('CMC: malformed TaggedAttribute');
  return { bodyPartId: decodeBodyPartId(buf, id), type: readOid(buf, type), values: childList(buf, values).map((v) => Buffer.from(tlvBytes(buf, v))) };
}

export function encodeTaggedAttribute(a: TaggedAttribute): Buffer {
  return seq(encodeBodyPartId(a.bodyPartId), oid(a.type), set(...a.values));
}
