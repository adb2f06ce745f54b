/**
 * CMS EnvelopedData / AuthEnvelopedData (src/pki/cms-enveloped-data.ts) both ways against
 * `openssl cms -encrypt/-decrypt`, every content cipher (single DES through openssl's legacy
 * provider), RSA PKCS#1 v1.5 and OAEP key transport, several recipients, and the no-oracle rule:
 * every failure is the same CmsDecryptError.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SoftwareRsaDecrypter } from '../../src/ca/rsa-decrypter.ts';
import { CmsDecryptError, decryptEnveloped, encryptEnveloped, type ContentCipher } from '../../src/pki/cms.ts';
import type { Decrypter, RsaScheme } from '../../src/protocol-context.ts';
import { makeCa, makeLeaf } from './helpers.ts';
import { openssl, opensslOk, removeTempDirs, tempDir, writePem } from '../support/openssl.ts';

afterAll(removeTempDirs);

const dir = tempDir('certgate-env-');
const ca = makeCa('RSA-2048', 'CN=Envelope CA,O=Certgate Test');

function recipient(name: string) {
  const leaf = makeLeaf(ca, { kind: 'RSA-2048', subject: `CN=${name},O=Certgate Test` });
  return {
    der: leaf.der,
    certFile: writePem(dir, `${name}.pem`, leaf.der),
    keyFile: writePem(dir, `${name}.key`, leaf.key.export({ format: 'der', type: 'pkcs8' }), 'PRIVATE KEY'),
    decrypter: new SoftwareRsaDecrypter(leaf.key),
  };
}
const alice = recipient('alice');
const bob = recipient('bob');

const content = Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\n' + 'A'.repeat(1500) + '\n\x00\xff binary tail');
const contentFile = join(dir, 'content.bin');
writeFileSync(contentFile, content);

/** openssl's legacy provider holds single DES; with it and the default one every cipher works. */
const providers = ['-provider', 'legacy', '-provider', 'default'];
const hasLegacy = openssl(['list', '-cipher-algorithms', ...providers]).output.includes('DES-CBC');

function opensslEncrypt(opts: string[], recips: string[]): Buffer {
  const out = join(dir, 'enc.der');
  opensslOk(['cms', '-encrypt', '-binary', ...providers, '-in', contentFile, '-outform', 'DER', '-out', out, ...opts, ...recips]);
  return readFileSync(out);
}

function opensslDecrypt(der: Buffer, r: typeof alice) {
  const file = join(dir, 'ours.der');
  writeFileSync(file, der);
  return openssl(['cms', '-decrypt', '-binary', ...providers, '-inform', 'DER', '-in', file, '-inkey', r.keyFile, '-recip', r.certFile]);
}

const ciphers: [ContentCipher, string][] = [
  ['aes-128-cbc', '-aes-128-cbc'],
  ['aes-192-cbc', '-aes-192-cbc'],
  ['aes-256-cbc', '-aes-256-cbc'],
  ['aes-128-gcm', '-aes-128-gcm'],
  ['aes-256-gcm', '-aes-256-gcm'],
  ['des-ede3-cbc', '-des3'],
  ['des-cbc', '-des'],
];

describe('openssl cms -encrypt → decryptEnveloped', () => {
  it('the legacy provider is there (single DES is tested against openssl)', () => {
    expect(hasLegacy).toBe(true);
  });

  it.each(ciphers)('%s, PKCS#1 v1.5 key transport', async (cipher, flag) => {
    const r = await decryptEnveloped(opensslEncrypt([flag], [alice.certFile]), alice.decrypter);
    expect(r.cipher).toBe(cipher);
    expect(r.content.equals(content)).toBe(true);
  });

  it.each([
    ['OAEP SHA-1', ['-keyopt', 'rsa_padding_mode:oaep']],
    ['OAEP SHA-256', ['-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256', '-keyopt', 'rsa_mgf1_md:sha256']],
  ])('%s key transport', async (_name, keyopts) => {
    const der = opensslEncrypt(['-aes-256-cbc', '-recip', alice.certFile, ...keyopts], []);
    expect((await decryptEnveloped(der, alice.decrypter)).content.equals(content)).toBe(true);
  });

  it('two recipients: each finds its own RecipientInfo (by certificate, or by key identifier with -keyid)', async () => {
    const der = opensslEncrypt(['-aes-128-cbc'], [alice.certFile, bob.certFile]);
    expect((await decryptEnveloped(der, alice.decrypter, { recipientCert: alice.der })).content.equals(content)).toBe(true);
    expect((await decryptEnveloped(der, bob.decrypter, { recipientCert: bob.der })).content.equals(content)).toBe(true);
    // Without a certificate and with two issuer-and-serial recipients there is no telling which is ours.
    await expect(decryptEnveloped(der, bob.decrypter)).rejects.toThrow(CmsDecryptError);
    const byKeyId = opensslEncrypt(['-aes-128-cbc', '-keyid'], [alice.certFile, bob.certFile]);
    expect((await decryptEnveloped(byKeyId, bob.decrypter)).content.equals(content)).toBe(true);
  });

  it('streamed BER (indefinite lengths, chunked encrypted content)', async () => {
    const der = opensslEncrypt(['-aes-128-cbc', '-stream'], [alice.certFile]);
    expect(der.subarray(0, 2).equals(Buffer.from([0x30, 0x80]))).toBe(true);
    expect((await decryptEnveloped(der, alice.decrypter)).content.equals(content)).toBe(true);
  });
});

