/**
 * The shared structures the emCA adapter added to src/pki: CMS SignedData parsing/verification
 * (checked against what `openssl cms` produces in its many shapes) and PKCS#12 building (checked
 * by `openssl pkcs12`).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { buildCertsOnly, CmsError, parseSignedData, signerCertificate, verifySigner } from '../../src/pki/cms-signed-data.ts';
import { buildPkcs12 } from '../../src/pki/pkcs12.ts';
import { openssl, opensslTry, removeTempDirs, tempDir } from './helpers.ts';

afterAll(() => removeTempDirs());

function selfSigned(kind: 'ec' | 'rsa' | 'ed25519') {
  const d = tempDir();
  const key = join(d, 'k.pem');
  const cert = join(d, 'c.pem');
  const newkey = kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ed25519'];
  openssl(['req', '-x509', ...newkey, '-nodes', '-keyout', key, '-out', cert, '-subj', `/CN=${kind} signer`, '-days', '2']);
  const der = openssl(['x509', '-in', cert, '-outform', 'DER']);
  return { key, cert, der, parsed: parseCertificate(der), dir: d };
}

const key = (s: { parsed: { spki: Uint8Array } }) => createPublicKey({ key: Buffer.from(s.parsed.spki), format: 'der', type: 'spki' });

function sign(content: string, s: ReturnType<typeof selfSigned>, extra: string[] = []): Buffer {
  const inPath = join(s.dir, 'in.bin');
  writeFileSync(inPath, content);
  return openssl(['cms', '-sign', '-binary', '-nodetach', '-outform', 'DER', '-signer', s.cert, '-inkey', s.key, '-in', inPath, ...extra]);
}

describe('CMS SignedData (src/pki/cms-signed-data.ts) against openssl cms', () => {
  const ec = selfSigned('ec');
  const rsa = selfSigned('rsa');
  // (Ed25519 is not covered: OpenSSL 3.0's cms cannot sign with it.)

  it.each([
    ['EC P-256, DER, signed attributes', ec, []],
    ['EC P-256, BER streamed (indefinite lengths, constructed eContent)', ec, ['-stream']],
    ['RSA PKCS#1 v1.5', rsa, []],
    ['RSA-PSS', rsa, ['-keyopt', 'rsa_padding_mode:pss']],
    ['RSA without signed attributes', rsa, ['-noattr']],
    ['signer identified by subject key identifier', ec, ['-keyid']],
  ] as const)('%s: content, signer and signature', (_name, s, extra) => {
    const content = 'emCA content ' + 'x'.repeat(3000); // long enough for chunked BER
    const sd = parseSignedData(sign(content, s, [...extra]));
    expect(sd.content?.toString()).toBe(content);
    expect(sd.signers).toHaveLength(1);
    const signer = sd.signers[0];
    const found = signerCertificate(sd, signer);
    expect(found && Buffer.compare(found, s.der)).toBe(0);
    const v = verifySigner(sd, 0);
    expect(v).toMatchObject({ ok: true });
    expect(v.certDer?.equals(s.der)).toBe(true);
    // Another key does not verify it; another certificate is not the one the signer names.
    const other = s === ec ? rsa : ec;
    expect(verifySigner(sd, 0, key(other)).ok).toBe(false);
    expect(verifySigner(sd, 0, other.der).ok).toBe(false);
  });

  it('a changed content byte, a changed signed attribute or a detached signature fail', () => {
    const der = sign('hello world, signed', ec);
    const i = der.indexOf(Buffer.from('hello world'));
    const tampered = Buffer.from(der);
    tampered[i] ^= 0x20;
    const t = parseSignedData(tampered);
    expect(verifySigner(t, 0, ec.der)).toMatchObject({ ok: false, reason: 'messageDigest does not match the content' });

    const inPath = join(ec.dir, 'd.bin');
    writeFileSync(inPath, 'detached');
    const detached = parseSignedData(openssl(['cms', '-sign', '-binary', '-outform', 'DER', '-signer', ec.cert, '-inkey', ec.key, '-in', inPath]));
    expect(detached.content).toBeUndefined();
    expect(verifySigner(detached, 0, ec.der).ok).toBe(false);
    expect(verifySigner(detached, 0, ec.der, Buffer.from('detached')).ok).toBe(true);
  });

  it('two signers are reported as two', () => {
    const inPath = join(ec.dir, 'two.bin');
    writeFileSync(inPath, 'two');
    const der = openssl(['cms', '-sign', '-binary', '-nodetach', '-outform', 'DER', '-signer', ec.cert, '-inkey', ec.key, '-signer', rsa.cert, '-inkey', rsa.key, '-in', inPath]);
    const sd = parseSignedData(der);
    expect(sd.signers).toHaveLength(2);
    for (let i = 0; i < sd.signers.length; i++) expect(verifySigner(sd, i).ok).toBe(true);
  });

  it('junk, truncation and other content types throw CmsError', () => {
    const der = sign('x', ec);
    expect(() => parseSignedData(Buffer.from('not der'))).toThrow(CmsError);
    expect(() => parseSignedData(der.subarray(0, der.length - 5))).toThrow(CmsError);
    expect(() => parseSignedData(Buffer.concat([der, Buffer.from([0])]))).toThrow(CmsError);
    const certsOnly = buildCertsOnly([ec.der]);
    const sd = parseSignedData(certsOnly);
    expect(sd.signers).toHaveLength(0);
    expect(sd.content).toBeUndefined();
    const enveloped = Buffer.from(certsOnly);
    enveloped[certsOnly.indexOf(Buffer.from([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02])) + 8] = 0x03; // envelopedData
    expect(() => parseSignedData(enveloped)).toThrow(CmsError);
  });

  it('certs-only bundles read by openssl pkcs7', () => {
    const d = tempDir();
    writeFileSync(join(d, 'b.p7b'), buildCertsOnly([ec.der, rsa.der]));
    const out = openssl(['pkcs7', '-inform', 'DER', '-in', join(d, 'b.p7b'), '-print_certs', '-noout']).toString();
    expect(out).toMatch(/ec signer/);
    expect(out).toMatch(/rsa signer/);
  });
});

describe('PKCS#12 (src/pki/pkcs12.ts) against openssl pkcs12', () => {
  const ec = selfSigned('ec');
  const pkcs8 = createPrivateKey(readFileSync(ec.key)).export({ format: 'der', type: 'pkcs8' });

  it.each([
    ['aes', /PBES2, PBKDF2, AES-256-CBC.*PRF hmacWithSHA256/, /MAC: sha256/],
    ['legacy', /PBES2, PBKDF2, DES-EDE3-CBC.*PRF hmacWithSHA1/, /MAC: sha1/],
  ] as const)('%s: openssl opens it, the key and certificate come back, a wrong password fails', async (encryption, cipher, mac) => {
    const password = 'pässwörd €';
    const pfx = await buildPkcs12({ privateKey: pkcs8, certificate: ec.der, chain: [ec.der], password, friendlyName: 'emca test', encryption });
    const d = tempDir();
    const p = join(d, 'x.p12');
    writeFileSync(p, pfx);
    const info = opensslTry(['pkcs12', '-info', '-noout', '-in', p, '-passin', `pass:${password}`]);
    expect(info.status).toBe(0);
    expect(info.out).toMatch(cipher);
    expect(info.out).toMatch(mac);
    const keyPem = openssl(['pkcs12', '-in', p, '-passin', `pass:${password}`, '-nocerts', '-nodes']).toString();
    expect(createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' }).equals(pkcs8)).toBe(true);
    const certs = openssl(['pkcs12', '-in', p, '-passin', `pass:${password}`, '-nokeys']).toString();
    expect(certs).toMatch(/friendlyName: emca test/);
    expect(certs.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(opensslTry(['pkcs12', '-info', '-noout', '-in', p, '-passin', 'pass:wrong']).status).not.toBe(0);
  });

  it('an RSA key too', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsa = selfSigned('rsa');
    const pfx = await buildPkcs12({ privateKey: createPrivateKey(readFileSync(rsa.key)).export({ format: 'der', type: 'pkcs8' }), certificate: rsa.der, password: 'p' });
    const d = tempDir();
    writeFileSync(join(d, 'r.p12'), pfx);
    expect(opensslTry(['pkcs12', '-info', '-noout', '-in', join(d, 'r.p12'), '-passin', 'pass:p']).status).toBe(0);
    expect(privateKey.asymmetricKeyType).toBe('rsa');
  });
});
