import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsr } from '../../src/pki/csr.ts';
import { BadCsr } from '../../src/issuance/errors.ts';
import { fromPem } from '../../src/pki/pem.ts';
import { formatName } from '../../src/pki/name.ts';
import { readTlv } from '../../src/pki/der.ts';
import { makeCa, openssl, tempDir } from './helpers.ts';

let dir: string;

function req(name: string, args: string[], subj = '/C=IN/O=Acme, Inc./CN=host.example'): Buffer {
  const out = join(dir, `${name}.csr`);
  const r = openssl(['req', '-new', '-nodes', '-keyout', join(dir, `${name}.key`), '-subj', subj, '-outform', 'DER', '-out', out, ...args]);
  expect(r.status, r.out).toBe(0);
  return readFileSync(out);
}

function expectBadCsr(f: () => unknown, message: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BadCsr);
  expect((err as Error).message).toMatch(message);
}

beforeAll(() => {
  dir = tempDir();
});

describe('parseCsr with OpenSSL-generated requests', () => {
  it('EC P-256 with SANs', () => {
    const der = req('ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-addext', 'subjectAltName=DNS:host.example,DNS:www.host.example,IP:192.0.2.1,IP:2001:db8::1,email:ops@host.example,URI:https://host.example/',
      '-addext', 'keyUsage=critical,digitalSignature']);
    const c = parseCsr(der);
    expect(c.signatureValid).toBe(true);
    expect(c.key).toEqual({ type: 'EC', curve: 'P-256' });
    expect(c.subject).toEqual([
      { type: 'C', value: 'IN' },
      { type: 'O', value: 'Acme, Inc.' },
      { type: 'CN', value: 'host.example' },
    ]);
    expect(formatName(c.subject)).toBe('CN=host.example,O=Acme\\, Inc.,C=IN');
    expect(c.sans).toEqual([
      { type: 'dns', value: 'host.example' },
      { type: 'dns', value: 'www.host.example' },
      { type: 'ip', value: '192.0.2.1' },
      { type: 'ip', value: '2001:db8::1' },
      { type: 'email', value: 'ops@host.example' },
      { type: 'uri', value: 'https://host.example/' },
    ]);
    expect(c.requestedExtensions.map((e) => [e.oid, e.critical])).toEqual([
      ['2.5.29.17', false],
      ['2.5.29.15', true],
    ]);
    expect(c.requestedExtensions[1].value).toEqual(Buffer.from('03020780', 'hex'));
    expect(c.der).toBe(der);
    expect(c.subjectDer[0]).toBe(0x30);
    // SPKI is the exact subjectPublicKeyInfo bytes
    const k = openssl(['pkey', '-in', join(dir, 'ec.key'), '-pubout', '-outform', 'DER', '-out', join(dir, 'ec.pub')]);
    expect(k.status).toBe(0);
    expect(c.spki).toEqual(readFileSync(join(dir, 'ec.pub')));
  });

  it('EC P-384 (ecdsa-with-SHA384) and a PEM input', () => {
    const der = req('p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-sha384']);
    const c = parseCsr(der);
    expect([c.signatureValid, c.key, c.signatureAlgorithm]).toEqual([true, { type: 'EC', curve: 'P-384' }, '1.2.840.10045.4.3.3']);
    const pem = openssl(['req', '-in', join(dir, 'p384.csr'), '-inform', 'DER']).out;
    expect(parseCsr(Buffer.from(pem)).signatureValid).toBe(true);
  });

  it('RSA PKCS#1 v1.5 with SHA-256, SHA-384, SHA-1', () => {
    const der = req('rsa', ['-newkey', 'rsa:2048']);
    const c = parseCsr(der);
    expect([c.signatureValid, c.key, c.signatureAlgorithm]).toEqual([true, { type: 'RSA', bits: 2048 }, '1.2.840.113549.1.1.11']);
    for (const [h, oid] of [['-sha384', '1.2.840.113549.1.1.12'], ['-sha1', '1.2.840.113549.1.1.5']]) {
      const out = join(dir, 'rsa2.csr');
      const r = openssl(['req', '-new', '-key', join(dir, 'rsa.key'), '-subj', '/CN=x', h, '-outform', 'DER', '-out', out]);
      expect(r.status, r.out).toBe(0);
      const c2 = parseCsr(readFileSync(out));
      expect([c2.signatureValid, c2.signatureAlgorithm]).toEqual([true, oid]);
    }
  });

  it('RSASSA-PSS signatures (default and explicit salt length) and RSA-PSS keys', () => {
    const pss = parseCsr(req('pss', ['-newkey', 'rsa:2048', '-sigopt', 'rsa_padding_mode:pss']));
    expect([pss.signatureValid, pss.signatureAlgorithm]).toEqual([true, '1.2.840.113549.1.1.10']);
    const out = join(dir, 'pss2.csr');
    const r = openssl(['req', '-new', '-key', join(dir, 'pss.key'), '-subj', '/CN=x', '-sha384', '-sigopt', 'rsa_padding_mode:pss',
      '-sigopt', 'rsa_pss_saltlen:32', '-outform', 'DER', '-out', out]);
    expect(r.status, r.out).toBe(0);
    expect(parseCsr(readFileSync(out)).signatureValid).toBe(true);
    const pssKey = parseCsr(req('psskey', ['-newkey', 'rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048']));
    expect([pssKey.signatureValid, pssKey.key]).toEqual([true, { type: 'RSA', bits: 2048 }]);
  });

  it('Ed25519 and Ed448', () => {
    const ed = parseCsr(req('ed25519', ['-newkey', 'ed25519']));
    expect([ed.signatureValid, ed.key, ed.signatureAlgorithm]).toEqual([true, { type: 'Ed25519' }, '1.3.101.112']);
    const ed448 = parseCsr(req('ed448', ['-newkey', 'ed448']));
    expect([ed448.signatureValid, ed448.key]).toEqual([true, { type: 'Ed448' }]);
  });

  it('challengePassword', () => {
    const cnf = join(dir, 'chal.cnf');
    writeFileSync(cnf, '[req]\ndistinguished_name=dn\nattributes=at\nprompt=no\n[dn]\nCN=device-1\n[at]\nchallengePassword=s3cret-Pa55\n');
    const out = join(dir, 'chal.csr');
    const r = openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'chal.key'),
      '-config', cnf, '-outform', 'DER', '-out', out]);
    expect(r.status, r.out).toBe(0);
    const c = parseCsr(readFileSync(out));
    expect(c.challengePassword).toBe('s3cret-Pa55');
    expect(c.signatureValid).toBe(true);
    expect(c.subject).toEqual([{ type: 'CN', value: 'device-1' }]);
  });

  it('a flipped signature byte gives signatureValid false', () => {
    for (const name of ['ec', 'rsa', 'pss', 'ed25519']) {
      const der = Buffer.from(readFileSync(join(dir, `${name}.csr`)));
      der[der.length - 5] ^= 0x01;
      expect(parseCsr(der).signatureValid, name).toBe(false);
      // and a changed byte in the signed data
      const der2 = Buffer.from(readFileSync(join(dir, `${name}.csr`)));
      const i = der2.indexOf(Buffer.from('host.example'));
      der2[i] = 'H'.charCodeAt(0);
      expect(parseCsr(der2).signatureValid, name).toBe(false);
    }
  });
});

