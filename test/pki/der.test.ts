import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as asn1js from 'asn1js';
import {
  bitString,
  boolean,
  children,
  decodeInteger,
  decodeOid,
  decodeTime,
  explicit,
  generalizedTime,
  ia5String,
  implicitConstructed,
  implicitPrimitive,
  integer,
  integerFromBytes,
  nullValue,
  octetString,
  oid,
  printableString,
  readTlv,
  seq,
  set,
  time,
  tlv,
  utf8String,
} from '../../src/pki/der.ts';
import { fromPem, toPem } from '../../src/pki/pem.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('DER encoder', () => {
  it('encodes short and long definite lengths', () => {
    expect(hex(tlv(0x04, Buffer.alloc(0)))).toBe('0400');
    expect(hex(tlv(0x04, Buffer.alloc(127))).slice(0, 4)).toBe('047f');
    expect(hex(tlv(0x04, Buffer.alloc(128))).slice(0, 6)).toBe('048180');
    expect(hex(tlv(0x04, Buffer.alloc(256))).slice(0, 8)).toBe('04820100');
    expect(hex(tlv(0x04, Buffer.alloc(70000))).slice(0, 10)).toBe('0483011170');
    expect(tlv(0x30, Buffer.from([1]), Buffer.from([2, 3]))).toEqual(Buffer.from([0x30, 3, 1, 2, 3]));
  });

  it('encodes INTEGERs minimally', () => {
    expect(hex(integer(0))).toBe('020100');
    expect(hex(integer(127))).toBe('02017f');
    expect(hex(integer(128))).toBe('02020080');
    expect(hex(integer(256))).toBe('02020100');
    expect(hex(integer(-1))).toBe('0201ff');
    expect(hex(integer(-128))).toBe('020180');
    expect(hex(integer(-129))).toBe('0202ff7f');
    expect(hex(integer(2n ** 64n))).toBe('0209010000000000000000');
    expect(hex(integerFromBytes(Buffer.from([0x80, 1])))).toBe('0203008001');
    expect(hex(integerFromBytes(Buffer.from([0, 0, 0x7f])))).toBe('02017f');
    expect(hex(integerFromBytes(Buffer.from([0, 0, 0x80])))).toBe('02020080');
    expect(hex(integerFromBytes(Buffer.from([0, 0])))).toBe('020100');
    for (const n of [0, 1, 127, 128, 255, 256, 65535, -1, -255, 123456789, -123456789]) {
      const enc = integer(n);
      const t = readTlv(enc);
      expect(decodeInteger(enc, t.start, t.end)).toBe(BigInt(n));
      const parsed = asn1js.fromBER(enc);
      expect((parsed.result as asn1js.Integer).toBigInt()).toBe(BigInt(n));
    }
  });

  it('encodes OIDs (incl. large arcs) and caches them', () => {
    expect(hex(oid('1.2.840.113549.1.1.11'))).toBe('06092a864886f70d01010b');
    expect(hex(oid('2.5.29.19'))).toBe('0603551d13');
    expect(hex(oid('2.999.3'))).toBe('0603883703');
    expect(oid('2.5.4.3')).toBe(oid('2.5.4.3'));
    const big = '2.25.329800735698586629295641978511506172918';
    const enc = oid(big);
    const t = readTlv(enc);
    expect(decodeOid(enc, t.start, t.end)).toBe(big);
    const parsed = execFileSync('openssl', ['asn1parse', '-inform', 'DER'], { input: enc, encoding: 'utf8' });
    expect(parsed).toContain(big);
    for (const o of ['0.9.2342.19200300.100.1.25', '1.3.6.1.5.5.7.48.1.5', '2.23.140.1.2.1']) {
      const e = oid(o);
      const r = readTlv(e);
      expect(decodeOid(e, r.start, r.end)).toBe(o);
    }
    expect(() => oid('1.2.')).toThrow();
    expect(() => oid('3.1')).toThrow();
    expect(() => oid('1.40')).toThrow();
  });

  it('encodes simple types', () => {
    expect(hex(nullValue())).toBe('0500');
    expect(hex(boolean(true))).toBe('0101ff');
    expect(hex(boolean(false))).toBe('010100');
    expect(hex(octetString(Buffer.from([1, 2])))).toBe('04020102');
    expect(hex(bitString(Buffer.from([0x80]), 7))).toBe('03020780');
    expect(hex(utf8String('é'))).toBe('0c02c3a9');
    expect(hex(printableString('IN'))).toBe('1302494e');
    expect(hex(ia5String('a@b'))).toBe('1603614062');
    expect(() => printableString('a@b')).toThrow(/PrintableString/);
    expect(() => ia5String('é')).toThrow(/IA5String/);
    expect(() => bitString(Buffer.alloc(1), 8)).toThrow();
    expect(hex(explicit(0, integer(2)))).toBe('a003020102');
    expect(hex(implicitPrimitive(2, Buffer.from('a')))).toBe('820161');
    expect(hex(implicitConstructed(1, nullValue()))).toBe('a1020500');
  });

  it('sorts SET OF elements per DER', () => {
    const a = integer(2);
    const b = integer(1);
    const c = octetString(Buffer.from([0]));
    expect(set(a, c, b)).toEqual(tlv(0x31, b, a, c));
    const s = seq(integer(1));
    expect(set(s)).toEqual(tlv(0x31, s));
  });

  it('chooses UTCTime for 1950–2049 and GeneralizedTime otherwise', () => {
    expect(time(new Date('2024-02-29T12:34:56.789Z')).subarray(2).toString()).toBe('240229123456Z');
    expect(time(new Date('2024-02-29T12:34:56Z'))[0]).toBe(0x17);
    expect(time(new Date('1950-01-01T00:00:00Z')).subarray(2).toString()).toBe('500101000000Z');
    expect(time(new Date('2049-12-31T23:59:59Z')).subarray(2).toString()).toBe('491231235959Z');
    const g = time(new Date('2050-01-01T00:00:00Z'));
    expect(g[0]).toBe(0x18);
    expect(g.subarray(2).toString()).toBe('20500101000000Z');
    expect(time(new Date('1949-12-31T23:59:59Z')).subarray(2).toString()).toBe('19491231235959Z');
    expect(generalizedTime(new Date('2024-01-02T03:04:05Z')).subarray(2).toString()).toBe('20240102030405Z');
    expect(() => time(new Date(NaN))).toThrow();
    for (const d of ['2024-02-29T12:34:56Z', '1999-12-31T23:59:59Z', '2050-06-01T00:00:00Z', '9999-12-31T23:59:59Z']) {
      const enc = time(new Date(d));
      expect(decodeTime(enc, readTlv(enc)).toISOString()).toBe(new Date(d).toISOString());
    }
  });
});

