import { describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import {
  assembleSigned,
  buildTbsCertificate,
  parseCertificate,
  randomSerial,
  serialHex,
  signatureAlgorithmFor,
  signTbs,
} from '../../src/pki/certificate.ts';
import { buildTbsCertList, parseCrl } from '../../src/pki/crl.ts';
import * as X from '../../src/pki/extensions.ts';
import { decodeName, formatName } from '../../src/pki/name.ts';
import { keyInfoFromSpki } from '../../src/pki/keyinfo.ts';
import { type KeyKind, dn, makeCa, makeLeaf, openssl, sigAlg, spkiOf, tempDir, writePem } from './helpers.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const day = 86_400_000;

const expectedSigName: Record<KeyKind, string> = {
  'P-256': 'ecdsa-with-SHA256',
  'P-384': 'ecdsa-with-SHA384',
  'RSA-2048': 'sha256WithRSAEncryption',
  Ed25519: 'ED25519',
};

describe.each<KeyKind>(['P-256', 'P-384', 'RSA-2048', 'Ed25519'])('%s issuer', (kind) => {
  it('builds a CA and leaf that openssl and pkijs accept; CRL revokes', () => {
    const dir = tempDir();
    const ca = makeCa(kind);
    const sans = [
      { type: 'dns' as const, value: 'host.example' },
      { type: 'dns' as const, value: '*.host.example' },
      { type: 'ip' as const, value: '192.0.2.7' },
      { type: 'ip' as const, value: '2001:db8::7' },
      { type: 'email' as const, value: 'ops@host.example' },
      { type: 'uri' as const, value: 'https://host.example/' },
    ];
    const leaf = makeLeaf(ca, { sans, subject: 'CN=host.example,O=Acme\\, Inc.,C=IN' });
    const revoked = makeLeaf(ca, { kind: 'RSA-2048', subject: 'CN=revoked.example' });
    const root = writePem(dir, 'root.pem', ca.der, 'CERTIFICATE');
    const leafPem = writePem(dir, 'leaf.pem', leaf.der, 'CERTIFICATE');
    const revokedPem = writePem(dir, 'revoked.pem', revoked.der, 'CERTIFICATE');

    // openssl's view of the certificates
    const text = openssl(['x509', '-in', leafPem, '-noout', '-text', '-nameopt', 'RFC2253']);
    expect(text.status, text.out).toBe(0);
    expect(text.out).toContain('Version: 3 (0x2)');
    expect(text.out).toContain(`Signature Algorithm: ${expectedSigName[kind]}`);
    expect(text.out).toContain('Subject: CN=host.example,O=Acme\\, Inc.,C=IN');
    expect(text.out).toContain(`Issuer: CN=Test Root ${kind},O=Certgate Test,C=IN`);
    expect(text.out).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text.out).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text.out).toContain('TLS Web Server Authentication, TLS Web Client Authentication');
    expect(text.out).toContain(
      'DNS:host.example, DNS:*.host.example, IP Address:192.0.2.7, IP Address:2001:DB8:0:0:0:0:0:7, email:ops@host.example, URI:https://host.example/',
    );
    expect(text.out).toContain('URI:http://crl.example/ca.crl');
    expect(text.out).toContain('OCSP - URI:http://ocsp.example');
    expect(text.out).toContain('Policy: 2.23.140.1.2.1');
    expect(text.out).toContain(`Serial Number:`);
    const subj = openssl(['x509', '-in', leafPem, '-noout', '-subject', '-nameopt', 'RFC2253']);
    expect(subj.out.trim()).toBe(`subject=${formatName(decodeName(parseCertificate(leaf.der).subject))}`);
    const caText = openssl(['x509', '-in', root, '-noout', '-text']);
    expect(caText.out).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(caText.out).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);

    const v = openssl(['verify', '-CAfile', root, leafPem]);
    expect(v.out.trim()).toBe(`${leafPem}: OK`);
    expect(openssl(['verify', '-CAfile', root, revokedPem]).status).toBe(0);

    // CRL: the second leaf is revoked for keyCompromise
    const now = Date.now();
    const tbsCrl = buildTbsCertList({
      signatureAlgorithm: sigAlg(ca.key),
      issuer: ca.name,
      thisUpdate: new Date(now - 60_000),
      nextUpdate: new Date(now + 7 * day),
      entries: [
        { serial: revoked.serial, revocationDate: new Date(now - 30_000), reason: 1, invalidityDate: new Date(now - 86_400_000) },
        { serial: 'ab01', revocationDate: new Date(now - 30_000), reason: 0 },
        { serial: '7f', revocationDate: new Date(now - 30_000), reason: 4 },
      ],
      extensions: [X.authorityKeyIdentifier(ca.keyId), X.crlNumber(42)],
    });
    const crl = signTbs(tbsCrl, ca.key);
    const crlPem = writePem(dir, 'crl.pem', crl, 'X509 CRL');
    const ct = openssl(['crl', '-in', crlPem, '-noout', '-text']);
    expect(ct.status, ct.out).toBe(0);
    expect(ct.out).toContain('Version 2 (0x1)');
    expect(ct.out).toMatch(/X509v3 CRL Number:\s+42/);
    expect(ct.out).toMatch(/CRL Reason Code:\s+Key Compromise/);
    expect(ct.out).toMatch(/CRL Reason Code:\s+Superseded/);
    expect(ct.out).toContain('Invalidity Date');
    expect(ct.out).toContain(`Serial Number: ${hex(revoked.serial).toUpperCase()}`);
    expect(ct.out).toContain('Serial Number: AB01');
    expect(openssl(['crl', '-in', crlPem, '-noout', '-CAfile', root]).out).toContain('verify OK');

    const okLeaf = openssl(['verify', '-crl_check', '-CAfile', root, '-CRLfile', crlPem, leafPem]);
    expect(okLeaf.out.trim()).toBe(`${leafPem}: OK`);
    const bad = openssl(['verify', '-crl_check', '-CAfile', root, '-CRLfile', crlPem, revokedPem]);
    expect(bad.status).not.toBe(0);
    expect(bad.out).toContain('certificate revoked');

    const pc = parseCrl(crl);
    expect(pc.number).toBe(42n);
    expect(pc.isDelta).toBe(false);
    expect(pc.entries.map((e) => [e.serialHex, e.reason])).toEqual([
      [hex(revoked.serial), 1],
      ['00ab01', undefined],
      ['7f', 4],
    ]);
    expect(pc.entries[0].invalidityDate?.getTime()).toBe(Math.floor((now - 86_400_000) / 1000) * 1000);
    expect(pc.issuer).toEqual(ca.name);

    // pkijs's view
    const pj = pkijs.Certificate.fromBER(leaf.der);
    expect(pj.version).toBe(2);
    expect(hex(new Uint8Array(pj.serialNumber.valueBlock.valueHexView))).toBe(hex(leaf.serial));
    expect(pj.subject.typesAndValues.map((t) => [t.type, t.value.valueBlock.value])).toEqual([
      ['2.5.4.6', 'IN'],
      ['2.5.4.10', 'Acme, Inc.'],
      ['2.5.4.3', 'host.example'],
    ]);
    expect(pj.issuer.isEqual(pkijs.Certificate.fromBER(ca.der).subject)).toBe(true);
    expect(pj.extensions?.map((e) => e.extnID)).toEqual([
      '2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.14', '2.5.29.35', '2.5.29.17', '2.5.29.31', '1.3.6.1.5.5.7.1.1', '2.5.29.32',
    ]);
    const san = pj.extensions!.find((e) => e.extnID === '2.5.29.17')!.parsedValue as pkijs.AltName;
    expect(san.altNames.map((n) => n.type)).toEqual([2, 2, 7, 7, 1, 6]);
    const pcrl = pkijs.CertificateRevocationList.fromBER(crl);
    expect(pcrl.revokedCertificates).toHaveLength(3);
    expect(pcrl.nextUpdate?.value.getTime()).toBe(Math.floor((now + 7 * day) / 1000) * 1000);

    // our own parser
    const p = parseCertificate(leaf.der);
    expect(p.serialHex).toBe(hex(leaf.serial));
    expect(p.serialHex).toBe(serialHex(leaf.serial));
    expect(p.issuer).toEqual(ca.name);
    expect(p.sans).toEqual(sans);
    expect(p.isCa).toBe(false);
    expect(parseCertificate(ca.der).isCa).toBe(true);
    expect(parseCertificate(ca.der).ski).toEqual(ca.keyId);
    expect(p.ski).toEqual(X.keyIdentifier(p.spki));
    expect(keyInfoFromSpki(parseCertificate(ca.der).spki)).toEqual(
      kind === 'RSA-2048' ? { type: 'RSA', bits: 2048 } : kind === 'Ed25519' ? { type: 'Ed25519' } : { type: 'EC', curve: kind },
    );
  });
});

