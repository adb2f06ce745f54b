/**
 * PKCS#10 CertificationRequest (RFC 2986) parsing and proof-of-possession check.
 *
 * Everything malformed or unsupported becomes a `BadCsr` with a message for the client;
 * a challengePassword never appears in a message.
 */
import type { KeyObject } from 'node:crypto';
import type { Identifier, SubjectAttribute } from '../issuance/request.ts';
import { BadCsr } from '../issuance/errors.ts';
import { AlgorithmError, readAlgorithmIdentifier, signatureAlgorithmByOid, signatureScheme, verifySignature, type SignatureScheme } from './algorithms.ts';
import { ext } from './oids.ts';
import { Tag, children, expectTlv, readOid, readTlv, tlvBytes, type Tlv } from './der.ts';
import { decodeDirectoryString, decodeName } from './name.ts';
import { decodeGeneralNames } from './extensions.ts';
import { parseExtensions } from './certificate.ts';
import { importSpki, keyInfoFromKeyObject, spkiAlgorithmOid, type KeyInfo } from './keyinfo.ts';
import { fromPem } from './pem.ts';
// The encoder's needs (buildCsr, at the end).
import { createPublicKey, sign as cryptoSign } from 'node:crypto';
import { signatureAlgorithmFor } from './certificate.ts';
import { bitString, implicitConstructed, integer, oid, seq, set, utf8String } from './der.ts';

export type { KeyInfo } from './keyinfo.ts';

export interface ParsedCsr {
  der: Uint8Array;
  /** DER order. */
  subject: SubjectAttribute[];
  subjectDer: Buffer;
  spki: Buffer;
  key: KeyInfo;
  /** SANs from the extensionRequest (dns, ip, email, uri only). */
  sans: Identifier[];
  challengePassword?: string;
  requestedExtensions: { oid: string; critical: boolean; value: Buffer }[];
  signatureValid: boolean;
  /** Dotted OID of the CSR's signature algorithm. */
  signatureAlgorithm: string;
}

function bad(msg: string): never {
  throw new BadCsr(msg);
}

/** The signature scheme of the CSR's AlgorithmIdentifier, from the one table (algorithms.ts). */
function csrScheme(der: Uint8Array, sigAlgT: Tlv): { oid: string; scheme: SignatureScheme } {
  let oidStr = '';
  try {
    oidStr = readAlgorithmIdentifier(der, sigAlgT).oid;
    const a = signatureAlgorithmByOid(oidStr);
    // rsaEncryption / id-ecPublicKey name no hash: CMS-only spellings, not for a PKCS#10 signature.
    if (!a || (a.hash === 'digest' && a.params !== 'pss')) bad(`unsupported CSR signature algorithm ${oidStr}`);
    return { oid: oidStr, scheme: signatureScheme(der, sigAlgT) };
  } catch (e) {
    if (e instanceof AlgorithmError) bad(oidStr ? e.message : `malformed CSR: ${e.message}`);
    throw e;
  }
}

/**
 * Parses a DER PKCS#10 request (a PEM `CERTIFICATE REQUEST` given as bytes is accepted too),
 * decodes subject, key, extensionRequest and challengePassword, and verifies the signature against
 * the request's own public key over the exact CertificationRequestInfo bytes.
 */
export function parseCsr(input: Uint8Array): ParsedCsr {
  let der = input;
  if (der.length > 10 && Buffer.from(der.subarray(0, 10)).toString('latin1') === '-----BEGIN') {
    let blocks: Buffer[];
    try {
      const text = Buffer.from(der).toString('latin1');
      blocks = fromPem(text, 'CERTIFICATE REQUEST');
      if (blocks.length === 0) blocks = fromPem(text, 'NEW CERTIFICATE REQUEST');
    } catch (e) {
      return bad(`malformed CSR PEM: ${(e as Error).message}`);
    }
    if (blocks.length !== 1) bad('expected exactly one CERTIFICATE REQUEST PEM block');
    der = blocks[0];
  }
  try {
    return parseDer(der);
  } catch (e) {
    if (e instanceof BadCsr) throw e;
    throw new BadCsr(`malformed CSR: ${(e as Error).message.replace(/^DER: /, '')}`);
  }
}

