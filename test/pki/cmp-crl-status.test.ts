/**
 * CRLStatusListValue and CRLsValue (src/pki/cmp-crl-status.ts): round trips, the EXPLICIT tags of
 * the CMP module as openssl asn1parse sees them, and refusals of malformed values.
 */
import { describe, expect, it } from 'vitest';
import { decodeCrlStatusList, decodeCrls, encodeCrlStatusList, encodeCrls } from '../../src/pki/cmp-crl-status.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../../src/pki/name.ts';
import { opensslOk } from '../support/openssl.ts';

const name = encodeName(toEncodedAttributes(parseDn('CN=Issuing CA,O=Example')));

describe('CRLStatusListValue', () => {
  it('round-trips a dpn URI with thisUpdate and an issuer name without', () => {
    const when = new Date('2026-01-02T03:04:05Z');
    const der = encodeCrlStatusList([{ uri: 'http://ca.example/crl/x.crl', thisUpdate: when }, { issuerName: name }]);
    expect(decodeCrlStatusList(der)).toEqual([
      { source: { kind: 'dpn', uris: ['http://ca.example/crl/x.crl'], directoryNames: [] }, thisUpdate: when },
      { source: { kind: 'issuer', uris: [], directoryNames: [name] }, thisUpdate: undefined },
    ]);
  });

  it('dpn is [0] EXPLICIT around fullName [0]; issuer is [1] EXPLICIT around GeneralNames (openssl asn1parse)', () => {
    const text = opensslOk(['asn1parse', '-inform', 'DER'], { input: encodeCrlStatusList([{ uri: 'http://a/b.crl' }, { issuerName: name }]) });
    const lines = text.split('\n').map((l) => l.replace(/^.*?(d=\d+).*?(cons|prim): /, '$1 $2 ').trim());
    expect(lines).toContain('d=2 cons cont [ 0 ]');
    expect(lines).toContain('d=3 cons cont [ 0 ]');
    expect(lines).toContain('d=4 prim cont [ 6 ]');
    expect(lines).toContain('d=2 cons cont [ 1 ]');
    expect(lines).toContain('d=3 cons SEQUENCE');
    expect(lines).toContain('d=4 cons cont [ 4 ]');
  });

  it('refuses an empty list, an unknown source, trailing data and extra fields', () => {
    expect(() => decodeCrlStatusList(Buffer.from([0x30, 0x00]))).toThrow(/empty/);
    expect(() => decodeCrlStatusList(Buffer.from([0x30, 0x04, 0x30, 0x02, 0xa2, 0x00]))).toThrow();
    const good = encodeCrlStatusList([{ issuerName: name }]);
    expect(() => decodeCrlStatusList(Buffer.concat([good, Buffer.from([0])]))).toThrow(/one SEQUENCE/);
    expect(() => decodeCrlStatusList(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]))).toThrow(/CRLStatus/);
  });
});

describe('CRLsValue', () => {
  it('round-trips and refuses an empty list', () => {
    const a = Buffer.from([0x30, 0x01, 0x05]);
    const b = Buffer.from([0x30, 0x00]);
    expect(decodeCrls(encodeCrls([a, b]))).toEqual([a, b]);
    expect(() => encodeCrls([])).toThrow();
  });
});
