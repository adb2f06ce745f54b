/**
 * PKIResponse (RFC 5272 §3.2.3), the eContent (id-cct-PKIResponse) of a Full PKI Response; the
 * certificates travel in the SignedData's certificates field:
 *
 *   PKIResponse ::= SEQUENCE {
 *       controlSequence   SEQUENCE SIZE(0..MAX) OF TaggedAttribute,
 *       cmsSequence       SEQUENCE SIZE(0..MAX) OF TaggedContentInfo,
 *       otherMsgSequence  SEQUENCE SIZE(0..MAX) OF OtherMsg }
 */
import { Tag, childList, readTlv, seq } from './der.ts';
import { decodeOtherMsg, encodeOtherMsg, type OtherMsg } from './cmc-other-msg.ts';
import { decodeTaggedAttribute, encodeTaggedAttribute, type TaggedAttribute } from './cmc-tagged-attribute.ts';
import { decodeTaggedContentInfo, encodeTaggedContentInfo, type TaggedContentInfo } from './cmc-tagged-content-info.ts';

export interface PkiResponse {
  controls: TaggedAttribute[];
  cms: TaggedContentInfo[];
  other: OtherMsg[];
}

export function decodePkiResponse(der: Uint8Array): PkiResponse {
  const outer = readTlv(der, 0);
  if (outer.tag !== Tag.SEQUENCE || outer.end !== der.length) throw new Error('CMC: PKIResponse is not a single SEQUENCE');
  const f = childList(der, outer);
  if (f.length !== 3 || f.some((s) => s.tag !== Tag.SEQUENCE)) throw new Error('CMC: PKIResponse needs three SEQUENCEs');
  return {
    controls: childList(der, f[0]).map((t) => decodeTaggedAttribute(der, t)),
    cms: childList(der, f[1]).map((t) => decodeTaggedContentInfo(der, t)),
    other: childList(der, f[2]).map((t) => decodeOtherMsg(der, t)),
  };
}

export function encodePkiResponse(r: PkiResponse): Buffer {
  return seq(seq(...r.controls.map(encodeTaggedAttribute)), seq(...r.cms.map(encodeTaggedContentInfo)), seq(...r.other.map(encodeOtherMsg)));
}
