/**
 * The one algorithm table (src/pki/algorithms.ts): look-ups both ways, RSASSA-PSS and
 * RSAES-OAEP parameters, digest/signature agreement, and certificate signature checks for every
 * key type (checked by openssl too).
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AlgorithmError,
  contentCipherFromOid,
  contentCiphers,
  decodeOaepParams,
  defaultSignatureAlgorithm,
  digestAlgorithms,
  encodeOaepParams,
  hashFromOid,
  readAlgorithmIdentifier,
  signatureAlgorithmByOid,
  signatureAlgorithmIdentifier,
  signatureOidFor,
  signatureSchemeOf,
  verifySignature,
} from '../../src/pki/algorithms.ts';
import { parseCertificate, verifyCertificateSignature } from '../../src/pki/certificate.ts';
import { explicit, integer, oid, readTlv, seq } from '../../src/pki/der.ts';
import { makeCa, makeLeaf, type KeyKind } from './helpers.ts';
import { opensslOk, removeTempDirs, tempDir, writePem } from '../support/openssl.ts';

afterAll(removeTempDirs);

const sha256 = seq(oid(digestAlgorithms.sha256.oid));
const pss = (hash = sha256, mgfHash = sha256, salt = 32) => seq(oid('1.2.840.113549.1.1.10'), seq(explicit(0, hash), explicit(1, seq(oid('1.2.840.113549.1.1.8'), mgfHash)), explicit(2, integer(salt))));

describe('the table', () => {
  it('digest and content-cipher OIDs map both ways', () => {
    for (const [name, d] of Object.entries(digestAlgorithms)) expect(hashFromOid(d.oid)).toBe(name);
    for (const [name, c] of Object.entries(contentCiphers)) expect(contentCipherFromOid(c.oid)).toBe(name);
    expect(contentCiphers['des-cbc']).toMatchObject({ oid: '1.3.14.3.2.7', keyLength: 8, ivLength: 8 });
    expect(hashFromOid('1.2.3')).toBeUndefined();
  });

  it('signature OIDs name their key type and hash; rsaEncryption takes the digest from CMS', () => {
    expect(signatureOidFor('rsa', 'sha256')).toBe('1.2.840.113549.1.1.11');
    expect(signatureOidFor('ec', 'sha384')).toBe('1.2.840.10045.4.3.3');
    expect(signatureAlgorithmByOid('1.2.840.113549.1.1.1')).toMatchObject({ keyType: 'rsa', hash: 'digest' });
    expect(signatureSchemeOf(signatureAlgorithmIdentifier('1.2.840.113549.1.1.1'), 'sha1')).toEqual({ kind: 'rsa', hash: 'sha1' });
    expect(() => signatureSchemeOf(signatureAlgorithmIdentifier('1.2.840.113549.1.1.1'))).toThrow(AlgorithmError);
    expect(() => signatureSchemeOf(signatureAlgorithmIdentifier('1.2.840.113549.1.1.11'), 'sha1')).toThrow(/differs from the digest/);
    expect(() => signatureSchemeOf(seq(oid('1.2.840.10045.4.3.2'), integer(0)))).toThrow(/unexpected parameters/);
    expect(() => signatureSchemeOf(seq(oid('1.2.840.10045.4.3.9')))).toThrow(/unsupported signature algorithm/);
  });

  it('RSASSA-PSS parameters: defaults, explicit values, mismatched MGF1 hash refused', () => {
    expect(signatureSchemeOf(seq(oid('1.2.840.113549.1.1.10'), seq()))).toEqual({ kind: 'pss', hash: 'sha1', saltLength: 20 });
    expect(signatureSchemeOf(pss())).toEqual({ kind: 'pss', hash: 'sha256', saltLength: 32 });
    expect(() => signatureSchemeOf(pss(sha256, seq(oid(digestAlgorithms.sha1.oid))))).toThrow(/MGF1 hash sha1 differs/);
    expect(() => signatureSchemeOf(pss(), 'sha384')).toThrow(/differs from the digest/);
  });

  it('RSAES-OAEP parameters round-trip; a label is refused', () => {
    for (const h of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
      const der = seq(oid('1.2.840.113549.1.1.7'), encodeOaepParams(h));
      expect(decodeOaepParams(der, readAlgorithmIdentifier(der, readTlv(der, 0)).params)).toBe(h);
    }
    const labelled = seq(oid('1.2.840.113549.1.1.7'), seq(explicit(2, seq(oid('1.2.840.113549.1.1.9'), Buffer.from([4, 1, 0x41])))));
    expect(() => decodeOaepParams(labelled, readAlgorithmIdentifier(labelled, readTlv(labelled, 0)).params)).toThrow(/label/);
  });

  it('verifySignature: right key verifies, wrong key type or wrong data does not, never throws', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const data = Buffer.from('data');
    const s = sign('sha256', data, privateKey);
    const scheme = signatureSchemeOf(defaultSignatureAlgorithm(privateKey).algorithmIdentifier);
    expect(verifySignature(scheme, publicKey, data, s)).toBe(true);
    expect(verifySignature(scheme, publicKey, Buffer.from('other'), s)).toBe(false);
    expect(verifySignature({ kind: 'rsa', hash: 'sha256' }, publicKey, data, s)).toBe(false);
    expect(verifySignature(scheme, publicKey, data, Buffer.from('junk'))).toBe(false);
  });
});

describe('verifyCertificateSignature (one place for emCA, SCEP, CMP chain checks)', () => {
  it.each(['P-256', 'P-384', 'RSA-2048', 'Ed25519'] as KeyKind[])('%s issuer', (kind) => {
    const ca = makeCa(kind);
    const other = makeCa(kind);
    const leaf = makeLeaf(ca);
    const cert = parseCertificate(leaf.der);
    expect(verifyCertificateSignature(cert, ca.spki)).toBe(true);
    expect(verifyCertificateSignature(cert, other.spki)).toBe(false);
    // openssl agrees.
    const dir = tempDir();
    expect(opensslOk(['verify', '-partial_chain', '-CAfile', writePem(dir, 'ca.pem', ca.der), writePem(dir, 'leaf.pem', leaf.der)])).toMatch(/OK/);
  });
});
