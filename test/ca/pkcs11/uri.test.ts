/** RFC 7512 PKCS#11 URIs: the examples of §3 and the canonical form Certgate writes. */
import { describe, expect, it } from 'vitest';
import { formatPkcs11Uri, parsePkcs11Uri } from '../../../src/ca/pkcs11/uri.ts';

describe('PKCS#11 URI (RFC 7512)', () => {
  it('parses the §3 example with a percent-encoded id and object', () => {
    const u = parsePkcs11Uri('pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=');
    expect(u.token).toBe('The Software PKCS#11 Softtoken');
    expect(u.manufacturer).toBe('Snake Oil, Inc.');
    expect(u.object).toBe('my-certificate');
    expect(u.type).toBe('cert');
    expect(u.id?.toString('hex')).toBe('69953e5cf4bdec91');
  });

  it('round-trips labels with reserved and non-ASCII characters', () => {
    const u = { token: 'Ops; CA/1 ü', object: 'issuer?x=%y', id: Buffer.from([0, 1, 0xfe]), type: 'private' as const };
    const s = formatPkcs11Uri(u);
    expect(s).toBe('pkcs11:token=Ops%3B%20CA%2F1%20%C3%BC;id=%00%01%FE;object=issuer%3Fx=%25y;type=private');
    expect(parsePkcs11Uri(s)).toEqual(u);
  });

  it('refuses what cannot name a key, and PINs in the URI', () => {
    expect(() => parsePkcs11Uri('pkcs11:token=x')).toThrow(/object= or id=/);
    expect(() => parsePkcs11Uri('pkcs11:object=k?pin-value=1234')).toThrow(/query attributes/);
    expect(() => parsePkcs11Uri('pkcs11:object=a;object=b')).toThrow(/twice/);
    expect(() => parsePkcs11Uri('pkcs11:object=%zz')).toThrow(/percent-encoding/);
    expect(() => parsePkcs11Uri('sealed:issuer:x')).toThrow(/starts with/);
    expect(() => parsePkcs11Uri('pkcs11:object=%FF')).toThrow();
  });
});
