import { describe, expect, it } from 'vitest';
import { octetString, printableString, utf8String } from '../../src/pki/der.ts';
import {
  decodeCertRepAttributes,
  decodeRequestAttributes,
  encodeCertRepAttributes,
  encodeRequestAttributes,
  FailInfo,
  MessageType,
  PkiStatus,
  ScepAttributeError,
  scepOids,
} from '../../protocols/scep/attributes.ts';
import { decodeIssuerAndSerial, decodeIssuerAndSubject, encodeIssuerAndSerial, encodeIssuerAndSubject, ScepContentError } from '../../protocols/scep/content.ts';
import { loadScepSettings } from '../../protocols/scep/settings.ts';
import { parseTtl } from '../../protocols/scep/cli.ts';
import { encodeName, toEncodedAttributes } from '../../src/pki/name.ts';

const asMap = (list: { oid: string; values: Buffer[] }[]) => new Map(list.map((a) => [a.oid, a.values]));
const nonce = Buffer.alloc(16, 7);

describe('RFC 8894 §3.2.1 attributes', () => {
  it('a PKCSReq\'s attributes decode to what was encoded', () => {
    const a = decodeRequestAttributes(asMap(encodeRequestAttributes(MessageType.PKCSReq, 'TSf9aymZqn6mDPelN7r5cq7Jdnc=', nonce)));
    expect(a).toEqual({ messageType: 19, transactionID: 'TSf9aymZqn6mDPelN7r5cq7Jdnc=', senderNonce: nonce });
  });

  it.each([
    ['missing messageType', (m: Map<string, Buffer[]>) => m.delete(scepOids.messageType), /messageType/],
    ['CertRep as a request', (m: Map<string, Buffer[]>) => m.set(scepOids.messageType, [printableString('3')]), /not a request/],
    ['messageType not a number', (m: Map<string, Buffer[]>) => m.set(scepOids.messageType, [printableString('19 ')]), /not a request/],
    ['messageType as UTF8String', (m: Map<string, Buffer[]>) => m.set(scepOids.messageType, [utf8String('19')]), /wrong type/],
    ['two transactionIDs', (m: Map<string, Buffer[]>) => m.set(scepOids.transactionID, [printableString('a'), printableString('b')]), /exactly one/],
    ['transactionID with a NUL', (m: Map<string, Buffer[]>) => m.set(scepOids.transactionID, [Buffer.from([0x13, 2, 0x41, 0])]), /printable/],
    ['short senderNonce', (m: Map<string, Buffer[]>) => m.set(scepOids.senderNonce, [octetString(Buffer.alloc(2))]), /senderNonce/],
    ['truncated value', (m: Map<string, Buffer[]>) => m.set(scepOids.senderNonce, [Buffer.from([0x04, 16, 1])]), /DER|senderNonce/],
  ])('refuses %s', (_name, mutate, message) => {
    const m = asMap(encodeRequestAttributes(MessageType.PKCSReq, 'tid-1', nonce));
    mutate(m);
    expect(() => decodeRequestAttributes(m)).toThrow(message);
  });

  it('a FAILURE CertRep carries failInfo and failInfoText; SUCCESS carries neither', () => {
    const f = asMap(encodeCertRepAttributes({ transactionID: 't', recipientNonce: nonce, senderNonce: Buffer.alloc(16, 1), status: PkiStatus.FAILURE, failInfo: FailInfo.badMessageCheck, failInfoText: 'no' }));
    expect(decodeCertRepAttributes(f)).toMatchObject({ messageType: 3, status: 2, failInfo: 1, transactionID: 't', recipientNonce: nonce });
    expect(f.has(scepOids.failInfoText)).toBe(true);
    const s = asMap(encodeCertRepAttributes({ transactionID: 't', recipientNonce: nonce, senderNonce: Buffer.alloc(16, 1), status: PkiStatus.SUCCESS }));
    expect(decodeCertRepAttributes(s).failInfo).toBeUndefined();
    expect(s.has(scepOids.failInfoText)).toBe(false);
  });

  it('ScepAttributeError is the only error type for bad attributes', () => {
    expect(() => decodeRequestAttributes(new Map())).toThrow(ScepAttributeError);
  });
});

describe('RFC 8894 §3.3 request contents', () => {
  const issuer = encodeName(toEncodedAttributes([{ type: 'CN', value: 'Certgate CA' }]));
  const subject = encodeName(toEncodedAttributes([{ type: 'CN', value: 'device-1' }]));

  it('IssuerAndSubject round-trips', () => {
    expect(decodeIssuerAndSubject(encodeIssuerAndSubject({ issuer, subject }))).toEqual({ issuer, subject });
  });

  it('IssuerAndSerialNumber keeps the INTEGER content octets (a 00 pad included)', () => {
    expect(decodeIssuerAndSerial(encodeIssuerAndSerial(issuer, '8bdf01'))).toEqual({ issuer, serialHex: '008bdf01' });
    expect(decodeIssuerAndSerial(encodeIssuerAndSerial(issuer, '7f01'))).toEqual({ issuer, serialHex: '7f01' });
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['trailing bytes', Buffer.concat([encodeIssuerAndSubject({ issuer, subject }), Buffer.from([0])])],
    ['a third field', Buffer.from([0x30, 6, 0x30, 0, 0x30, 0, 0x30, 0])],
    ['serial instead of subject', encodeIssuerAndSerial(issuer, '01')],
  ])('IssuerAndSubject refuses %s', (_n, der) => {
    expect(() => decodeIssuerAndSubject(der)).toThrow(ScepContentError);
  });

  it('IssuerAndSerialNumber refuses a negative serial and a Name as serial', () => {
    expect(() => decodeIssuerAndSerial(Buffer.concat([Buffer.from([0x30, issuer.length + 3]), issuer, Buffer.from([2, 1, 0xff])]))).toThrow(/negative/);
    expect(() => decodeIssuerAndSerial(encodeIssuerAndSubject({ issuer, subject }))).toThrow(ScepContentError);
  });
});

describe('settings', () => {
  it('the default label comes from CERTGATE_SCEP_PROFILE/CHALLENGE; more labels from JSON', () => {
    const s = loadScepSettings({ CERTGATE_SCEP_CHALLENGE: 'pw', CERTGATE_SCEP_LABELS: '{"mdm":{"profile":"device","webhookUrl":"http://127.0.0.1:1/hook"}}' });
    expect(s.labels.default).toEqual({ profile: 'device', challenge: 'pw' });
    expect(s.labels.mdm).toEqual({ profile: 'device', webhookUrl: 'http://127.0.0.1:1/hook' });
  });

  it.each([
    ['{not json', /CERTGATE_SCEP_LABELS: not JSON/],
    ['{"bad/label":{}}', /CERTGATE_SCEP_LABELS/],
    ['{"x":{"webhookUrl":"nope"}}', /webhookUrl/],
  ])('a bad CERTGATE_SCEP_LABELS (%s) stops the start with the variable named', (v, message) => {
    expect(() => loadScepSettings({ CERTGATE_SCEP_LABELS: v })).toThrow(message);
  });
});

describe('certgate scep challenge --ttl', () => {
  it.each([['90', 90], ['90s', 90], ['15m', 900], ['1h', 3600], ['2d', 172800]])('%s is %i seconds', (v, n) => expect(parseTtl(v)).toBe(n));
  it.each(['', '1w', '-5m', '1.5h', '1h30m'])('%j is refused', (v) => expect(() => parseTtl(v)).toThrow(/--ttl/));
});
