/**
 * BodyPartID (RFC 5272 §3.2.1.1), the integer every CMC body part carries:
 *
 *   BodyPartID ::= INTEGER(0..4294967295)
 */
import { Tag, decodeInteger, integer, type Tlv } from './der.ts';
import { MAX_BODY_PART_ID } from './cmc-oids.ts';

export function decodeBodyPartId(buf: Uint8Array, t: Tlv | undefined): number {
  if (!t || t.tag !== Tag.INTEGER) throw new Error('CMC: BodyPartID is not an INTEGER');
  if (t.end - t.start > 5) throw new Error('CMC: BodyPartID out of range');
  const v = decodeInteger(buf, t.start, t.end);
  if (v < 0n || v > BigInt(MAX_BODY_PART_ID)) throw new Error('CMC: BodyPartID out of range');
  return Number(v);
}

export function encodeBodyPartId(id: number): Buffer {
  if (!Number.isInteger(id) || id < 0 || id > MAX_BODY_PART_ID) throw new Error('CMC: BodyPartID out of range');
  return integer(id);
}