describe('certificate details', () => {
  it('randomSerial: 16 bytes, positive, no leading zero', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const s = randomSerial();
      expect(s).toHaveLength(16);
      expect(s[0]).toBeGreaterThan(0);
      expect(s[0]).toBeLessThan(0x80);
      seen.add(hex(s));
    }
    expect(seen.size).toBe(2000);
    expect(serialHex(Buffer.from([0x00, 0x00, 0x12]))).toBe('12');
    expect(serialHex(Buffer.from([0x80]))).toBe('0080');
  });

  it('signatureAlgorithmFor', () => {
    const k = (t: string, o: object): KeyObject =>
      (generateKeyPairSync as unknown as (t: string, o: object) => { privateKey: KeyObject })(t, o).privateKey;
    expect(signatureAlgorithmFor(k('ec', { namedCurve: 'P-256' }))).toEqual({
      algorithmIdentifier: Buffer.from('300a06082a8648ce3d040302', 'hex'),
      hash: 'sha256',
    });
    expect(signatureAlgorithmFor(k('ec', { namedCurve: 'P-384' })).hash).toBe('sha384');
    const p521 = signatureAlgorithmFor(k('ec', { namedCurve: 'P-521' }));
    expect([hex(p521.algorithmIdentifier), p521.hash]).toEqual(['300a06082a8648ce3d040304', 'sha512']);
    expect(signatureAlgorithmFor(k('rsa', { modulusLength: 1024 }))).toEqual({
      algorithmIdentifier: Buffer.from('300d06092a864886f70d01010b0500', 'hex'),
      hash: 'sha256',
    });
    expect(signatureAlgorithmFor(k('ed25519', {}))).toEqual({ algorithmIdentifier: Buffer.from('300506032b6570', 'hex'), hash: null });
    expect(() => signatureAlgorithmFor(k('ec', { namedCurve: 'secp256k1' }))).toThrow(/curve/);
  });

  it('uses GeneralizedTime from 2050, omits extensions when none, and P-521 verifies', () => {
    const dir = tempDir();
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const name = dn('CN=Far Future,C=IN');
    const sa = signatureAlgorithmFor(privateKey);
    const tbs = buildTbsCertificate({
      serial: Buffer.from([0x01]),
      signatureAlgorithm: sa.algorithmIdentifier,
      issuer: name,
      subject: name,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date('2051-03-04T05:06:07Z'),
      spki: spkiOf(publicKey),
      extensions: [],
    });
    const der = assembleSigned(tbs, sa.algorithmIdentifier, sign(sa.hash, tbs, privateKey));
    const pem = writePem(dir, 'c.pem', der, 'CERTIFICATE');
    const t = openssl(['x509', '-in', pem, '-noout', '-text']);
    expect(t.out).toContain('Not After : Mar  4 05:06:07 2051 GMT');
    expect(t.out).not.toContain('X509v3 extensions');
    expect(t.out).toContain('ecdsa-with-SHA512');
    expect(t.out).toContain('Serial Number: 1 (0x1)');
    expect(parseCertificate(der).notAfter.toISOString()).toBe('2051-03-04T05:06:07.000Z');
    expect(parseCertificate(der).sans).toEqual([]);
    expect(() => buildTbsCertificate({
      serial: Buffer.from([0]), signatureAlgorithm: sa.algorithmIdentifier, issuer: name, subject: name,
      notBefore: new Date(), notAfter: new Date(), spki: spkiOf(publicKey), extensions: [],
    })).toThrow(/positive/);
  });

  it('parseCertificate rejects malformed input', () => {
    const ca = makeCa('P-256');
    expect(() => parseCertificate(ca.der.subarray(0, ca.der.length - 1))).toThrow(/truncated/);
    expect(() => parseCertificate(Buffer.concat([ca.der, Buffer.from([0])]))).toThrow(/trailing/);
    expect(() => parseCertificate(Buffer.from('hello'))).toThrow();
  });
});
