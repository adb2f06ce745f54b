/**
 * The derived-MAC-key cache returns exactly what the derivation gives for the same secret, salt,
 * count and scheme, and derives again for any difference (a reused salt is the only saving).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MacKeyCache } from '../../protocols/cmp/mac-keys.ts';
import type { MacScheme } from '../../protocols/cmp/protection.ts';
import { pbmKey } from '../../src/pki/cmp-pbm.ts';
import { pbmac1Key } from '../../src/pki/cmp-pbmac1.ts';

const pbm = (salt: Buffer, iterationCount = 500): MacScheme => ({ kind: 'pbm', params: { salt, owf: { oid: '2.16.840.1.101.3.4.2.1' }, iterationCount, mac: { oid: '1.3.6.1.5.5.8.1.2' } } });
const pbmac1 = (salt: Buffer): MacScheme => ({ kind: 'pbmac1', params: { salt, iterationCount: 1000, keyLength: 32, prf: { oid: '1.2.840.113549.2.9' }, mac: { oid: '1.2.840.113549.2.9' } } });

describe('MacKeyCache', async () => {
  it('the same inputs give the derivation’s key, derived once', async () => {
    const c = new MacKeyCache();
    const secret = Buffer.from('s3cret');
    const salt = randomBytes(16);
    const s = pbm(salt);
    const k1 = await c.key(s, secret);
    expect(k1.equals(pbmKey((s as Extract<MacScheme, { kind: 'pbm' }>).params, secret))).toBe(true);
    expect((await c.key(pbm(Buffer.from(salt)), Buffer.from('s3cret'))).equals(k1)).toBe(true);
    expect([c.hits, c.misses]).toEqual([1, 1]);
    const p = pbmac1(salt);
    expect((await c.key(p, secret)).equals(pbmac1Key((p as Extract<MacScheme, { kind: 'pbmac1' }>).params, secret))).toBe(true);
  });

  it('another secret, salt or count is another key', async () => {
    const c = new MacKeyCache();
    const salt = randomBytes(16);
    const base = await c.key(pbm(salt), Buffer.from('a'));
    expect((await c.key(pbm(salt), Buffer.from('b'))).equals(base)).toBe(false);
    expect((await c.key(pbm(randomBytes(16)), Buffer.from('a'))).equals(base)).toBe(false);
    expect((await c.key(pbm(salt, 501), Buffer.from('a'))).equals(base)).toBe(false);
    expect(c.misses).toBe(4);
  });

  it('stays bounded', async () => {
    const c = new MacKeyCache();
    for (let i = 0; i < 4200; i++) await c.key(pbm(randomBytes(8), 1), Buffer.from('x'));
    expect(c.size).toBeLessThanOrEqual(4096);
  });
});
