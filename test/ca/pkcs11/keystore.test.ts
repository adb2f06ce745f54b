/**
 * The PKCS#11 key store on a SoftHSM2 token of this test's own: keys generated non-extractable
 * (pkcs11-tool reads them independently), ECDSA P-256/P-384, RSA PKCS#1 v1.5 and PSS signatures
 * that node:crypto verifies, RSA decryption with implicit rejection, and a token that goes away
 * (refused at once, "try later") and comes back (signs again by itself).
 */
import { constants, createHash, publicEncrypt, randomBytes, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pkcs11KeyStore } from '../../../src/ca/pkcs11/keystore.ts';
import { Pkcs11Signer } from '../../../src/ca/pkcs11/signer.ts';
import { IssuanceError } from '../../../src/issuance/errors.ts';
import { signatureSchemeOf, verifySignature } from '../../../src/pki/algorithms.ts';
import { makeSoftHsm, pkcs11Tool, type SoftHsm } from '../../support/softhsm.ts';

let hsm: SoftHsm;
let store: Pkcs11KeyStore;

beforeAll(() => {
  hsm = makeSoftHsm('keystore-test');
  store = new Pkcs11KeyStore({ module: hsm.module, token: hsm.label, pin: hsm.pin, sessions: 3, retryMs: 200 }, randomBytes(32));
  expect(store.start()).toBe(true);
});
afterAll(() => {
  store?.close();
  hsm?.cleanup();
});

