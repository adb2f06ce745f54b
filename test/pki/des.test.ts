/**
 * Single DES (src/pki/des.ts) against the published test vectors (FIPS 81 Appendix B, the
 * textbook FIPS 46 example), node's DES-EDE3 with three equal keys (which is single DES), and
 * `openssl enc -des-cbc` from openssl's legacy provider.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { desBlock, desCbc, S_BOXES } from '../../src/pki/des.ts';
import { openssl } from '../support/openssl.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

describe('DES (FIPS 46-3)', () => {
  it('every S-box row is a permutation of 0..15', () => {
    for (const box of S_BOXES) for (let row = 0; row < 4; row++) expect(new Set(box.slice(row * 16, row * 16 + 16)).size).toBe(16);
  });

  it('FIPS 81 Appendix B: ECB and CBC of "Now is the time for all "', () => {
    const key = hex('0123456789abcdef');
    expect(desBlock(key, hex('4e6f772069732074')).toString('hex')).toBe('3fa40e8a984d4815');
    const cbc = desCbc(key, hex('1234567890abcdef'), Buffer.from('Now is the time for all '), false);
    expect(cbc.toString('hex')).toBe('e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6');
    expect(desCbc(key, hex('1234567890abcdef'), cbc, true).toString()).toBe('Now is the time for all ');
  });

  it('the FIPS 46 worked example (key 133457799BBCDFF1) and decryption back', () => {
    const key = hex('133457799bbcdff1');
    const c = desBlock(key, hex('0123456789abcdef'));
    expect(c.toString('hex')).toBe('85e813540f0ab405');
    expect(desBlock(key, c, true).toString('hex')).toBe('0123456789abcdef');
  });

  it('parity bits are ignored', () => {
    const key = hex('0123456789abcdef');
    const flipped = Buffer.from(key.map((b) => b ^ 1));
    expect(desBlock(flipped, hex('4e6f772069732074')).toString('hex')).toBe('3fa40e8a984d4815');
  });

  it('equals DES-EDE3-CBC with K1 = K2 = K3 on random keys and data', () => {
    for (let i = 0; i < 50; i++) {
      const k = randomBytes(8);
      const iv = randomBytes(8);
      const data = randomBytes(8 * (1 + (i % 17)));
      const c = createCipheriv('des-ede3-cbc', Buffer.concat([k, k, k]), iv).setAutoPadding(false);
      const expected = Buffer.concat([c.update(data), c.final()]);
      expect(desCbc(k, iv, data, false).equals(expected)).toBe(true);
      expect(desCbc(k, iv, expected, true).equals(data)).toBe(true);
    }
  });

  it('matches `openssl enc -des-cbc` (legacy provider) both ways', () => {
    for (let i = 0; i < 5; i++) {
      const k = randomBytes(8);
      const iv = randomBytes(8);
      const data = randomBytes(8 * (2 + i * 7));
      const args = ['enc', '-des-cbc', '-provider', 'legacy', '-provider', 'default', '-K', k.toString('hex'), '-iv', iv.toString('hex'), '-nopad'];
      const enc = openssl(args, { input: data });
      expect(enc.status).toBe(0);
      expect(desCbc(k, iv, data, false).equals(Buffer.from(enc.stdout, 'latin1'))).toBe(true);
      const dec = openssl([...args, '-d'], { input: desCbc(k, iv, data, false) });
      expect(Buffer.from(dec.stdout, 'latin1').equals(data)).toBe(true);
    }
  });

  it('refuses wrong key, IV and data lengths', () => {
    expect(() => desCbc(Buffer.alloc(7), Buffer.alloc(8), Buffer.alloc(8), false)).toThrow(RangeError);
    expect(() => desCbc(Buffer.alloc(8), Buffer.alloc(16), Buffer.alloc(8), false)).toThrow(RangeError);
    expect(() => desCbc(Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(9), false)).toThrow(RangeError);
  });
});
