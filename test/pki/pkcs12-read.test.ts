/** PKCS#12 reading (src/pki/pkcs12-read.ts) against PFX files written by openssl and by pkcs12.ts. */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPkcs12 } from '../../src/pki/pkcs12.ts';
import { Pkcs12ReadError, readPkcs12 } from '../../src/pki/pkcs12-read.ts';
import { decodeSigningCertificateV2, encodeSigningCertificateV2 } from '../../src/pki/cms-signing-certificate-v2.ts';
import { createHash } from 'node:crypto';
import { openssl, removeTempDirs, tempDir } from '../support/openssl.ts';

afterAll(() => removeTempDirs());

function opensslPfx(keyType: 'ec' | 'rsa', extra: string[] = []): { pfx: Buffer; cert: Buffer; keyPem: string } {
  const d = tempDir();
  const keyArgs = keyType === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  expect(openssl(['req', '-x509', ...keyArgs, '-nodes', '-keyout', join(d, 'k.pem'), '-out', join(d, 'c.pem'), '-subj', '/CN=p12 test', '-days', '1']).status).toBe(0);
  const r = openssl(['pkcs12', '-export', '-inkey', join(d, 'k.pem'), '-in', join(d, 'c.pem'), '-out', join(d, 'k.p12'), '-passout', 'pass:s3cret pass', ...extra]);
  expect(r.status, r.output).toBe(0);
  expect(openssl(['x509', '-in', join(d, 'c.pem'), '-outform', 'DER', '-out', join(d, 'c.der')]).status).toBe(0);
  return { pfx: readFileSync(join(d, 'k.p12')), cert: readFileSync(join(d, 'c.der')), keyPem: readFileSync(join(d, 'k.pem'), 'latin1') };
}

const samePublic = (pkcs8: Buffer, pem: string) =>
  createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }).equals(createPublicKey(pem).export({ format: 'der', type: 'spki' }));

describe('readPkcs12', () => {
  it('reads what openssl pkcs12 -export writes (AES-256-CBC, PBKDF2, HMAC-SHA256): the key and the certificate', async () => {
    for (const kt of ['ec', 'rsa'] as const) {
      const { pfx, cert, keyPem } = opensslPfx(kt);
      const c = await readPkcs12(pfx, 's3cret pass');
      expect(samePublic(c.privateKey, keyPem)).toBe(true);
      expect(c.certificates[0].equals(cert)).toBe(true);
      expect(c.encryption).toBe('aes');
    }
  });

  it('a wrong password fails the MAC; legacy PKCS#12 PBE (openssl -legacy) is refused by name', async () => {
    const { pfx } = opensslPfx('ec');
    await expect(readPkcs12(pfx, 'wrong')).rejects.toThrow(Pkcs12ReadError);
    await expect(readPkcs12(pfx, 'wrong')).rejects.toThrow(/MAC mismatch/);
    const legacy = opensslPfx('ec', ['-certpbe', 'PBE-SHA1-3DES', '-keypbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']);
    await expect(readPkcs12(legacy.pfx, 's3cret pass')).rejects.toThrow(/PBES2 only/);
    await expect(readPkcs12(Buffer.from('not a pfx'), 'x')).rejects.toThrow(/not a PKCS#12/);
  });

  it('round trip with buildPkcs12, aes and legacy (PBES2 + 3DES)', async () => {
    const { pfx, cert } = opensslPfx('ec');
    const first = await readPkcs12(pfx, 's3cret pass');
    for (const encryption of ['aes', 'legacy'] as const) {
      const again = await buildPkcs12({ privateKey: first.privateKey, certificate: cert, password: 'new pass', encryption });
      const r = await readPkcs12(again, 'new pass');
      expect(r.privateKey.equals(first.privateKey)).toBe(true);
      expect(r.encryption).toBe(encryption);
      const d = tempDir();
      const p = join(d, 'x.p12');
      (await import('node:fs')).writeFileSync(p, again);
      expect(openssl(['pkcs12', '-info', '-noout', '-in', p, '-passin', 'pass:new pass']).status).toBe(0);
    }
  });
});

describe('ESS signing-certificate-v2', () => {
  it('names the certificate by its SHA-256 (default, hashAlgorithm left out) or SHA-512 hash; openssl parses it', async () => {
    const { cert } = opensslPfx('ec');
    const v = encodeSigningCertificateV2(cert);
    expect(decodeSigningCertificateV2(v)).toEqual({ hash: 'sha256', certHash: createHash('sha256').update(cert).digest() });
    const v512 = decodeSigningCertificateV2(encodeSigningCertificateV2(cert, 'sha512'));
    expect(v512).toEqual({ hash: 'sha512', certHash: createHash('sha512').update(cert).digest() });
    const parsed = openssl(['asn1parse', '-inform', 'DER'], { input: v });
    expect(parsed.status).toBe(0);
    expect(parsed.stdout).toMatch(/\[HEX DUMP\]:|OCTET STRING/);
  });
});