describe('DER reader', () => {
  it('reads TLVs and children', () => {
    const s = seq(integer(1), octetString(Buffer.alloc(200)), nullValue());
    const t = readTlv(s);
    expect(t).toMatchObject({ tag: 0x30, headerLength: 3, start: 3, end: s.length });
    const kids = [...children(s, t.start, t.end)];
    expect(kids.map((k) => k.tag)).toEqual([0x02, 0x04, 0x05]);
    expect(kids[1]).toMatchObject({ headerLength: 3, length: 200 });
  });

  it('rejects truncated, indefinite and overlong input', () => {
    expect(() => readTlv(Buffer.alloc(0))).toThrow(/truncated/);
    expect(() => readTlv(Buffer.from([0x30]))).toThrow(/truncated/);
    expect(() => readTlv(Buffer.from([0x30, 0x05, 0x01]))).toThrow(/truncated/);
    expect(() => readTlv(Buffer.from([0x30, 0x82, 0x01]))).toThrow(/truncated/);
    expect(() => readTlv(Buffer.from([0x30, 0x80, 0x00, 0x00]))).toThrow(/indefinite/);
    expect(() => readTlv(Buffer.from([0x04, 0x81, 0x05, 1, 2, 3, 4, 5]))).toThrow(/non-minimal/);
    expect(() => readTlv(Buffer.from([0x04, 0x82, 0x00, 0x80, ...Buffer.alloc(128)]))).toThrow(/non-minimal/);
    expect(() => readTlv(Buffer.from([0x04, 0x85, 1, 0, 0, 0, 0]))).toThrow(/too large/);
    // child overrunning its parent
    const bad = Buffer.from([0x30, 0x03, 0x04, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00]);
    expect(() => [...children(bad, 2, 5)]).toThrow();
  });
});

describe('PEM', () => {
  it('round-trips and selects blocks by label', () => {
    const der = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    const pem = toPem(der, 'CERTIFICATE');
    expect(pem.split('\n')[1]).toHaveLength(64);
    expect(pem.startsWith('-----BEGIN CERTIFICATE-----\n')).toBe(true);
    expect(pem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
    const text = `junk\n${pem}\r\n${toPem(Buffer.from([1]), 'X509 CRL')}${toPem(Buffer.from([2]), 'CERTIFICATE')}`.replace(/\n/g, '\r\n');
    expect(fromPem(text, 'CERTIFICATE')).toEqual([der, Buffer.from([2])]);
    expect(fromPem(text, 'X509 CRL')).toEqual([Buffer.from([1])]);
    expect(fromPem(text)).toHaveLength(3);
    expect(fromPem('nothing here', 'CERTIFICATE')).toEqual([]);
    expect(() => fromPem('-----BEGIN A-----\nAA!A\n-----END A-----')).toThrow(/base64/);
    expect(() => fromPem('-----BEGIN A-----\nAAAA\n-----END B-----')).toThrow(/END/);
  });
});

describe('DER time decoding', () => {
  const dec = (tag: number, s: string) => {
    const enc = tlv(tag, Buffer.from(s, 'latin1'));
    return decodeTime(enc, readTlv(enc));
  };
  it('accepts RFC 5280 forms and tolerated variants', () => {
    expect(dec(0x17, '491231235959Z').toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(dec(0x17, '500101000000Z').toISOString()).toBe('1950-01-01T00:00:00.000Z');
    expect(dec(0x17, '2401020304Z').toISOString()).toBe('2024-01-02T03:04:00.000Z');
    expect(dec(0x18, '20240229120000Z').toISOString()).toBe('2024-02-29T12:00:00.000Z');
    expect(dec(0x18, '20240229120000.5Z').toISOString()).toBe('2024-02-29T12:00:00.500Z');
    expect(dec(0x18, '00010101000000Z').getUTCFullYear()).toBe(1);
  });
  it('rejects malformed times', () => {
    for (const [tag, s] of [[0x17, '240102030405'], [0x17, '24010203040Z'], [0x18, '20230229120000Z'], [0x18, '20241301000000Z'],
      [0x18, '2024010100000aZ'], [0x18, '20240101000000.Z'], [0x17, '240132000000Z'], [0x18, '20240101240000Z']] as const) {
      expect(() => dec(tag, s), s).toThrow(/malformed/);
    }
    expect(() => dec(0x04, '240102030405Z')).toThrow(/expected a time/);
  });
});
