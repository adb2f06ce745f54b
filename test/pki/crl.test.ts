import { describe, expect, it } from 'vitest';
import * as pkijs from 'pkijs';
import { randomSerial, signTbs } from '../../src/pki/certificate.ts';
import { buildTbsCertList, parseCrl } from '../../src/pki/crl.ts';
import * as X from '../../src/pki/extensions.ts';
import { makeCa, makeLeaf, openssl, sigAlg, tempDir, writePem } from './helpers.ts';

const day = 86_400_000;

describe('CRL', () => {
  it('omits revokedCertificates when empty and parses back', () => {
    const ca = makeCa('P-256');
    const tbs = buildTbsCertList({
      signatureAlgorithm: sigAlg(ca.key),
      issuer: ca.name,
      thisUpdate: new Date('2030-01-01T00:00:00Z'),
      nextUpdate: new Date('2030-01-08T00:00:00Z'),
      entries: [],
      extensions: [X.authorityKeyIdentifier(ca.keyId), X.crlNumber(1)],
    });
    const crl = signTbs(tbs, ca.key);
    const p = parseCrl(crl);
    expect(p).toMatchObject({ number: 1n, isDelta: false, entries: [] });
    expect(p.thisUpdate.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(pkijs.CertificateRevocationList.fromBER(crl).revokedCertificates).toBeUndefined();
    const dir = tempDir();
    const t = openssl(['crl', '-in', writePem(dir, 'e.pem', crl, 'X509 CRL'), '-noout', '-text']);
    expect(t.out).toContain('No Revoked Certificates.');
  });

  it('delta CRL with issuingDistributionPoint and freshestCRL, removeFromCRL', () => {
    const dir = tempDir();
    const ca = makeCa('P-384');
    const leaf = makeLeaf(ca);
    const tbs = buildTbsCertList({
      signatureAlgorithm: sigAlg(ca.key),
      issuer: ca.name,
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + day),
      entries: [
        { serial: leaf.serial, revocationDate: new Date(Date.now() - 60_000), reason: 6 },
        { serial: '0102', revocationDate: new Date(Date.now() - 60_000), reason: 8 },
      ],
      extensions: [
        X.authorityKeyIdentifier(ca.keyId),
        X.crlNumber(11),
        X.deltaCrlIndicator(10),
        X.issuingDistributionPoint({ url: 'http://crl.example/ca-delta.crl', onlyContainsUserCerts: true }),
        X.freshestCrl(['http://crl.example/ca-delta.crl']),
      ],
    });
    const crl = signTbs(tbs, ca.key);
    const t = openssl(['crl', '-in', writePem(dir, 'd.pem', crl, 'X509 CRL'), '-noout', '-text']);
    expect(t.status, t.out).toBe(0);
    expect(t.out).toMatch(/Delta CRL Indicator: critical\s+10/);
    expect(t.out).toMatch(/Issuing Distribution Point: critical\s+Full Name:\s+URI:http:\/\/crl.example\/ca-delta.crl\s+Only User Certificates/);
    expect(t.out).toContain('Certificate Hold');
    expect(t.out).toContain('Remove From CRL');
    const p = parseCrl(crl);
    expect(p).toMatchObject({ number: 11n, isDelta: true, baseNumber: 10n });
    expect(p.entries.map((e) => e.reason)).toEqual([6, 8]);
    expect(p.extensions.find((e) => e.oid === '2.5.29.28')?.critical).toBe(true);
  });

  it('builds a 100,000-entry CRL that openssl accepts', () => {
    const dir = tempDir();
    const ca = makeCa('P-256');
    const now = Date.now();
    const serials = Array.from({ length: 100_000 }, () => randomSerial());
    function* entries() {
      for (let i = 0; i < serials.length; i++) {
        yield { serial: serials[i], revocationDate: new Date(now - i * 1000), reason: i % 11 === 7 ? 0 : i % 11 };
      }
    }
    const t0 = performance.now();
    const tbs = buildTbsCertList({
      signatureAlgorithm: sigAlg(ca.key),
      issuer: ca.name,
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + day),
      entries: entries(),
      extensions: [X.authorityKeyIdentifier(ca.keyId), X.crlNumber(123456789012345678901234567890n)],
    });
    const t1 = performance.now();
    const crl = signTbs(tbs, ca.key);
    const t2 = performance.now();
    console.log(`100,000-entry CRL: TBS built in ${(t1 - t0).toFixed(1)} ms, signed in ${(t2 - t1).toFixed(1)} ms, ${crl.length} bytes`);
    const path = writePem(dir, 'big.pem', crl, 'X509 CRL');
    const r = openssl(['crl', '-in', path, '-noout', '-CAfile', writePem(dir, 'ca.pem', ca.der, 'CERTIFICATE')]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('verify OK');
    const num = openssl(['crl', '-in', path, '-noout', '-crlnumber']);
    expect(num.out.trim()).toBe(`crlNumber=0x${'0' + 123456789012345678901234567890n.toString(16).toUpperCase()}`);
    const t3 = performance.now();
    const p = parseCrl(crl);
    console.log(`parseCrl of 100,000 entries: ${(performance.now() - t3).toFixed(1)} ms`);
    expect(p.entries).toHaveLength(100_000);
    expect(p.entries[5].reason).toBe(5);
    expect(p.entries[7].reason).toBeUndefined(); // code 0 omitted
    expect(p.entries[12_345].serialHex).toBe(serials[12_345].toString('hex'));
    expect(p.entries[99_999].revocationDate.getTime()).toBe(Math.floor((now - 99_999_000) / 1000) * 1000);
  });

  it('rejects bad input', () => {
    const ca = makeCa('Ed25519');
    const base = { signatureAlgorithm: sigAlg(ca.key), issuer: ca.name, thisUpdate: new Date(), nextUpdate: new Date(), extensions: [] };
    expect(() => buildTbsCertList({ ...base, entries: [{ serial: 'xyz', revocationDate: new Date() }] })).toThrow(/hex/);
    expect(() => buildTbsCertList({ ...base, entries: [{ serial: '01', revocationDate: new Date(), reason: 7 }] })).toThrow(/7/);
    const crl = signTbs(buildTbsCertList({ ...base, entries: [{ serial: '01', revocationDate: new Date() }] }), ca.key);
    expect(() => parseCrl(crl.subarray(0, crl.length - 2))).toThrow(/truncated/);
    expect(() => parseCrl(Buffer.concat([crl, Buffer.from([1])]))).toThrow(/trailing/);
  });
});