describe('encryptEnveloped → openssl cms -decrypt', () => {
  it.each(ciphers)('%s', async (cipher) => {
    const der = encryptEnveloped(content, [{ certDer: alice.der }], cipher);
    const r = opensslDecrypt(der, alice);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(content.toString('latin1'));
    expect((await decryptEnveloped(der, alice.decrypter)).cipher).toBe(cipher);
  });

  it.each([['sha1'], ['sha256']] as const)('OAEP %s, two recipients', async (hash) => {
    const der = encryptEnveloped(content, [{ certDer: alice.der, scheme: { kind: 'oaep', hash } }, { certDer: bob.der }], 'aes-256-cbc');
    expect(opensslDecrypt(der, alice).stdout).toBe(content.toString('latin1'));
    expect(opensslDecrypt(der, bob).stdout).toBe(content.toString('latin1'));
    expect((await decryptEnveloped(der, alice.decrypter, { recipientCert: alice.der })).content.equals(content)).toBe(true);
  });
});

describe('recipients named by subject key identifier (EST server-side key generation)', () => {
  it.each(['aes-256-cbc', 'aes-128-gcm'] as const)('%s: openssl and we find the recipient by its key identifier', async (cipher) => {
    const der = encryptEnveloped(content, [{ certDer: bob.der }, { certDer: alice.der, identifyBy: 'subjectKeyIdentifier' }], cipher);
    const printed = opensslOk(['cms', '-cmsout', '-print', '-inform', 'DER'], { input: der });
    expect(printed).toMatch(/subjectKeyIdentifier/);
    if (cipher === 'aes-256-cbc') expect(printed).toMatch(/^\s*version: 2$/m);
    expect(opensslDecrypt(der, alice).stdout).toBe(content.toString('latin1'));
    expect((await decryptEnveloped(der, alice.decrypter)).content.equals(content)).toBe(true);
  });
});

describe('no padding oracle: one error for every failure', () => {
  /** Records what decryptEnveloped asks of the key store. */
  function spy(inner: Decrypter) {
    const calls: { scheme: RsaScheme; expectedLength?: number }[] = [];
    const d: Decrypter = {
      publicKey: inner.publicKey,
      decrypt: (c, scheme, expectedLength) => {
        calls.push({ scheme, expectedLength });
        return inner.decrypt(c, scheme, expectedLength);
      },
    };
    return { d, calls };
  }

  it('asks the Decrypter for exactly the cipher key length (implicit rejection)', async () => {
    for (const [cipher, len] of [['aes-128-cbc', 16], ['aes-256-gcm', 32], ['des-ede3-cbc', 24], ['des-cbc', 8]] as const) {
      const s = spy(alice.decrypter);
      await decryptEnveloped(encryptEnveloped(content, [{ certDer: alice.der }], cipher), s.d);
      expect(s.calls).toEqual([{ scheme: { kind: 'pkcs1-v1_5' }, expectedLength: len }]);
    }
  });

  it('wrong key, tampered key, tampered content, truncation, junk: the same CmsDecryptError', async () => {
    const der = encryptEnveloped(content, [{ certDer: alice.der }], 'aes-128-cbc');
    const gcm = encryptEnveloped(content, [{ certDer: alice.der }], 'aes-128-gcm');
    const flip = (b: Buffer, at: number) => {
      const t = Buffer.from(b);
      t[at] ^= 0x01;
      return t;
    };
    // A wrong content key makes CBC padding fail only with probability 255/256 (CMS CBC has no
    // integrity); GCM's tag fails always, so the key cases use GCM to stay deterministic.
    const keyAt = 200; // inside the 256-octet encryptedKey
    const cases: [string, Promise<unknown>][] = [
      ['wrong recipient key', decryptEnveloped(gcm, bob.decrypter)],
      ['tampered encryptedKey', decryptEnveloped(flip(gcm, keyAt), alice.decrypter)],
      // The last octet of the next-to-last block flips the last padding octet: never valid padding.
      ['tampered CBC padding', decryptEnveloped(flip(der, der.length - 17), alice.decrypter)],
      ['tampered GCM ciphertext', decryptEnveloped(flip(gcm, gcm.length - 40), alice.decrypter)],
      ['tampered GCM tag', decryptEnveloped(flip(gcm, gcm.length - 1), alice.decrypter)],
      ['truncated', decryptEnveloped(der.subarray(0, der.length - 20), alice.decrypter)],
      ['junk', decryptEnveloped(Buffer.from('not cms at all'), alice.decrypter)],
      ['a SignedData', decryptEnveloped(Buffer.from('3003060100', 'hex'), alice.decrypter)],
    ];
    for (const [what, p] of cases) {
      const e = await p.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e, what).toBeInstanceOf(CmsDecryptError);
      expect((e as Error).message, what).toBe('CMS decryption failed');
    }
  });
});
