import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import * as pkijs from 'pkijs';
import { readTlv, seq } from '../../src/pki/der.ts';
import * as X from '../../src/pki/extensions.ts';
import { parseCertificate, parseExtensions } from '../../src/pki/certificate.ts';
import { fromPem } from '../../src/pki/pem.ts';
import { openssl, tempDir } from './helpers.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Parses one Extension into { oid, critical, valueHex }. */
function ext(der: Buffer) {
  const list = seq(der);
  const [e] = parseExtensions(list, readTlv(list));
  return { oid: e.oid, critical: e.critical, value: hex(e.value) };
}

describe('extensions', () => {
  it('keyUsage: named bit string with trailing zeros removed', () => {
    expect(ext(X.keyUsage(['digitalSignature']))).toEqual({ oid: '2.5.29.15', critical: true, value: '03020780' });
    expect(ext(X.keyUsage(['digitalSignature', 'keyEncipherment'])).value).toBe('030205a0');
    expect(ext(X.keyUsage(['keyCertSign', 'cRLSign'])).value).toBe('03020106');
    expect(ext(X.keyUsage(['cRLSign', 'keyCertSign', 'digitalSignature'])).value).toBe('03020186');
    expect(ext(X.keyUsage(['encipherOnly', 'keyAgreement'])).value).toBe('03020009');
    expect(ext(X.keyUsage(['decipherOnly'])).value).toBe('0303070080');
    expect(ext(X.keyUsage(['digitalSignature', 'decipherOnly'])).value).toBe('0303078080');
    expect(() => X.keyUsage([])).toThrow();
    expect(() => X.keyUsage(['bogus'])).toThrow(/bogus/);
  });

  it('basicConstraints is critical; FALSE/absent pathLen are omitted', () => {
    expect(ext(X.basicConstraints(false))).toEqual({ oid: '2.5.29.19', critical: true, value: '3000' });
    expect(ext(X.basicConstraints(true)).value).toBe('30030101ff');
    expect(ext(X.basicConstraints(true, 0)).value).toBe('30060101ff020100');
    expect(() => X.basicConstraints(false, 1)).toThrow();
  });

  it('critical is encoded only when true', () => {
    expect(hex(X.extKeyUsage(['1.3.6.1.5.5.7.3.1']))).toBe('30130603551d25040c300a06082b06010505070301');
    expect(hex(X.ocspNoCheck())).toBe('300f06092b060105050730010504020500');
    expect(hex(X.crlReason(1))).toBe('300a0603551d1504030a0101');
    expect(hex(X.deltaCrlIndicator(7))).toBe('300d0603551d1b0101ff0403020107');
    expect(ext(X.crlNumber(2n ** 70n)).value).toBe('0209400000000000000000');
    expect(ext(X.crlNumber(300))).toEqual({ oid: '2.5.29.20', critical: false, value: '0202012c' });
    expect(ext(X.invalidityDate(new Date('2024-01-02T03:04:05Z'))).value).toBe(
      '180f' + Buffer.from('20240102030405Z').toString('hex'),
    );
    expect(() => X.crlReason(7)).toThrow();
  });

  it('IP addresses: IPv4, IPv6 compression, IPv4-mapped', () => {
    const cases: [string, string, string][] = [
      ['192.0.2.1', 'c0000201', '192.0.2.1'],
      ['::', '00000000000000000000000000000000', '::'],
      ['::1', '00000000000000000000000000000001', '::1'],
      ['2001:db8::1', '20010db8000000000000000000000001', '2001:db8::1'],
      ['2001:DB8:0:0:1:0:0:1', '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
      ['fe80::', 'fe800000000000000000000000000000', 'fe80::'],
      ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008', '1:2:3:4:5:6:7:8'],
      ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
      ['::ffff:192.0.2.128', '00000000000000000000ffffc0000280', '::ffff:192.0.2.128'],
      ['::ffff:c000:280', '00000000000000000000ffffc0000280', '::ffff:192.0.2.128'],
      ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221', '64:ff9b::c000:221'],
      ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304', '1:2:3:4:5:6:102:304'],
    ];
    for (const [input, bytes, canonical] of cases) {
      expect(hex(X.ipToBytes(input)), input).toBe(bytes);
      expect(X.ipFromBytes(Buffer.from(bytes, 'hex')), input).toBe(canonical);
    }
    for (const bad of ['1.2.3', '256.1.1.1', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', 'host.example', '::g', '']) {
      expect(() => X.ipToBytes(bad), bad).toThrow(/not an IP/);
    }
    expect(() => X.ipFromBytes(Buffer.alloc(8))).toThrow();
  });

  it('subjectAltName: GeneralName tags and round trip', () => {
    const ids = [
      { type: 'dns' as const, value: '*.example.com' },
      { type: 'dns' as const, value: 'bücher.example' },
      { type: 'ip' as const, value: '10.1.2.3' },
      { type: 'ip' as const, value: '2001:db8::7' },
      { type: 'email' as const, value: 'a@example.com' },
      { type: 'uri' as const, value: 'spiffe://example/ns/x' },
    ];
    const e = ext(X.subjectAltName(ids));
    expect(e.oid).toBe('2.5.29.17');
    expect(e.critical).toBe(false);
    expect(X.decodeGeneralNames(Buffer.from(e.value, 'hex'))).toEqual([
      ids[0],
      { type: 'dns', value: 'xn--bcher-kva.example' },
      ids[2],
      ids[3],
      ids[4],
      ids[5],
    ]);
    expect(X.subjectAltName([{ type: 'dns', value: 'a' }], true).subarray(7, 10)).toEqual(Buffer.from([1, 1, 0xff])); // BOOLEAN after OID
    expect(() => X.subjectAltName([{ type: 'email', value: 'é@x' }])).toThrow(/non-ASCII/);
    expect(() => X.subjectAltName([])).toThrow();
  });

  it('distribution points, AIA, IDP and policies parse with pkijs', () => {
    const parse = (der: Buffer) => pkijs.Extension.fromBER(der);
    const cdp = parse(X.crlDistributionPoints(['http://a.example/x.crl', 'ldap://b.example/cn=x']));
    const dps = (cdp.parsedValue as pkijs.CRLDistributionPoints).distributionPoints;
    expect(dps).toHaveLength(1);
    const names = dps[0].distributionPoint as pkijs.GeneralName[];
    expect(names.map((n) => [n.type, n.value])).toEqual([[6, 'http://a.example/x.crl'], [6, 'ldap://b.example/cn=x']]);

    const aia = parse(X.authorityInfoAccess({ ocsp: ['http://ocsp.example'], caIssuers: ['http://ca.example/ca.cer'] }));
    const ads = (aia.parsedValue as pkijs.InfoAccess).accessDescriptions;
    expect(ads.map((a) => [a.accessMethod, a.accessLocation.value])).toEqual([
      ['1.3.6.1.5.5.7.48.1', 'http://ocsp.example'],
      ['1.3.6.1.5.5.7.48.2', 'http://ca.example/ca.cer'],
    ]);

    const idp = parse(X.issuingDistributionPoint({ url: 'http://a.example/x.crl', onlyContainsUserCerts: true }));
    expect(idp.critical).toBe(true);
    const idpv = idp.parsedValue as pkijs.IssuingDistributionPoint;
    expect(idpv.onlyContainsUserCerts).toBe(true);
    expect((idpv.distributionPoint as pkijs.GeneralName[])[0].value).toBe('http://a.example/x.crl');

    const pol = parse(X.certificatePolicies(['2.23.140.1.2.1', '1.3.6.1.4.1.99999.1']));
    expect((pol.parsedValue as pkijs.CertificatePolicies).certificatePolicies.map((p) => p.policyIdentifier)).toEqual([
      '2.23.140.1.2.1',
      '1.3.6.1.4.1.99999.1',
    ]);

    const aki = parse(X.authorityKeyIdentifier(Buffer.from('0102', 'hex')));
    expect(hex(new Uint8Array((aki.parsedValue as pkijs.AuthorityKeyIdentifier).keyIdentifier!.valueBlock.valueHexView))).toBe('0102');

    const fr = parse(X.freshestCrl(['http://a.example/delta.crl']));
    expect(fr.extnID).toBe('2.5.29.46');
  });

  it('keyIdentifier matches OpenSSL subjectKeyIdentifier=hash', () => {
    const dir = tempDir();
    for (const alg of [['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], ['-newkey', 'rsa:2048'], ['-newkey', 'ed25519']]) {
      const out = join(dir, 'c.pem');
      const r = openssl(['req', '-x509', ...alg, '-nodes', '-keyout', join(dir, 'k.pem'), '-subj', '/CN=ski', '-days', '1',
        '-addext', 'subjectKeyIdentifier=hash', '-out', out]);
      expect(r.status, r.out).toBe(0);
      const c = parseCertificate(fromPem(readFileSync(out, 'utf8'), 'CERTIFICATE')[0]);
      expect(c.ski).toBeDefined();
      expect(X.keyIdentifier(c.spki)).toEqual(c.ski);
    }
  });
});