describe('parseCsr rejects bad input with BadCsr', () => {
  it('truncated, garbage, trailing data, empty', () => {
    const der = readFileSync(join(dir, 'ec.csr'));
    expectBadCsr(() => parseCsr(der.subarray(0, der.length - 10)), /malformed CSR: truncated/);
    expectBadCsr(() => parseCsr(der.subarray(0, 3)), /malformed CSR/);
    expectBadCsr(() => parseCsr(Buffer.concat([der, Buffer.from([0, 0])])), /trailing data/);
    expectBadCsr(() => parseCsr(Buffer.from('this is not a CSR at all')), /not a PKCS#10|malformed/);
    expectBadCsr(() => parseCsr(Buffer.alloc(0)), /empty/);
    expectBadCsr(() => parseCsr(Buffer.from([0x30, 0x80, 0, 0])), /indefinite/);
    expectBadCsr(() => parseCsr(Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n')), /PEM/);
    for (let n = 0; n < der.length; n += 7) {
      expect(() => parseCsr(der.subarray(0, n))).toThrow(BadCsr);
    }
  });

  it('random corruption never escapes as anything but BadCsr', () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (const name of ['ec', 'rsa', 'pss', 'ed25519', 'chal']) {
      const orig = readFileSync(join(dir, `${name}.csr`));
      for (let i = 0; i < 400; i++) {
        const der = Buffer.from(orig);
        for (let k = 0; k <= i % 3; k++) der[rnd() % der.length] = rnd() & 0xff;
        try {
          parseCsr(der);
        } catch (e) {
          expect(e).toBeInstanceOf(BadCsr);
        }
      }
    }
  });

  it('a certificate passed as a CSR', () => {
    const ca = makeCa('P-256');
    expectBadCsr(() => parseCsr(ca.der), /looks like a certificate/);
    const pem = Buffer.from(fromPem(openssl(['req', '-in', join(dir, 'ec.csr'), '-inform', 'DER']).out, 'CERTIFICATE REQUEST')[0]);
    expect(parseCsr(pem).signatureValid).toBe(true);
  });

  it('unknown signature algorithm', () => {
    const der = Buffer.from(readFileSync(join(dir, 'ec.csr')));
    // ecdsa-with-SHA256 (…04 03 02) → 1.2.840.10045.4.3.9 (unassigned)
    const algOid = Buffer.from('06082a8648ce3d040302', 'hex');
    const at = der.lastIndexOf(algOid);
    der[at + algOid.length - 1] = 0x09;
    expectBadCsr(() => parseCsr(der), /unsupported CSR signature algorithm 1\.2\.840\.10045\.4\.3\.9/);
  });

  it('wrong version and a malformed subject', () => {
    const der = Buffer.from(readFileSync(join(dir, 'ec.csr')));
    const info = readTlv(der, readTlv(der).start);
    expect(der.subarray(info.start, info.start + 3)).toEqual(Buffer.from([2, 1, 0]));
    der[info.start + 2] = 2;
    expectBadCsr(() => parseCsr(der), /version/);
    const der2 = Buffer.from(readFileSync(join(dir, 'ec.csr')));
    der2[der2.indexOf(Buffer.from('host.example'))] = 0xff; // invalid UTF-8 in the CN UTF8String
    expectBadCsr(() => parseCsr(der2), /malformed CSR subject/);
  });
});