function parseDer(der: Uint8Array): ParsedCsr {
  if (der.length === 0) bad('empty CSR');
  const outer = readTlv(der, 0);
  if (outer.tag !== Tag.SEQUENCE) bad('not a PKCS#10 CertificationRequest (outer element is not a SEQUENCE)');
  if (outer.end !== der.length) bad(`malformed CSR: ${der.length - outer.end} bytes of trailing data`);
  const infoT = readTlv(der, outer.start);
  if (infoT.tag !== Tag.SEQUENCE) bad('not a PKCS#10 CertificationRequest');
  const sigAlgT = readTlv(der, infoT.end);
  const sigT = readTlv(der, sigAlgT.end);
  if (sigT.end !== outer.end) bad('malformed CSR: unexpected data after the signature');
  if (sigAlgT.tag !== Tag.SEQUENCE || sigT.tag !== Tag.BIT_STRING) bad('not a PKCS#10 CertificationRequest');

  // CertificationRequestInfo
  const f = [...children(der, infoT.start, infoT.end)];
  if (f[0]?.tag !== Tag.INTEGER) {
    bad(f[0]?.tag === 0xa0 ? 'not a PKCS#10 request (this looks like a certificate)' : 'not a PKCS#10 CertificationRequest');
  }
  if (f[0].length !== 1 || der[f[0].start] !== 0) bad('unsupported CSR version (must be v1 = 0)');
  const subjectT = f[1];
  const spkiT = f[2];
  if (subjectT?.tag !== Tag.SEQUENCE || spkiT?.tag !== Tag.SEQUENCE) bad('malformed CSR: missing subject or public key');
  const attrsT = f[3];
  if (attrsT && attrsT.tag !== 0xa0) bad('malformed CSR: attributes are not [0]');
  if (f.length > 4) bad('malformed CSR: unexpected data in CertificationRequestInfo');

  const subjectDer = Buffer.from(tlvBytes(der, subjectT));
  let subject: SubjectAttribute[];
  try {
    subject = decodeName(subjectDer);
  } catch (e) {
    return bad(`malformed CSR subject: ${(e as Error).message.replace(/^DER: /, '')}`);
  }

  const spki = Buffer.from(tlvBytes(der, spkiT));
  const algOid = spkiAlgorithmOid(spki);
  let publicKey: KeyObject;
  try {
    publicKey = importSpki(spki);
  } catch {
    return bad(`unsupported or malformed public key (algorithm ${algOid})`);
  }
  const key = keyInfoFromKeyObject(publicKey, algOid);
  if (key.type === 'unknown') bad(`unsupported public key algorithm ${key.oid}`);

  // Attributes
  let challengePassword: string | undefined;
  let requestedExtensions: ParsedCsr['requestedExtensions'] = [];
  let sawExtReq = false;
  if (attrsT) {
    for (const a of children(der, attrsT.start, attrsT.end)) {
      if (a.tag !== Tag.SEQUENCE) bad('malformed CSR: attribute is not a SEQUENCE');
      const typeT = expectTlv(der, a.start, Tag.OID, 'attribute type');
      const valuesT = expectTlv(der, typeT.end, Tag.SET, 'attribute values');
      if (valuesT.end !== a.end) bad('malformed CSR attribute');
      const values = [...children(der, valuesT.start, valuesT.end)];
      const type = readOid(der, typeT);
      if (type === ext.extensionRequest) {
        if (sawExtReq || values.length !== 1) bad('CSR has more than one extensionRequest');
        sawExtReq = true;
        if (values[0].tag !== Tag.SEQUENCE) bad('malformed CSR extensionRequest');
        requestedExtensions = parseExtensions(der, values[0]).map((x) => ({
          oid: x.oid,
          critical: x.critical,
          value: Buffer.from(x.value),
        }));
      } else if (type === ext.challengePassword) {
        if (challengePassword !== undefined || values.length !== 1) bad('CSR has more than one challengePassword');
        let s: string | undefined;
        try {
          s = decodeDirectoryString(values[0].tag, der.subarray(values[0].start, values[0].end));
        } catch {
          s = undefined;
        }
        if (s === undefined) bad('malformed CSR challengePassword');
        challengePassword = s;
      }
    }
  }
  let sans: Identifier[] = [];
  const seen = new Set<string>();
  for (const x of requestedExtensions) {
    if (seen.has(x.oid)) bad(`CSR requests extension ${x.oid} more than once`);
    seen.add(x.oid);
    if (x.oid === ext.subjectAltName) {
      try {
        sans = decodeGeneralNames(x.value);
      } catch (e) {
        return bad(`malformed CSR subjectAltName: ${(e as Error).message.replace(/^DER: /, '')}`);
      }
    }
  }

  // Signature
  const sigAlg = csrScheme(der, sigAlgT);
  if (sigT.length < 1 || der[sigT.start] !== 0) bad('malformed CSR signature BIT STRING');
  const signature = der.subarray(sigT.start + 1, sigT.end);
  const signatureValid = verifySignature(sigAlg.scheme, publicKey, tlvBytes(der, infoT), signature);

  return {
    der,
    subject,
    subjectDer,
    spki,
    key,
    sans,
    challengePassword,
    requestedExtensions,
    signatureValid,
    signatureAlgorithm: sigAlg.oid,
  };
}

/**
 * Encodes and signs a PKCS#10 request (RFC 2986 §4):
 *
 *   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
 *   CertificationRequestInfo ::= SEQUENCE { version INTEGER (0), subject Name,
 *       subjectPKInfo SubjectPublicKeyInfo, attributes [0] IMPLICIT SET OF Attribute }
 *
 * For clients Certgate drives itself (tests, benchmarks, the SCEP reference client): subject is a
 * DER Name, `extensions` DER Extension elements; challengePassword is a UTF8String (RFC 2985).
 */
export function buildCsr(o: { subject: Uint8Array; key: KeyObject; challengePassword?: string; extensions?: Uint8Array[] }): Buffer {
  const attrs: Uint8Array[] = [];
  if (o.challengePassword !== undefined) attrs.push(seq(oid(ext.challengePassword), set(utf8String(o.challengePassword))));
  if (o.extensions?.length) attrs.push(seq(oid(ext.extensionRequest), set(seq(...o.extensions))));
  const spki = createPublicKey(o.key).export({ format: 'der', type: 'spki' });
  const info = seq(integer(0), o.subject, spki, implicitConstructed(0, ...attrs));
  const { algorithmIdentifier, hash } = signatureAlgorithmFor(o.key);
  return seq(info, algorithmIdentifier, bitString(cryptoSign(hash, info, o.key)));
}
