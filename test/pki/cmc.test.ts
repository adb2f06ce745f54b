/**
 * CMC structures (RFC 5272) and CsrAttrs (RFC 7030 §4.5.2): each encoder's output read back by its
 * decoder and by `openssl asn1parse`; malformed input refused.
 */
import { describe, expect, it } from 'vitest';
import { decodeCmcStatusInfoV2, encodeCmcStatusInfoV2 } from '../../src/pki/cmc-status-info-v2.ts';
import { decodeIdentityProofV2, encodeIdentityProofV2, identityProofMatches, identityWitness } from '../../src/pki/cmc-controls.ts';
import { cmcOids } from '../../src/pki/cmc-oids.ts';
import { decodePkiData, encodePkiData } from '../../src/pki/cmc-pki-data.ts';
import { decodePkiResponse, encodePkiResponse } from '../../src/pki/cmc-pki-response.ts';
import { decodeCsrAttrs, encodeCsrAttrs } from '../../src/pki/csr-attrs.ts';
import { integer, octetString, oid, seq, set } from '../../src/pki/der.ts';
import { opensslOk } from '../support/openssl.ts';

const csrLike = Buffer.from('300a3003020100300302010a', 'hex'); // any SEQUENCE stands in for a PKCS#10 here

describe('CMC structures', () => {
  it('PKIData round-trips, keeps reqSequence verbatim, and openssl reads it', () => {
    const der = encodePkiData({
      controls: [{ bodyPartId: 1, type: cmcOids.transactionId, values: [integer(42)] }],
      requests: [{ kind: 'pkcs10', bodyPartId: 2, der: csrLike }],
      cms: [{ bodyPartId: 3, contentInfo: Buffer.from('3003060100', 'hex') }],
      other: [{ bodyPartId: 4, type: '1.2.3.4', value: octetString(Buffer.from('x')) }],
    });
    const p = decodePkiData(der);
    expect(p.controls).toEqual([{ bodyPartId: 1, type: cmcOids.transactionId, values: [integer(42)] }]);
    expect(p.requests).toEqual([{ kind: 'pkcs10', bodyPartId: 2, der: csrLike }]);
    expect(p.cms[0].bodyPartId).toBe(3);
    expect(p.other[0]).toMatchObject({ bodyPartId: 4, type: '1.2.3.4' });
    expect(der.includes(p.reqSequenceDer)).toBe(true);
    expect(opensslOk(['asn1parse', '-inform', 'DER'], { input: der })).toMatch(/1\.3\.6\.1\.5\.5\.7\.7\.5|transactionId/i);
  });

  it('PKIData refuses trailing data, a missing sequence and a BodyPartID out of range', () => {
    const good = encodePkiData({ controls: [], requests: [], cms: [], other: [] });
    expect(() => decodePkiData(Buffer.concat([good, Buffer.from([0])]))).toThrow();
    expect(() => decodePkiData(Buffer.from('3006300030003000', 'hex'))).toThrow(/four/);
    const outOfRange = seq(seq(seq(integer(2 ** 32), oid('1.2.3'), set(integer(1)))), seq(), seq(), seq());
    expect(() => decodePkiData(outOfRange)).toThrow(/range/);
    const negative = seq(seq(seq(integer(-1), oid('1.2.3'), set(integer(1)))), seq(), seq(), seq());
    expect(() => decodePkiData(negative)).toThrow(/range/);
    expect(() => encodePkiData({ controls: [{ bodyPartId: 2 ** 32, type: '1.2.3', values: [] }], requests: [], cms: [], other: [] })).toThrow(/range/);
  });

  it('PKIResponse and CMCStatusInfoV2 (success, failed+failInfo, pending+pendInfo) round-trip', () => {
    for (const s of [
      { status: 'success' as const, bodyList: [1, 2] },
      { status: 'failed' as const, bodyList: [5], statusString: 'no', failInfo: 'badIdentity' as const },
      { status: 'pending' as const, bodyList: [5], pendInfo: { token: Buffer.from('req-1'), time: new Date('2026-01-02T03:04:05Z') } },
    ]) {
      expect(decodeCmcStatusInfoV2(encodeCmcStatusInfoV2(s))).toEqual(s);
    }
    const r = { controls: [{ bodyPartId: 1, type: cmcOids.statusInfoV2, values: [encodeCmcStatusInfoV2({ status: 'success', bodyList: [1] })] }], cms: [], other: [] };
    expect(decodePkiResponse(encodePkiResponse(r))).toEqual(r);
  });

  it('identityProofV2: encoded, decoded, checked in constant time against the shared secret', () => {
    const reqSeq = Buffer.from('3000', 'hex');
    const alg = { proofHash: 'sha256' as const, macHash: 'sha256' as const };
    const witness = identityWitness(alg, Buffer.from('secret'), reqSeq);
    const p = decodeIdentityProofV2(encodeIdentityProofV2({ ...alg, witness }));
    expect(p).toEqual({ ...alg, witness });
    expect(identityProofMatches(p, Buffer.from('secret'), reqSeq)).toBe(true);
    expect(identityProofMatches(p, Buffer.from('Secret'), reqSeq)).toBe(false);
    expect(identityProofMatches(p, Buffer.from('secret'), Buffer.from('3001', 'hex'))).toBe(false);
  });
});

describe('CsrAttrs (RFC 7030 §4.5.2)', () => {
  it('round-trips OIDs and Attributes; openssl reads it', () => {
    const items = [{ oid: '1.2.840.113549.1.9.7' }, { type: '1.2.840.10045.2.1', values: [oid('1.3.132.0.34')] }];
    const der = encodeCsrAttrs(items);
    expect(decodeCsrAttrs(der)).toEqual(items);
    expect(opensslOk(['asn1parse', '-inform', 'DER'], { input: der })).toContain('secp384r1');
    expect(decodeCsrAttrs(encodeCsrAttrs([]))).toEqual([]);
  });
  it('refuses an Attribute without values and non-SEQUENCE input', () => {
    expect(() => decodeCsrAttrs(Buffer.from('3007300506012a3100', 'hex'))).toThrow(/at least one value/);
    expect(() => decodeCsrAttrs(Buffer.from('0500', 'hex'))).toThrow();
  });
});
