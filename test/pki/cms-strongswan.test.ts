/**
 * CMS against a second independent implementation, strongSwan's `pki --pkcs7` (the PKCS#7 code
 * of strongSwan's SCEP client): it verifies our SignedData only with rsaEncryption in the
 * SignerInfo — which is why that is buildSignedData's default — and decrypts our CBC envelopes,
 * single DES included; we read what it signs and encrypts.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { SoftwareRsaDecrypter } from '../../src/ca/rsa-decrypter.ts';
import { SoftwareSigner } from '../../src/ca/signer.ts';
import { buildSignedData, decryptEnveloped, encryptEnveloped, parseSignedData, verifySigner } from '../../src/pki/cms.ts';
import { makeCa, makeLeaf } from './helpers.ts';
import { removeTempDirs, tempDir, writePem } from '../support/openssl.ts';

afterAll(removeTempDirs);

const installed = spawnSync('pki', ['--help']).error === undefined;

/** Runs `pki --pkcs7 …`; its exit status is not reliable (plugin warnings), the output is. */
function pki(args: string[], input: Uint8Array): { stdout: Buffer; stderr: string } {
  const r = spawnSync('pki', ['--pkcs7', ...args], { input, timeout: 30_000 });
  return { stdout: r.stdout, stderr: r.stderr.toString() };
}

describe.skipIf(!installed)('strongSwan pki --pkcs7 (CI installs strongswan-pki)', () => {
  const dir = tempDir('certgate-strongswan-');
  const ca = makeCa('RSA-2048', 'CN=strongSwan test CA');
  const leaf = makeLeaf(ca, { kind: 'RSA-2048', subject: 'CN=scep client' });
  const certFile = writePem(dir, 'c.pem', leaf.der);
  const keyFile = writePem(dir, 'k.pem', leaf.key.export({ format: 'der', type: 'pkcs8' }), 'PRIVATE KEY');
  const content = Buffer.from('a SCEP pkiMessage content\n');

  it('verifies our SignedData with rsaEncryption, refuses sha256WithRSAEncryption', async () => {
    const signer = new SoftwareSigner(leaf.key);
    const good = await buildSignedData({ content, signer, signerCert: leaf.der });
    expect(pki(['--verify', '--cert', certFile], good).stdout.equals(content)).toBe(true);
    const refused = pki(['--verify', '--cert', certFile], await buildSignedData({ content, signer, signerCert: leaf.der, rsaSignatureOid: 'sha-with-rsa' }));
    expect(refused.stdout.length).toBe(0);
    expect(refused.stderr).toMatch(/only RSA digest encryption supported/);
  });

  it('what pki signs, we parse and verify', () => {
    const sd = parseSignedData(pki(['--sign', '--key', keyFile, '--cert', certFile], content).stdout);
    expect(sd.content?.equals(content)).toBe(true);
    expect(verifySigner(sd, 0)).toMatchObject({ ok: true });
  });

  it('what pki encrypts, we decrypt', async () => {
    const env = pki(['--encrypt', '--cert', certFile], content).stdout;
    const r = await decryptEnveloped(env, new SoftwareRsaDecrypter(leaf.key));
    expect(r.content.equals(content)).toBe(true);
  });

  it.each(['aes-128-cbc', 'aes-256-cbc', 'des-ede3-cbc', 'des-cbc'] as const)('pki decrypts our %s envelope', (cipher) => {
    const env = encryptEnveloped(content, [{ certDer: leaf.der }], cipher);
    expect(pki(['--decrypt', '--key', keyFile, '--cert', certFile], env).stdout.equals(content)).toBe(true);
  });
});
