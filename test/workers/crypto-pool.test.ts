import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { pbmKey } from '../../src/pki/cmp-pbm.ts';
import { pbmac1Key } from '../../src/pki/cmp-pbmac1.ts';
import type { MacKeyScheme } from '../../src/workers/crypto-jobs.ts';
import { BadCsr } from '../../src/issuance/errors.ts';
import { parseCsr } from '../../src/pki/csr.ts';
import { CryptoPool } from '../../src/workers/crypto-pool.ts';
import { makeCsr } from '../support/openssl.ts';

describe('request checks on worker threads', () => {
  const pool = new CryptoPool(2);
  afterAll(() => pool.close());

  it('gives the same result as inline parsing, for good, forged and malformed requests', async () => {
    expect(await pool.ready()).toBe(2);
    const csr = makeCsr({ subject: '/CN=worker.example', sans: ['DNS:worker.example', 'IP:192.0.2.7'] });
    const viaWorker = await pool.parseCsr(csr.der);
    const inline = parseCsr(csr.der);
    expect({ ...viaWorker, der: undefined }).toEqual({ ...inline, der: undefined });
    expect(viaWorker.signatureValid).toBe(true);
    expect(Buffer.isBuffer(viaWorker.spki)).toBe(true);

    const forged = Buffer.from(csr.der);
    forged[forged.length - 5] ^= 0x01;
    expect((await pool.parseCsr(forged)).signatureValid).toBe(false);

    const err = await pool.parseCsr(Buffer.from('not a csr')).catch((e) => e);
    expect(err).toBeInstanceOf(BadCsr);
    expect(err.message).toMatch(/CSR/);
  });

  it('spreads concurrent work and answers every request', async () => {
    const csrs = Array.from({ length: 4 }, (_, i) => makeCsr({ subject: `/CN=w${i}.example`, sans: [`DNS:w${i}.example`] }));
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.parseCsr(csrs[i % 4].der)));
    expect(results.every((r) => r.signatureValid)).toBe(true);
    expect(new Set(results.map((r) => r.subject[0].value)).size).toBe(4);
  });

  it('runs inline when closed or configured with no workers', async () => {
    const none = new CryptoPool(0);
    expect(await none.ready()).toBe(0);
    const csr = makeCsr({ subject: '/CN=inline.example', sans: ['DNS:inline.example'] });
    expect((await none.parseCsr(csr.der)).signatureValid).toBe(true);
    await none.close();
  });

  it('checks a POP signature as inline code does: good, forged, another algorithm, a broken key', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const data = randomBytes(200);
    const sig = sign('sha256', data, privateKey);
    const ecdsa256 = { oid: '1.2.840.10045.4.3.2' };
    expect(await pool.checkSignature(spki, ecdsa256, data, sig)).toEqual({ ok: true, keyInfo: { type: 'EC', curve: 'P-256' } });
    const forged = Buffer.from(sig);
    forged[forged.length - 1] ^= 1;
    expect(await pool.checkSignature(spki, ecdsa256, data, forged)).toEqual({ ok: false, reason: 'bad-signature' });
    // The signature is SHA-256 over the data: named as ecdsa-with-SHA384 it must not verify.
    expect(await pool.checkSignature(spki, { oid: '1.2.840.10045.4.3.3' }, data, sig)).toEqual({ ok: false, reason: 'bad-signature' });
    const broken = Buffer.from(spki);
    broken[broken.length - 1] ^= 1; // no longer a point on the curve
    expect(await pool.checkSignature(broken, ecdsa256, data, sig)).toEqual({ ok: false, reason: 'bad-key' });
    expect(await pool.checkSignature(Buffer.from([0x30, 0x00]), ecdsa256, data, sig)).toEqual({ ok: false, reason: 'bad-key' });
  });

  it('derives PasswordBasedMac and PBMAC1 keys byte for byte as inline code does; bad parameters throw', async () => {
    const secret = Buffer.from('a shared secret');
    const pbm: MacKeyScheme = { kind: 'pbm', params: { salt: randomBytes(16), owf: { oid: '2.16.840.1.101.3.4.2.1' }, iterationCount: 500, mac: { oid: '1.3.6.1.5.5.8.1.2' } } };
    const viaWorker = await pool.macKey(pbm, secret);
    expect(Buffer.isBuffer(viaWorker)).toBe(true);
    expect(viaWorker.equals(pbmKey((pbm as Extract<MacKeyScheme, { kind: 'pbm' }>).params, secret))).toBe(true);
    const pbmac1: MacKeyScheme = { kind: 'pbmac1', params: { salt: randomBytes(16), iterationCount: 1000, keyLength: 32, prf: { oid: '1.2.840.113549.2.9' }, mac: { oid: '1.2.840.113549.2.9' } } };
    expect((await pool.macKey(pbmac1, secret)).equals(pbmac1Key((pbmac1 as Extract<MacKeyScheme, { kind: 'pbmac1' }>).params, secret))).toBe(true);
    const unknownOwf: MacKeyScheme = { kind: 'pbm', params: { ...(pbm as Extract<MacKeyScheme, { kind: 'pbm' }>).params, owf: { oid: '1.2.3.4' } } };
    await expect(pool.macKey(unknownOwf, secret)).rejects.toThrow(/OWF/);
  });

  it('checks a MAC and then, only if it holds, the POP signature, in one job: worker and inline alike', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const certReq = randomBytes(150);
    const pop = { spki, algorithm: { oid: '1.2.840.10045.4.3.2' }, data: certReq, signature: sign('sha256', certReq, privateKey) };
    const secret = Buffer.from('a shared secret');
    const params = { salt: randomBytes(16), owf: { oid: '2.16.840.1.101.3.4.2.1' }, iterationCount: 500, mac: { oid: '1.3.6.1.5.5.8.1.2' } };
    const key = pbmKey(params, secret);
    const protectedPart = randomBytes(300);
    const mac = createHmac('sha1', key).update(protectedPart).digest();
    const input = { scheme: { kind: 'pbm' as const, params }, secret, hmac: 'sha1', data: protectedPart, mac };
    const inline = new CryptoPool(0);
    for (const p of [pool, inline]) {
      const good = await p.macCheck({ ...input, then: pop });
      expect(good.ok).toBe(true);
      expect(Buffer.isBuffer(good.key) && good.key.equals(key)).toBe(true);
      expect(good.signature).toEqual({ ok: true, keyInfo: { type: 'EC', curve: 'P-256' } });
      // A forged POP under a good MAC: the MAC holds, the signature does not.
      const forgedSig = Buffer.from(pop.signature);
      forgedSig[forgedSig.length - 1] ^= 1;
      expect(await p.macCheck({ ...input, then: { ...pop, signature: forgedSig } })).toMatchObject({ ok: true, signature: { ok: false, reason: 'bad-signature' } });
      // A wrong MAC: refused, and the signature is not looked at (no work for an unauthenticated sender).
      const wrong = Buffer.from(mac);
      wrong[0] ^= 1;
      const bad = await p.macCheck({ ...input, mac: wrong, then: pop });
      expect(bad.ok).toBe(false);
      expect(bad.signature).toBeUndefined();
      // Another secret gives another key and a refusal; a short MAC is refused, not thrown.
      expect((await p.macCheck({ ...input, secret: Buffer.from('another secret'), then: pop })).ok).toBe(false);
      expect((await p.macCheck({ ...input, mac: mac.subarray(0, 10) })).ok).toBe(false);
      // No POP to check: the MAC alone.
      const alone = await p.macCheck(input);
      expect(alone.ok).toBe(true);
      expect(alone.signature).toBeUndefined();
    }
    await inline.close();
  });
});
