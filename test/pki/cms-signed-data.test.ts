/**
 * CMS SignedData (src/pki/cms-signed-data.ts) both ways against `openssl cms`: what openssl
 * signs we parse and verify; what we build with a Signer openssl verifies (chain to a CA, -binary,
 * detached, several certificates, signed attributes of our own); certs-only bundles read by
 * `openssl pkcs7 -print_certs`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SoftwareSigner } from '../../src/ca/signer.ts';
import { buildTbsCertList } from '../../src/pki/crl.ts';
import { signTbs } from '../../src/pki/certificate.ts';
import { buildCertsOnly, buildSignedData, CmsError, cmsOids, parseSignedData, signerCertificate, signingTime, verifySigner } from '../../src/pki/cms.ts';
import { integer, printableString } from '../../src/pki/der.ts';
import { makeCa, makeLeaf, sigAlg, type Ca, type KeyKind } from './helpers.ts';
import { openssl, opensslOk, removeTempDirs, tempDir, writePem } from '../support/openssl.ts';

afterAll(removeTempDirs);

const dir = tempDir('certgate-cms-');

interface Party {
  ca: Ca;
  caFile: string;
  der: Buffer;
  certFile: string;
  keyFile: string;
  signer: SoftwareSigner;
}

function party(kind: KeyKind, name: string): Party {
  const ca = makeCa(kind === 'Ed25519' ? 'P-256' : kind, `CN=${name} CA,O=Certgate Test`);
  const leaf = makeLeaf(ca, { kind, subject: `CN=${name},O=Certgate Test` });
  return {
    ca,
    caFile: writePem(dir, `${name}-ca.pem`, ca.der),
    der: leaf.der,
    certFile: writePem(dir, `${name}.pem`, leaf.der),
    keyFile: writePem(dir, `${name}.key`, leaf.key.export({ format: 'der', type: 'pkcs8' }), 'PRIVATE KEY'),
    signer: new SoftwareSigner(leaf.key),
  };
}

const rsa = party('RSA-2048', 'rsa');
const ec = party('P-256', 'ec');
const p384 = party('P-384', 'p384');

const contentFile = join(dir, 'content.bin');
const content = Buffer.from('SCEP-ish content\n' + 'x'.repeat(3000) + '\r\n\x00binary\xff');
writeFileSync(contentFile, content);

function opensslSign(p: Party, extra: string[] = []): Buffer {
  const out = join(dir, 'signed.der');
  opensslOk(['cms', '-sign', '-binary', '-nodetach', '-outform', 'DER', '-signer', p.certFile, '-inkey', p.keyFile, '-in', contentFile, '-out', out, ...extra]);
  return readFileSync(out);
}

function opensslVerify(der: Buffer, ca: string, extra: string[] = []) {
  const file = join(dir, 'ours.der');
  writeFileSync(file, der);
  return openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', file, '-CAfile', ca, '-purpose', 'any', ...extra]);
}

describe('openssl cms -sign → parseSignedData + verifySigner', () => {
  it.each([
    ['RSA, signed attributes', rsa, []],
    ['RSA, -noattr', rsa, ['-noattr']],
    ['RSA-PSS', rsa, ['-keyopt', 'rsa_padding_mode:pss']],
    ['RSA, SHA-1', rsa, ['-md', 'sha1']],
    ['EC P-256', ec, []],
    ['EC P-384, SHA-512', p384, ['-md', 'sha512']],
    ['EC, subject key identifier', ec, ['-keyid']],
    ['EC, streamed BER (indefinite lengths, chunked eContent)', ec, ['-stream']],
    ['RSA with the CA certificate added', rsa, ['-certfile', rsa.caFile]],
  ] as [string, Party, string[]][])('%s', (_name, p, extra) => {
    const sd = parseSignedData(opensslSign(p, extra));
    expect(sd.contentType).toBe(cmsOids.data);
    expect(sd.content?.equals(content)).toBe(true);
    expect(sd.signers).toHaveLength(1);
    expect(sd.certificates.some((c) => c.equals(p.der))).toBe(true);
    const v = verifySigner(sd, 0);
    expect(v).toMatchObject({ ok: true });
    expect(v.certDer?.equals(p.der)).toBe(true);
    expect(signerCertificate(sd, sd.signers[0])?.equals(p.der)).toBe(true);
    const si = sd.signers[0];
    if (extra.includes('-keyid')) expect(si.subjectKeyId?.length).toBe(20);
    else expect(si.issuerAndSerial?.issuer.length).toBeGreaterThan(0);
    if (extra.includes('-noattr')) expect(si.signedAttrs.size).toBe(0);
    else expect(signingTime(si)!.getTime()).toBeGreaterThan(Date.now() - 600_000);
    // Another party's key or certificate does not verify it.
    const other = p === rsa ? ec : rsa;
    expect(verifySigner(sd, 0, other.signer.publicKey).ok).toBe(false);
    expect(verifySigner(sd, 0, other.der)).toMatchObject({ ok: false, reason: 'signer identifier does not name the certificate' });
  });

  it('two signers verify independently; a detached signature needs its content', () => {
    const two = parseSignedData(opensslSign(rsa, ['-signer', ec.certFile, '-inkey', ec.keyFile]));
    expect(two.signers).toHaveLength(2);
    expect(verifySigner(two, 0).ok && verifySigner(two, 1).ok).toBe(true);
    expect(verifySigner(two, 2).ok).toBe(false);

    const out = join(dir, 'detached.der');
    opensslOk(['cms', '-sign', '-binary', '-outform', 'DER', '-signer', ec.certFile, '-inkey', ec.keyFile, '-in', contentFile, '-out', out]);
    const detached = parseSignedData(readFileSync(out));
    expect(detached.content).toBeUndefined();
    expect(verifySigner(detached, 0)).toMatchObject({ ok: false });
    expect(verifySigner(detached, 0, undefined, content).ok).toBe(true);
    expect(verifySigner(detached, 0, undefined, Buffer.from('other')).reason).toBe('messageDigest does not match the content');
  });

  it('a changed content octet, signed attribute or signature fails with a reason; junk throws CmsError', () => {
    const der = opensslSign(ec);
    const flip = (at: number) => {
      const t = Buffer.from(der);
      t[at] ^= 0x01;
      return t;
    };
    expect(verifySigner(parseSignedData(flip(der.indexOf(Buffer.from('SCEP-ish')))), 0).reason).toBe('messageDigest does not match the content');
    const sd = parseSignedData(der);
    const attrs = sd.signers[0].signedAttrsDer!;
    const attrAt = der.indexOf(attrs.subarray(4));
    expect(verifySigner(parseSignedData(flip(attrAt + attrs.length - 10)), 0).ok).toBe(false);
    expect(verifySigner(parseSignedData(flip(der.length - 3)), 0).reason).toBe('bad signature');

    expect(() => parseSignedData(Buffer.from('not der'))).toThrow(CmsError);
    expect(() => parseSignedData(der.subarray(0, der.length - 5))).toThrow(CmsError);
    expect(() => parseSignedData(Buffer.concat([der, Buffer.from([0])]))).toThrow(CmsError);
    const enveloped = Buffer.from(der);
    enveloped[der.indexOf(Buffer.from([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02])) + 8] = 0x03;
    expect(() => parseSignedData(enveloped)).toThrow(/not signedData/);
  });
});

describe('buildSignedData → openssl cms -verify', () => {
  const txId = { oid: '2.16.840.1.113733.1.9.7', values: [printableString('tx-0042')] }; // SCEP transactionID

  it.each([
    ['RSA, rsaEncryption signature OID (default)', rsa, {}, '1.2.840.113549.1.1.1', '2.16.840.1.101.3.4.2.1'],
    ['RSA, sha256WithRSAEncryption', rsa, { rsaSignatureOid: 'sha-with-rsa' as const }, '1.2.840.113549.1.1.11', '2.16.840.1.101.3.4.2.1'],
    ['RSA, SHA-1 digest (old SCEP clients)', rsa, { digest: 'sha1' as const }, '1.2.840.113549.1.1.1', '1.3.14.3.2.26'],
    ['RSA, SHA-512 digest', rsa, { digest: 'sha512' as const, rsaSignatureOid: 'sha-with-rsa' as const }, '1.2.840.113549.1.1.13', '2.16.840.1.101.3.4.2.3'],
    ['EC P-256', ec, {}, '1.2.840.10045.4.3.2', '2.16.840.1.101.3.4.2.1'],
    ['EC P-384', p384, {}, '1.2.840.10045.4.3.3', '2.16.840.1.101.3.4.2.2'],
    ['EC P-256 with SHA-384', ec, { digest: 'sha384' as const }, '1.2.840.10045.4.3.3', '2.16.840.1.101.3.4.2.2'],
  ])('%s', async (_name, p, extra, sigOid, digestOid) => {
    const der = await buildSignedData({ content, signer: p.signer, signerCert: p.der, certificates: [p.ca.der], signedAttributes: [txId], ...extra });
    const r = opensslVerify(der, p.caFile);
    expect(r.output).toMatch(/Verification successful/);
    expect(r.stdout).toBe(content.toString('latin1'));
    const sd = parseSignedData(der);
    expect(sd.certificates).toEqual([p.der, p.ca.der]);
    expect(sd.signers[0].signatureAlgorithm).toBe(sigOid);
    expect(sd.signers[0].digestAlgorithm).toBe(digestOid);
    expect(sd.signers[0].signedAttrs.get(txId.oid)?.[0].equals(txId.values[0])).toBe(true);
    expect(verifySigner(sd, 0)).toMatchObject({ ok: true });
    expect(opensslOk(['cms', '-cmsout', '-print', '-inform', 'DER'], { input: der })).toMatch(/tx-0042/);
  });

  it('a chain that does not reach the CA file is refused by openssl (the check is real)', async () => {
    const der = await buildSignedData({ content, signer: rsa.signer, signerCert: rsa.der });
    expect(opensslVerify(der, ec.caFile).output).toMatch(/Verification failure|unable to get local issuer/);
  });

  it('detached, a non-data content type, and no content at all', async () => {
    const detached = await buildSignedData({ content, signer: ec.signer, signerCert: ec.der, detached: true });
    expect(parseSignedData(detached).content).toBeUndefined();
    expect(opensslVerify(detached, ec.caFile, ['-content', contentFile]).output).toMatch(/Verification successful/);

    const typed = await buildSignedData({ content, contentType: '1.2.840.113549.1.9.16.1.4', signer: ec.signer, signerCert: ec.der });
    const sd = parseSignedData(typed);
    expect(sd.version).toBe(3);
    expect(sd.contentType).toBe('1.2.840.113549.1.9.16.1.4');
    expect(verifySigner(sd, 0).ok).toBe(true);
    expect(opensslVerify(typed, ec.caFile).output).toMatch(/Verification successful/);

    // SCEP failure replies: no eContent, the digest of the empty string.
    const empty = parseSignedData(await buildSignedData({ signer: rsa.signer, signerCert: rsa.der }));
    expect(empty.content).toBeUndefined();
    expect(verifySigner(empty, 0, undefined, Buffer.alloc(0)).ok).toBe(true);
  });

  it('Ed25519 signers (RFC 8419: SHA-512 digest, pure EdDSA over the attributes)', async () => {
    const ed = party('Ed25519', 'ed');
    const sd = parseSignedData(await buildSignedData({ content, signer: ed.signer, signerCert: ed.der }));
    expect(sd.digestAlgorithms).toEqual(['2.16.840.1.101.3.4.2.3']);
    expect(sd.signers[0].signatureAlgorithm).toBe('1.3.101.112');
    expect(verifySigner(sd, 0).ok).toBe(true);
  });

  it('refuses the automatic attributes given twice', async () => {
    await expect(buildSignedData({ content, signer: ec.signer, signerCert: ec.der, signedAttributes: [{ oid: cmsOids.signingTime, values: [integer(1)] }] })).rejects.toThrow(CmsError);
  });
});

describe('certs-only (degenerate SignedData)', () => {
  it('openssl pkcs7 -print_certs lists every certificate and the CRL', () => {
    const crl = signTbs(
      buildTbsCertList({ signatureAlgorithm: sigAlg(ec.ca.key), issuer: ec.ca.name, thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 86_400_000), entries: [], extensions: [] }),
      ec.ca.key,
    );
    const p7 = buildCertsOnly([ec.der, ec.ca.der, rsa.der], [crl]);
    const out = opensslOk(['pkcs7', '-inform', 'DER', '-print_certs', '-noout'], { input: p7 });
    for (const cn of ['ec', 'ec CA', 'rsa']) expect(out).toMatch(new RegExp(`^subject=.*CN = ${cn}$`, 'm'));
    expect(opensslOk(['pkcs7', '-inform', 'DER', '-print_certs', '-text', '-noout'], { input: p7 })).toMatch(/Certificate Revocation List/);
    const sd = parseSignedData(p7);
    expect(sd.signers).toHaveLength(0);
    expect(sd.certificates).toEqual([ec.der, ec.ca.der, rsa.der]);
    expect(sd.crls).toEqual([crl]);
  });

  it('reads what `openssl crl2pkcs7` writes', () => {
    const p7 = Buffer.from(opensslOk(['crl2pkcs7', '-nocrl', '-certfile', rsa.certFile, '-certfile', rsa.caFile, '-outform', 'DER']), 'latin1');
    expect(parseSignedData(p7).certificates).toEqual([rsa.der, rsa.ca.der]);
  });
});
