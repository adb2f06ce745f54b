/**
 * The key agreement (kari, RFC 5753 ECDH ephemeral-static) and password (pwri, RFC 3211)
 * recipients of EnvelopedData, both ways against `openssl cms`: what we encrypt OpenSSL decrypts,
 * what OpenSSL encrypts we decode and unwrap.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeContentInfo } from '../../src/pki/cms-content-info.ts';
import { decryptContent } from '../../src/pki/cms-encrypted-content-info.ts';
import { decodeEnvelopedData, encryptEnveloped } from '../../src/pki/cms-enveloped-data.ts';
import { unwrapKeyAgree } from '../../src/pki/cms-key-agree-recipient-info.ts';
import { unwrapPassword } from '../../src/pki/cms-password-recipient-info.ts';
import { fromPem } from '../../src/pki/pem.ts';
import { openssl, opensslOk, removeTempDirs, tempDir, writeDer } from '../support/openssl.ts';

let dir: string;
const f = (n: string) => join(dir, n);

function selfSigned(name: string, keyArgs: string[]): { certDer: Buffer; keyFile: string; certFile: string } {
  opensslOk(['genpkey', ...keyArgs, '-out', f(`${name}.key`)]);
  opensslOk(['req', '-new', '-x509', '-key', f(`${name}.key`), '-subj', `/CN=${name}`, '-days', '1', '-out', f(`${name}.pem`)]);
  return { certDer: fromPem(readFileSync(f(`${name}.pem`), 'utf8'))[0], keyFile: f(`${name}.key`), certFile: f(`${name}.pem`) };
}

beforeAll(() => {
  dir = tempDir('certgate-cms-recip-');
});
afterAll(() => removeTempDirs());

describe('EnvelopedData to an EC certificate (kari)', () => {
  for (const curve of ['P-256', 'P-384', 'P-521']) {
    it(`${curve}: openssl cms -decrypt reads what we wrote`, () => {
      const ec = selfSigned(`ec-${curve}`, ['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`]);
      const content = randomBytes(100);
      const env = encryptEnveloped(content, [{ certDer: ec.certDer }], 'aes-256-cbc');
      writeDer(dir, `kari-${curve}.der`, env);
      const r = openssl(['cms', '-decrypt', '-inform', 'DER', '-in', f(`kari-${curve}.der`), '-inkey', ec.keyFile, '-recip', ec.certFile, '-binary', '-out', f(`kari-${curve}.out`)]);
      expect(r.status, r.output).toBe(0);
      expect(readFileSync(f(`kari-${curve}.out`)).equals(content)).toBe(true);
      // version 2 with a kari (RFC 5652 §6.1)
      expect(decodeEnvelopedData(env, decodeContentInfo(env).content).version).toBe(2);
    });
  }

  it('we unwrap what openssl cms -encrypt wrote to an EC certificate', () => {
    const ec = selfSigned('ec-in', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    writeDer(dir, 'plain.bin', Buffer.from('hello kari'));
    opensslOk(['cms', '-encrypt', '-binary', '-aes256', '-in', f('plain.bin'), '-outform', 'DER', '-out', f('in-kari.der'), ec.certFile]);
    const der = readFileSync(f('in-kari.der'));
    const ed = decodeEnvelopedData(der, decodeContentInfo(der).content);
    expect(ed.keyAgree).toHaveLength(1);
    const cek = unwrapKeyAgree(ed.keyAgree[0], createPrivateKey(readFileSync(ec.keyFile)));
    expect(decryptContent(ed.eci, cek).toString()).toBe('hello kari');
  });
});

describe('EnvelopedData to a password (pwri)', () => {
  it('openssl cms -decrypt -pwri_password reads what we wrote; a wrong password does not', () => {
    const content = randomBytes(333);
    const env = encryptEnveloped(content, [{ password: Buffer.from('s3cret-pass') }], 'aes-256-cbc');
    expect(decodeEnvelopedData(env, decodeContentInfo(env).content).version).toBe(3);
    writeDer(dir, 'pwri.der', env);
    const r = openssl(['cms', '-decrypt', '-inform', 'DER', '-in', f('pwri.der'), '-pwri_password', 's3cret-pass', '-binary', '-out', f('pwri.out')]);
    expect(r.status, r.output).toBe(0);
    expect(readFileSync(f('pwri.out')).equals(content)).toBe(true);
    expect(openssl(['cms', '-decrypt', '-inform', 'DER', '-in', f('pwri.der'), '-pwri_password', 'wrong', '-binary', '-out', f('pwri.bad')]).status).not.toBe(0);
  });

  it('we unwrap what openssl cms -encrypt -pwri_password wrote', () => {
    writeDer(dir, 'plain2.bin', Buffer.from('hello pwri'));
    opensslOk(['cms', '-encrypt', '-binary', '-aes256', '-in', f('plain2.bin'), '-outform', 'DER', '-out', f('in-pwri.der'), '-pwri_password', 'pw-from-openssl']);
    const der = readFileSync(f('in-pwri.der'));
    const ed = decodeEnvelopedData(der, decodeContentInfo(der).content);
    expect(ed.password).toHaveLength(1);
    const cek = unwrapPassword(ed.password[0], Buffer.from('pw-from-openssl'));
    expect(decryptContent(ed.eci, cek).toString()).toBe('hello pwri');
    expect(() => unwrapPassword(ed.password[0], Buffer.from('nope'))).toThrow();
  });
});
