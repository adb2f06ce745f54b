import { generateKeyPairSync, verify, constants } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SoftwareSigner } from '../../src/ca/signer.ts';

describe('SoftwareSigner: where it signs', () => {
  const data = Buffer.from('to be signed '.repeat(40));

  it('RSA signs on the thread pool (a Promise) and the signature verifies; a changed byte does not', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const s = new SoftwareSigner(privateKey);
    const pending = s.sign(data);
    expect(pending).toBeInstanceOf(Promise);
    const sig = await pending;
    expect(verify('sha256', data, publicKey, sig)).toBe(true);
    const other = Buffer.from(data);
    other[0] ^= 1;
    expect(verify('sha256', other, publicKey, sig)).toBe(false);
    // PSS and another hash take the same road.
    const pss = await s.asPss().sign(data);
    expect(verify('sha256', data, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, pss)).toBe(true);
    const sha1 = s.signWithHash('sha1', data);
    expect(sha1).toBeInstanceOf(Promise);
    expect(verify('sha1', data, publicKey, await sha1)).toBe(true);
  });

  it('many RSA signatures in flight at once all verify (no shared state between pool threads)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const s = new SoftwareSigner(privateKey);
    const inputs = Array.from({ length: 64 }, (_, i) => Buffer.from(`message ${i}`));
    const sigs = await Promise.all(inputs.map((d) => s.sign(d)));
    expect(sigs.every((sig, i) => verify('sha256', inputs[i], publicKey, sig))).toBe(true);
  });

  it('EC signs inline: a Buffer at once, no hand-off', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sig = new SoftwareSigner(privateKey).sign(data);
    expect(Buffer.isBuffer(sig)).toBe(true);
    expect(verify('sha256', data, publicKey, sig as Buffer)).toBe(true);
  });
});
