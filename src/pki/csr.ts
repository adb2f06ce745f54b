/**
 * PKCS#10 CertificationRequest (RFC 2986) parsing and proof-of-possession check.
 *
 * Everything malformed or unsupported becomes a `BadCsr` with a message for the client;
 * a challengePassword never appears in a message.
 */
import { constants, verify, type KeyObject } from 'node:crypto';
import type { Identifier, SubjectAttribute } from '../issuance/request.ts';
import { BadCsr } from '../issuance/errors.ts';
import { alg, ext } from './oids.ts';
import { Tag, children, decodeInteger, expectTlv, readOid, readTlv, tlvBytes, type Tlv } from './der.ts';
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

const MGF1 = '1.2.840.113549.1.1.8';
const SHA224 = '2.16.840.1.101.3.4.2.4';

const hashByOid: Record<string, string> = {
  [alg.sha1]: 'sha1',
  [SHA224]: 'sha224',
  [alg.sha256]: 'sha256',
  [alg.sha384]: 'sha384',
  [alg.sha512]: 'sha512',
};

type SigScheme =
  | { kind: 'rsa'; hash: string }
  | { kind: 'ecdsa'; hash: string }
  | { kind: 'pss'; hash: string; saltLength: number }
  | { kind: 'eddsa' };

const simpleSchemes: Record<string, SigScheme> = {
  [alg.sha1WithRSA]: { kind: 'rsa', hash: 'sha1' },
  '1.2.840.113549.1.1.14': { kind: 'rsa', hash: 'sha224' },
  [alg.sha256WithRSA]: { kind: 'rsa', hash: 'sha256' },
  [alg.sha384WithRSA]: { kind: 'rsa', hash: 'sha384' },
  [alg.sha512WithRSA]: { kind: 'rsa', hash: 'sha512' },
  [alg.ecdsaWithSHA1]: { kind: 'ecdsa', hash: 'sha1' },
  '1.2.840.10045.4.3.1': { kind: 'ecdsa', hash: 'sha224' },
  [alg.ecdsaWithSHA256]: { kind: 'ecdsa', hash: 'sha256' },
  [alg.ecdsaWithSHA384]: { kind: 'ecdsa', hash: 'sha384' },
  [alg.ecdsaWithSHA512]: { kind: 'ecdsa', hash: 'sha512' },
  [alg.ed25519]: { kind: 'eddsa' },
  [alg.ed448]: { kind: 'eddsa' },
};

function bad(msg: string): never {
  throw new BadCsr(msg);
}

/** AlgorithmIdentifier { OID, params? } inside an explicit tag or bare. */
function readAlgId(buf: Uint8Array, t: Tlv): { oid: string; params?: Tlv } {
  if (t.tag !== Tag.SEQUENCE) bad('malformed CSR: AlgorithmIdentifier is not a SEQUENCE');
  const o = expectTlv(buf, t.start, Tag.OID, 'algorithm');
  const params = o.end < t.end ? readTlv(buf, o.end) : undefined;
  if (params && params.end !== t.end) bad('malformed CSR: AlgorithmIdentifier has trailing data');
  return { oid: readOid(buf, o), params };
}

function hashOf(buf: Uint8Array, t: Tlv, what: string): string {
  const a = readAlgId(buf, t);
  const h = hashByOid[a.oid];
  if (!h) bad(`unsupported ${what} hash algorithm ${a.oid}`);
  if (a.params && a.params.tag !== Tag.NULL) bad(`malformed ${what} hash parameters`);
  return h;
}

/** RSASSA-PSS-params (RFC 4055 §3.1). Node's MGF1 always uses the message hash, so they must match. */
function pssScheme(buf: Uint8Array, params: Tlv | undefined): SigScheme {
  let hash = 'sha1';
  let mgfHash = 'sha1';
  let saltLength = 20;
  if (params) {
    if (params.tag !== Tag.SEQUENCE) bad('malformed RSASSA-PSS parameters');
    for (const f of children(buf, params.start, params.end)) {
      const inner = readTlv(buf, f.start);
      if (inner.end !== f.end) bad('malformed RSASSA-PSS parameters');
      if (f.tag === 0xa0) hash = hashOf(buf, inner, 'RSASSA-PSS');
      else if (f.tag === 0xa1) {
        const m = readAlgId(buf, inner);
        if (m.oid !== MGF1 || !m.params) bad(`unsupported RSASSA-PSS mask generation function ${m.oid}`);
        mgfHash = hashOf(buf, m.params, 'MGF1');
      } else if (f.tag === 0xa2) {
        if (inner.tag !== Tag.INTEGER) bad('malformed RSASSA-PSS saltLength');
        const v = decodeInteger(buf, inner.start, inner.end);
        if (v < 0n || v > 1024n) bad('RSASSA-PSS saltLength out of range');
        saltLength = Number(v);
      } else if (f.tag === 0xa3) {
        if (inner.tag !== Tag.INTEGER || decodeInteger(buf, inner.start, inner.end) !== 1n) {
          bad('unsupported RSASSA-PSS trailerField');
        }
      } else bad('malformed RSASSA-PSS parameters');
    }
  }
  if (mgfHash !== hash) bad(`unsupported RSASSA-PSS parameters: MGF1 hash ${mgfHash} differs from ${hash}`);
  return { kind: 'pss', hash, saltLength };
}

function checkSignature(scheme: SigScheme, key: KeyObject, data: Uint8Array, sig: Uint8Array): boolean {
  const kt = key.asymmetricKeyType;
  try {
    switch (scheme.kind) {
      case 'rsa':
        if (kt !== 'rsa') return false;
        return verify(scheme.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, sig);
      case 'pss':
        if (kt !== 'rsa' && kt !== 'rsa-pss') return false;
        return verify(scheme.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength }, sig);
      case 'ecdsa':
        if (kt !== 'ec') return false;
        return verify(scheme.hash, data, key, sig);
      case 'eddsa':
        if (kt !== 'ed25519' && kt !== 'ed448') return false;
        return verify(null, data, key, sig);
    }
  } catch {
    return false;
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
  const sigAlg = readAlgId(der, sigAlgT);
  let scheme: SigScheme | undefined = simpleSchemes[sigAlg.oid];
  if (sigAlg.oid === alg.rsassaPss) scheme = pssScheme(der, sigAlg.params);
  if (!scheme) bad(`unsupported CSR signature algorithm ${sigAlg.oid}`);
  if (scheme.kind === 'eddsa' && sigAlg.params) bad('malformed CSR: EdDSA signature algorithm must have no parameters');
  if (sigT.length < 1 || der[sigT.start] !== 0) bad('malformed CSR signature BIT STRING');
  const signature = der.subarray(sigT.start + 1, sigT.end);
  const signatureValid = checkSignature(scheme, publicKey, tlvBytes(der, infoT), signature);

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
