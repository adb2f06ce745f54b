/**
 * PKIData (RFC 5272 §3.2), the eContent (id-cct-PKIData) of a Full PKI Request:
 *
 *   PKIData ::= SEQUENCE {
 *       controlSequence    SEQUENCE SIZE(0..MAX) OF TaggedAttribute,
 *       reqSequence        SEQUENCE SIZE(0..MAX) OF TaggedRequest,
 *       cmsSequence        SEQUENCE SIZE(0..MAX) OF TaggedContentInfo,
 *       otherMsgSequence   SEQUENCE SIZE(0..MAX) OF OtherMsg }
 *
 * `reqSequenceDer` keeps the reqSequence as received: identityProof(V2) is a MAC over it.
 */
import { Tag, childList, readTlv, seq, tlvBytes } from './der.ts';
import { decodeOtherMsg, encodeOtherMsg, type OtherMsg } from './cmc-other-msg.ts';
import { decodeTaggedAttribute, encodeTaggedAttribute, type TaggedAttribute } from './cmc-tagged-attribute.ts';
import { decodeTaggedContentInfo, encodeTaggedContentInfo, type TaggedContentInfo } from './cmc-tagged-content-info.ts';
import { decodeTaggedRequest, encodeTaggedRequest, type TaggedRequest } from './cmc-tagged-request.ts';

export interface PkiData {
  controls: TaggedAttribute[];
  requests: TaggedRequest[];
  cms: TaggedContentInfo[];
  other: OtherMsg[];
  reqSequenceDer: Buffer;
}

export function decodePkiData(der: Uint8Array): PkiData {
  const outer = readTlv(der, 0);
  if (outer.tag !== Tag.SEQUENCE || outer.end !== der.length) throw new Error('CMC: PKIData is not a single SEQUENCE');
  const f = childList(der, outer);
  if (f.length !== 4 || f.some((s) => s.tag !== Tag.SEQUENCE)) throw new Error('CMC: PKIData needs four SEQUENCEs');
  return {
    controls: childList(der, f[0]).map((t) => decodeTaggedAttribute(der, t)),
    requests: childList(der, f[1]).map((t) => decodeTaggedRequest(der, t)),
    cms: childList(der, f[2]).map((t) => decodeTaggedContentInfo(der, t)),
    other: childList(der, f[3]).map((t) => decodeOtherMsg(der, t)),
    reqSequenceDer: Buffer.from(tlvBytes(der, f[1])),
  };
}

export function encodeReqSequence(requests: TaggedRequest[]): Buffer {
  return seq(...requests.map(encodeTaggedRequest));
}

export function encodePkiData(p: Omit<PkiData, 'reqSequenceDer'>): Buffer {
  return seq(seq(...p.controls.map(encodeTaggedAttribute)), encodeReqSequence(p.requests), seq(...p.cms.map(encodeTaggedContentInfo)), seq(...p.other.map(encodeOtherMsg)));
}