describe('PKCS#11 key store on SoftHSM2', () => {
  it.each([
    [{ type: 'EC', curve: 'P-256' } as const, 'ecdsa-with-SHA256', 'sha256'],
    [{ type: 'EC', curve: 'P-384' } as const, 'ecdsa-with-SHA384', 'sha384'],
    [{ type: 'RSA', bits: 2048 } as const, 'sha256WithRSAEncryption', 'sha256'],
  ])('generates %o on the token and signs what node:crypto verifies', async (spec, _alg, hash) => {
    const h = await store.generate(spec, `sign-${spec.type}-${'curve' in spec ? spec.curve : spec.bits}`);
    expect(h.keyRef).toMatch(/^pkcs11:token=keystore-test;id=(%[0-9A-F]{2}){16};object=sign-[A-Z0-9-]+;type=private$/);
    const data = randomBytes(200);
    const sig = await h.signer.sign(data);
    expect(verify(hash, data, h.signer.publicKey, sig)).toBe(true);
    expect(verifySignature(signatureSchemeOf(h.signer.algorithmIdentifier), h.signer.publicKey, data, sig)).toBe(true);
    expect(verify(hash, Buffer.concat([data, Buffer.from([0])]), h.signer.publicKey, sig)).toBe(false);
    // SHA-1 for old SCEP peers, through the same token key.
    expect(verify('sha1', data, h.signer.publicKey, await h.signer.signWithHash!('sha1', data))).toBe(true);
    // Opened again by its URI alone (no public key given): the same public key, read from the token.
    store['opened'].clear();
    const again = await store.open(h.keyRef);
    expect(again.signer.publicKey.export({ format: 'der', type: 'spki' })).toEqual(h.signer.publicKey.export({ format: 'der', type: 'spki' }));
  });

  it('signs RSASSA-PSS (CKM_RSA_PKCS_PSS) that node:crypto verifies with salt 32', async () => {
    const h = await store.generate({ type: 'RSA', bits: 2048 }, 'pss');
    const pss = new Pkcs11Signer(store.token, store['lookup'](h.keyRef, { object: 'pss' }), h.signer.publicKey, { pss: true });
    const data = randomBytes(100);
    const sig = await pss.sign(data);
    expect(verify('sha256', data, { key: h.signer.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)).toBe(true);
    expect(verifySignature(signatureSchemeOf(pss.algorithmIdentifier), h.signer.publicKey, data, sig)).toBe(true);
  });

  it('decrypts PKCS#1 v1.5 and OAEP through the token, with implicit rejection for bad padding', async () => {
    const h = await store.generate({ type: 'RSA', bits: 2048 }, 'decrypt');
    const d = h.decrypter!;
    const key = randomBytes(32);
    const v15 = publicEncrypt({ key: h.signer.publicKey, padding: constants.RSA_PKCS1_PADDING }, key);
    expect(await d.decrypt(v15, { kind: 'pkcs1-v1_5' })).toEqual(key);
    expect(await d.decrypt(v15, { kind: 'pkcs1-v1_5' }, 32)).toEqual(key);
    // SoftHSM2's CKM_RSA_PKCS_OAEP takes SHA-1 only.
    const oaep = publicEncrypt({ key: h.signer.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, key);
    expect(await d.decrypt(oaep, { kind: 'oaep', hash: 'sha1' })).toEqual(key);
    // A block that is not PKCS#1 v1.5 (raw RSA of random data): no error, a pseudo-random key,
    // the same one for the same ciphertext (nothing tells a client its padding was wrong).
    const bad = publicEncrypt({ key: h.signer.publicKey, padding: constants.RSA_NO_PADDING }, Buffer.concat([Buffer.from([0, 1]), randomBytes(254)]));
    const r1 = await d.decrypt(bad, { kind: 'pkcs1-v1_5' }, 32);
    const r2 = await d.decrypt(bad, { kind: 'pkcs1-v1_5' }, 32);
    expect(r1.length).toBe(32);
    expect(r1).toEqual(r2);
    expect(r1).not.toEqual(key);
    // Out of range (not below n) and wrong length: the same kind of answer, without the token.
    expect((await d.decrypt(Buffer.alloc(256, 0xff), { kind: 'pkcs1-v1_5' }, 16)).length).toBe(16);
    expect((await d.decrypt(Buffer.alloc(10), { kind: 'oaep', hash: 'sha1' }, 16)).length).toBe(16);
  });

  it('keeps every key sensitive and never extractable, as pkcs11-tool reads them', async () => {
    const out = pkcs11Tool(hsm, ['--list-objects', '--type', 'privkey']);
    const blocks = out.split(/\n(?=Private Key Object)/).filter((b) => b.startsWith('Private Key Object'));
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    for (const b of blocks) {
      expect(b).toMatch(/Access:\s+.*sensitive/);
      expect(b).toMatch(/never extractable/);
      const access = /Access:\s+(.*)/.exec(b)![1].split(',').map((a) => a.trim());
      expect(access).not.toContain('extractable');
    }
    const listed = await store.list();
    expect(listed.length).toBe(blocks.length);
    expect(listed.every((k) => k.sensitive && !k.extractable)).toBe(true);
  });

  it('refuses fast while the token is away, and signs again by itself when it returns', async () => {
    const h = await store.generate({ type: 'EC', curve: 'P-256' }, 'outage');
    expect((await store.test(h.keyRef)).ok).toBe(true);
    hsm.takeAway();
    try {
      const t0 = performance.now();
      const e = await Promise.resolve(h.signer.sign(Buffer.from('x'))).catch((x) => x);
      expect(e).toBeInstanceOf(IssuanceError);
      expect((e as IssuanceError).code).toBe('issuerUnavailable');
      expect((e as IssuanceError).message).toMatch(/try again later/);
      expect(await store.token.check()).toBe(false);
      // Within the retry interval: refused without touching the module.
      const e2 = await Promise.resolve(h.signer.sign(Buffer.from('x'))).catch((x) => x);
      expect((e2 as IssuanceError).code).toBe('issuerUnavailable');
      expect(performance.now() - t0).toBeLessThan(1000);
    } finally {
      hsm.bringBack();
    }
    await new Promise((r) => setTimeout(r, 250));
    const data = Buffer.from('back');
    expect(verify('sha256', data, h.signer.publicKey, await h.signer.sign(data))).toBe(true);
    expect(await store.token.check()).toBe(true);
  });

  it('signatures in flight when the token goes away all settle at once: signed, or refused "try later"', async () => {
    const h = await store.generate({ type: 'EC', curve: 'P-256' }, 'in-flight');
    await new Promise((r) => setTimeout(r, 250)); // past the previous test's retry window
    const t0 = performance.now();
    const inFlight = Array.from({ length: 30 }, (_, i) => Promise.resolve(h.signer.sign(Buffer.from(`m${i}`))).then(() => 'signed', (e) => (e as IssuanceError).code));
    hsm.takeAway();
    try {
      const outcomes = await Promise.all(inFlight);
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(new Set(outcomes.filter((o) => o !== 'signed'))).toEqual(new Set(outcomes.includes('issuerUnavailable') ? ['issuerUnavailable'] : []));
      expect(outcomes).toContain('issuerUnavailable');
    } finally {
      hsm.bringBack();
    }
    await new Promise((r) => setTimeout(r, 250));
    expect(verify('sha256', Buffer.from('z'), h.signer.publicKey, await h.signer.sign(Buffer.from('z')))).toBe(true);
  });

  it('signs concurrently on its session pool', async () => {
    const h = await store.generate({ type: 'EC', curve: 'P-256' }, 'pool');
    const datas = Array.from({ length: 40 }, () => randomBytes(50));
    const sigs = await Promise.all(datas.map((d) => h.signer.sign(d)));
    sigs.forEach((s, i) => expect(verify('sha256', datas[i], h.signer.publicKey, s)).toBe(true));
    expect(createHash('sha256').update(sigs[0]).digest()).not.toEqual(createHash('sha256').update(sigs[1]).digest());
  });
});
