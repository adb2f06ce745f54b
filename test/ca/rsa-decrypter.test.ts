/**
 * SoftwareRsaDecrypter: PKCS#1 v1.5 through RSA_NO_PADDING with constant-time unpadding and
 * implicit rejection; OAEP through node. Checked against node's and openssl's encryption, and
 * against the implicit-rejection test vectors of draft-irtf-cfrg-rsa-guidance Appendix B.1.
 */
import { constants, createPrivateKey, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SoftwareRsaDecrypter } from '../../src/ca/rsa-decrypter.ts';
import { opensslOk, removeTempDirs, tempDir } from '../support/openssl.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dec = new SoftwareRsaDecrypter(privateKey);
const v15 = { kind: 'pkcs1-v1_5' } as const;

afterAll(removeTempDirs);

const encV15 = (m: Uint8Array) => publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, m);

/** EM = 00 02 PS 00 M with the given PS and a raw RSA encryption of it (to build malformed blocks). */
function rawEncrypt(em: Buffer): Buffer {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, em);
}
function block(opts: { first?: number; second?: number; psLen?: number; message: Buffer; separator?: boolean }): Buffer {
  const k = 256;
  const psLen = opts.psLen ?? k - 3 - opts.message.length;
  const ps = Buffer.alloc(psLen, 0x5a);
  const sep = opts.separator === false ? Buffer.alloc(0) : Buffer.from([0]);
  const em = Buffer.concat([Buffer.from([opts.first ?? 0, opts.second ?? 2]), ps, sep, opts.message]);
  if (em.length !== k) throw new Error(`test block is ${em.length} octets`);
  return em;
}

describe('PKCS#1 v1.5 round trips', () => {
  it('decrypts node-encrypted keys of every CEK length, with and without expectedLength', async () => {
    for (const len of [0, 1, 8, 16, 24, 32, 245]) {
      const m = randomBytes(len);
      expect(await dec.decrypt(encV15(m), v15)).toEqual(m);
      expect(await dec.decrypt(encV15(m), v15, len)).toEqual(m);
    }
  });

  it('decrypts `openssl pkeyutl -encrypt` ciphertexts (PKCS#1 v1.5 and OAEP SHA-1/SHA-256)', async () => {
    const dir = tempDir();
    const pub = join(dir, 'pub.pem');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(pub, publicKey.export({ format: 'pem', type: 'spki' }));
    const m = randomBytes(32);
    writeFileSync(join(dir, 'm.bin'), m);
    const run = (opts: string[], out: string) => {
      opensslOk(['pkeyutl', '-encrypt', '-pubin', '-inkey', pub, '-in', join(dir, 'm.bin'), '-out', join(dir, out), ...opts]);
      return readFileSync(join(dir, out));
    };
    expect(await dec.decrypt(run([], 'v15.bin'), v15, 32)).toEqual(m);
    expect(await dec.decrypt(run(['-pkeyopt', 'rsa_padding_mode:oaep'], 'oaep1.bin'), { kind: 'oaep', hash: 'sha1' }, 32)).toEqual(m);
    const oaep256 = run(['-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256'], 'oaep256.bin');
    expect(await dec.decrypt(oaep256, { kind: 'oaep', hash: 'sha256' })).toEqual(m);
  });
});

describe('implicit rejection (draft-irtf-cfrg-rsa-guidance Appendix B.1 vectors)', () => {
  const key = createPrivateKey(readFileSync(join(fixtures, 'ir-k2048.pem')));
  const vectors = JSON.parse(readFileSync(join(fixtures, 'ir-k2048-cases.json'), 'utf8')) as { cases: { title: string; ciphertext: string; expected: string }[] };
  const d = new SoftwareRsaDecrypter(key);
  for (const c of vectors.cases) {
    it(c.title, async () => {
      expect((await d.decrypt(Buffer.from(c.ciphertext, 'hex'), v15)).toString('hex')).toBe(c.expected);
    });
  }
});

