/**
 * CertReqMsg (RFC 4211 §3), as CMC carries it in TaggedRequest crm [1]; decode, proof-of-possession
 * check by signature, and an encoder for tests and clients:
 *
 *   CertReqMsg ::= SEQUENCE {
 *       certReq   CertRequest,
 *       popo      ProofOfPossession  OPTIONAL,
 *       regInfo   SEQUENCE SIZE(1..MAX) OF AttributeTypeAndValue OPTIONAL }
 *   CertRequest ::= SEQUENCE {
 *       certReqId     INTEGER,
 *       certTemplate  CertTemplate,
 *       controls      Controls OPTIONAL }
 *   CertTemplate ::= SEQUENCE {                      -- IMPLICIT tags (RFC 4211's module)
 *       version [0] Version OPTIONAL, serialNumber [1] INTEGER OPTIONAL,
 *       signingAlg [2] AlgorithmIdentifier OPTIONAL, issuer [3] Name OPTIONAL,
 *       validity [4] OptionalValidity OPTIONAL, subject [5] Name OPTIONAL,
 *       publicKey [6] SubjectPublicKeyInfo OPTIONAL, issuerUID [7] UniqueIdentifier OPTIONAL,
 *       subjectUID [8] UniqueIdentifier OPTIONAL, extensions [9] Extensions OPTIONAL }
 *   ProofOfPossession ::= CHOICE {
 *       raVerified [0] NULL, signature [1] POPOSigningKey,
 *       keyEncipherment [2] POPOPrivKey, keyAgreement [3] POPOPrivKey }
 *   POPOSigningKey ::= SEQUENCE {
 *       poposkInput [0] POPOSigningKeyInput OPTIONAL,
 *       algorithmIdentifier AlgorithmIdentifier,
 *       signature BIT STRING }
 *
 * Name is a CHOICE, so [3] and [5] are explicit in effect (the tag wraps the RDNSequence).
 * Only the signature POP without poposkInput is verified (§4.1: the signature covers the DER of
 * certReq); every other POP is reported as such and left to the caller to refuse.
 */
import { createPublicKey } from 'node:crypto';
import { parseExtensions } from './certificate.ts';
import { signatureScheme, verifySignature } from './algorithms.ts';
import { Tag, bitString, childList, decodeInteger, explicit, implicitConstructed, integer, readTlv, seq, tlvBytes, type Tlv } from './der.ts';

export interface CertReqMsg {
  certReqId: bigint;
  /** Subject Name DER (SEQUENCE), when the template names one. */
  subject?: Buffer;
  /** SubjectPublicKeyInfo DER (re-tagged as SEQUENCE). */
  publicKey?: Buffer;
  extensions: { oid: string; critical: boolean; value: Uint8Array }[];
  popo: 'signature' | 'signature-with-input' | 'raVerified' | 'keyEncipherment' | 'keyAgreement' | 'none';
  /** For a signature POP without poposkInput: whether it verifies with the template's key. */
  popValid: boolean;
}

export function decodeCertReqMsg(der: Uint8Array): CertReqMsg {
  const outer = readTlv(der, 0);
  if (outer.tag !== Tag.SEQUENCE || outer.end !== der.length) throw new Error('CRMF: CertReqMsg is not a single SEQUENCE');
  const [certReq, popo] = childList(der, outer);
  if (!certReq || certReq.tag !== Tag.SEQUENCE) throw new Error('CRMF: malformed CertRequest');
  const [id, template] = childList(der, certReq);
  if (!id || id.tag !== Tag.INTEGER || !template || template.tag !== Tag.SEQUENCE) throw new Error('CRMF: malformed CertRequest');
  const out: CertReqMsg = { certReqId: decodeInteger(der, id.start, id.end), extensions: [], popo: 'none', popValid: false };
  for (const f of childList(der, template)) {
    if (f.tag === 0xa5) {
      const name = readTlv(der, f.start);
      if (name.tag !== Tag.SEQUENCE || name.end !== f.end) throw new Error('CRMF: malformed subject');
      out.subject = Buffer.from(tlvBytes(der, name));
    } else if (f.tag === 0xa6) {
      const spki = Buffer.from(tlvBytes(der, f));
      spki[0] = 0x30;
      out.publicKey = spki;
    } else if (f.tag === 0xa9) {
      out.extensions = parseExtensions(der, { ...f, tag: Tag.SEQUENCE });
    }
  }
  if (popo) out.popo = popoKind(popo);
  if (out.popo === 'signature' && out.publicKey && popo) out.popValid = verifyPop(der, certReq, popo, out.publicKey);
  return out;
}

function popoKind(t: Tlv): CertReqMsg['popo'] {
  switch (t.tag) {
    case 0x80:
      return 'raVerified';
    case 0xa1:
      return 'signature';
    case 0xa2:
      return 'keyEncipherment';
    case 0xa3:
      return 'keyAgreement';
    default:
      throw new Error('CRMF: unknown ProofOfPossession choice');
  }
}

function verifyPop(der: Uint8Array, certReq: Tlv, popo: Tlv, spki: Buffer): boolean {
  const parts = childList(der, popo);
  if (parts[0]?.tag === 0xa0) return false; // poposkInput: not supported here
  const [alg, sig] = parts;
  if (!alg || sig?.tag !== Tag.BIT_STRING || der[sig.start] !== 0) return false;
  try {
    const scheme = signatureScheme(der, alg);
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    return verifySignature(scheme, key, tlvBytes(der, certReq), der.subarray(sig.start + 1, sig.end));
  } catch {
    return false;
  }
}

/** A CertReqMsg with a signature POP (for clients and tests): `sign` signs the certReq DER. */
export function encodeCertReqMsg(o: { certReqId: number; subject: Uint8Array; spki: Uint8Array; extensions?: Uint8Array; signatureAlgorithm: Uint8Array; sign: (data: Buffer) => Buffer }): Buffer {
  const spkiTlv = readTlv(o.spki, 0);
  const template = seq(
    explicit(5, o.subject),
    implicitConstructed(6, Buffer.from(o.spki).subarray(spkiTlv.start, spkiTlv.end)),
    ...(o.extensions ? [implicitConstructed(9, Buffer.from(o.extensions).subarray(readTlv(o.extensions, 0).start))] : []),
  );
  const certReq = seq(integer(o.certReqId), template);
  return seq(certReq, implicitConstructed(1, o.signatureAlgorithm, bitString(o.sign(certReq))));
}