describe('no padding oracle', () => {
  const cek = randomBytes(16);
  const malformed: [string, Buffer][] = [
    ['first octet not 00', block({ first: 1, message: cek })],
    ['block type 01', block({ second: 1, message: cek })],
    ['PS of 7 octets', block({ psLen: 7, message: Buffer.concat([Buffer.alloc(256 - 3 - 7 - 16, 1), cek]) })],
    ['no separator', block({ psLen: 200, message: Buffer.alloc(54, 0x33), separator: false })],
    ['message one octet too long', block({ message: Buffer.concat([Buffer.from([9]), cek]) })],
    ['message one octet too short', block({ message: cek.subarray(1) })],
  ];

  for (const [what, em] of malformed) {
    it(`${what}: a deterministic pseudo-random result of expectedLength, no error`, async () => {
      const c = rawEncrypt(em);
      const a = await dec.decrypt(c, v15, 16);
      expect(a.length).toBe(16);
      expect(a.equals(cek)).toBe(false);
      expect(await dec.decrypt(c, v15, 16)).toEqual(a);
    });
  }

  it('the rejection output depends on the ciphertext and on the key', async () => {
    const c1 = rawEncrypt(block({ first: 1, message: cek }));
    const c2 = rawEncrypt(block({ first: 2, message: cek }));
    const a1 = await dec.decrypt(c1, v15, 16);
    expect(await dec.decrypt(c2, v15, 16)).not.toEqual(a1);
    // Another key decrypting the same octets (a different, also malformed, block) rejects differently.
    const other = new SoftwareRsaDecrypter(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    expect(await other.decrypt(c1, v15, 16)).not.toEqual(a1);
  });

  it('without expectedLength: a PS of 7 octets or no separator is rejected, not unpadded', async () => {
    const m = Buffer.alloc(256 - 3 - 7, 0x61);
    const r = await dec.decrypt(rawEncrypt(block({ psLen: 7, message: m })), v15);
    expect(r.equals(m)).toBe(false);
    expect(r.length).toBeLessThan(256 - 10);
    const ok = Buffer.alloc(256 - 3 - 8, 0x61);
    expect(await dec.decrypt(rawEncrypt(block({ psLen: 8, message: ok })), v15)).toEqual(ok);
  });

  it('a well-formed block with the wrong message length yields the rejection output, not the message', async () => {
    const c = encV15(randomBytes(24));
    const r = await dec.decrypt(c, v15, 16);
    expect(r.length).toBe(16);
  });

  it('tampered, truncated, oversized and out-of-range ciphertexts never throw', async () => {
    const good = encV15(cek);
    const inputs = [
      Buffer.concat([good.subarray(0, 100), Buffer.from([good[100] ^ 1]), good.subarray(101)]),
      good.subarray(1),
      Buffer.concat([good, Buffer.from([0])]),
      Buffer.alloc(256, 0xff), // not below n
      Buffer.alloc(0),
    ];
    for (const c of inputs) {
      const r = await dec.decrypt(c, v15, 16);
      expect(r.length).toBe(16);
      expect(r.equals(cek)).toBe(false);
      const free = await dec.decrypt(c, v15);
      expect(free.length).toBeLessThan(256 - 10);
    }
  });

  it('OAEP failures (tampering, wrong hash) answer the same way: pseudo-random, no error', async () => {
    const c = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
    expect(await dec.decrypt(c, { kind: 'oaep', hash: 'sha256' }, 16)).toEqual(cek);
    const wrong = await dec.decrypt(c, { kind: 'oaep', hash: 'sha1' }, 16);
    expect(wrong.length).toBe(16);
    expect(wrong.equals(cek)).toBe(false);
    expect(await dec.decrypt(c, { kind: 'oaep', hash: 'sha1' }, 16)).toEqual(wrong);
    const flipped = Buffer.from(c);
    flipped[10] ^= 0x80;
    expect((await dec.decrypt(flipped, { kind: 'oaep', hash: 'sha256' }, 16)).equals(cek)).toBe(false);
  });

  it('refuses a non-RSA key and an impossible expectedLength (caller errors, not input errors)', async () => {
    expect(() => new SoftwareRsaDecrypter(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)).toThrow();
    await expect(dec.decrypt(encV15(cek), v15, 300)).rejects.toThrow(RangeError);
  });
});
