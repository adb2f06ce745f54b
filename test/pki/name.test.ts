import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { oid, seq, set, tlv } from '../../src/pki/der.ts';
import { decodeName, encodeName, formatName, parseDn, toEncodedAttributes } from '../../src/pki/name.ts';
import { parseCsr } from '../../src/pki/csr.ts';
import { openssl, tempDir } from './helpers.ts';

describe('encodeName / decodeName', () => {
  it('round-trips in DER order with the chosen string types', () => {
    const der = encodeName([
      { oid: '2.5.4.6', value: 'IN', encoding: 'printable' },
      { oid: '2.5.4.10', value: 'Acme, Inc.', encoding: 'utf8' },
      { oid: '1.2.840.113549.1.9.1', value: 'ops@acme.example', encoding: 'ia5' },
      { oid: '2.5.4.3', value: 'Zoë 🚀', encoding: 'utf8' },
      { oid: '1.3.6.1.4.1.99999.1', value: 'custom', encoding: 'utf8' },
    ]);
    expect(decodeName(der)).toEqual([
      { type: 'C', value: 'IN' },
      { type: 'O', value: 'Acme, Inc.' },
      { type: 'E', value: 'ops@acme.example' },
      { type: 'CN', value: 'Zoë 🚀' },
      { type: '1.3.6.1.4.1.99999.1', value: 'custom' },
    ]);
    // C as PrintableString, E as IA5String, CN as UTF8String
    expect(der.includes(Buffer.from('1302494e', 'hex'))).toBe(true);
    expect(der.includes(Buffer.from('1610', 'hex'))).toBe(true);
  });

  it('encodes exactly as openssl req -subj does', () => {
    const dir = tempDir();
    const subj = '/C=IN/ST=Karnataka/L=Bengaluru/O=Acme, Inc./OU=Ops/CN=host.example/emailAddress=ops@acme.example';
    const csrPath = join(dir, 'r.csr');
    const r = openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout',
      join(dir, 'k.pem'), '-subj', subj, '-outform', 'DER', '-out', csrPath]);
    expect(r.status, r.out).toBe(0);
    const csr = parseCsr(readFileSync(csrPath));
    expect(encodeName(toEncodedAttributes(parseDn(subj)))).toEqual(csr.subjectDer);
    expect(formatName(csr.subject)).toBe('E=ops@acme.example,CN=host.example,OU=Ops,O=Acme\\, Inc.,L=Bengaluru,ST=Karnataka,C=IN');
  });

  it('decodes legacy string types and flattens multi-valued RDNs', () => {
    const atv = (o: string, v: Buffer) => seq(oid(o), v);
    const bmp = Buffer.from('Zoë', 'utf16le').swap16();
    const universal = Buffer.alloc(8);
    universal.writeUInt32BE(0x1f680, 0);
    universal.writeUInt32BE(0x41, 4);
    const der = seq(
      set(atv('2.5.4.10', tlv(0x14, Buffer.from('Caf\xe9', 'latin1')))),
      set(atv('2.5.4.3', tlv(0x1e, bmp)), atv('0.9.2342.19200300.100.1.1', tlv(0x13, Buffer.from('u1')))),
      set(atv('2.5.4.11', tlv(0x1c, universal))),
      set(atv('2.5.4.5', tlv(0x04, Buffer.from([1, 2])))),
    );
    expect(decodeName(der)).toEqual([
      { type: 'O', value: 'Café' },
      { type: 'CN', value: 'Zoë' },
      { type: 'UID', value: 'u1' },
      { type: 'OU', value: '🚀A' },
      { type: 'serialNumber', value: '#04020102' },
    ]);
  });

  it('rejects malformed Names', () => {
    expect(() => decodeName(Buffer.from([0x30, 0x02, 0x31, 0x00]))).toThrow(/empty RDN/);
    expect(() => decodeName(Buffer.from([0x30, 0x02, 0x30, 0x00]))).toThrow(/SET/);
    expect(() => decodeName(Buffer.from([0x30, 0x05, 0x31]))).toThrow(/truncated/);
    expect(() => toEncodedAttributes([{ type: 'C', value: 'India' }])).toThrow(/two-letter/);
    expect(() => toEncodedAttributes([{ type: 'bogus', value: 'x' }])).toThrow(/unknown attribute/);
    expect(() => toEncodedAttributes([{ type: 'E', value: 'é@x' }])).toThrow(/IA5String/);
  });
});

describe('RFC 4514', () => {
  it('formats in reverse order with §2.4 escaping', () => {
    expect(formatName([{ type: 'C', value: 'IN' }, { type: 'O', value: 'Acme, Inc.' }, { type: 'CN', value: 'host.example' }]))
      .toBe('CN=host.example,O=Acme\\, Inc.,C=IN');
    expect(formatName([{ type: 'CN', value: ' #a+b;c<d>e"f\\g ' }])).toBe('CN=\\ #a\\+b\\;c\\<d\\>e\\"f\\\\g\\ ');
    expect(formatName([{ type: 'CN', value: 'a#b' }])).toBe('CN=a#b');
    expect(formatName([{ type: 'CN', value: '#a' }])).toBe('CN=\\#a');
    expect(formatName([{ type: 'CN', value: 'nul\u0000x' }])).toBe('CN=nul\\00x');
    expect(formatName([{ type: '2.5.4.3', value: 'x' }, { type: '1.2.3.4', value: 'y' }])).toBe('1.2.3.4=y,CN=x');
    expect(formatName([])).toBe('');
  });

  it('parses into DER order', () => {
    expect(parseDn('CN=host.example,O=Acme\\, Inc.,C=IN')).toEqual([
      { type: 'C', value: 'IN' },
      { type: 'O', value: 'Acme, Inc.' },
      { type: 'CN', value: 'host.example' },
    ]);
    expect(parseDn('  cn = host , o=Acme  ,  c = IN ')).toEqual([
      { type: 'C', value: 'IN' },
      { type: 'O', value: 'Acme' },
      { type: 'CN', value: 'host' },
    ]);
    expect(parseDn('commonName=x;organizationName=y')).toEqual([{ type: 'O', value: 'y' }, { type: 'CN', value: 'x' }]);
    expect(parseDn('CN=caf\\C3\\A9,2.5.4.10=Org,OID.2.5.4.11=Unit,1.2.3.4=z')).toEqual([
      { type: '1.2.3.4', value: 'z' },
      { type: 'OU', value: 'Unit' },
      { type: 'O', value: 'Org' },
      { type: 'CN', value: 'café' },
    ]);
    expect(parseDn('CN=a+UID=b,O=x')).toEqual([
      { type: 'O', value: 'x' },
      { type: 'CN', value: 'a' },
      { type: 'UID', value: 'b' },
    ]);
    expect(parseDn('CN="Acme, Inc." , O=x')).toEqual([{ type: 'O', value: 'x' }, { type: 'CN', value: 'Acme, Inc.' }]);
    expect(parseDn('CN=\\ lead and trail\\ ')).toEqual([{ type: 'CN', value: ' lead and trail ' }]);
    expect(parseDn('CN=a=b')).toEqual([{ type: 'CN', value: 'a=b' }]);
    expect(parseDn('CN=')).toEqual([{ type: 'CN', value: '' }]);
    expect(parseDn('')).toEqual([]);
  });

  it('parses the OpenSSL slash form (already in DER order)', () => {
    expect(parseDn('/C=IN/O=Acme, Inc./CN=host')).toEqual([
      { type: 'C', value: 'IN' },
      { type: 'O', value: 'Acme, Inc.' },
      { type: 'CN', value: 'host' },
    ]);
    expect(parseDn('/CN=a\\/b/emailAddress=x@y')).toEqual([{ type: 'CN', value: 'a/b' }, { type: 'E', value: 'x@y' }]);
    expect(parseDn('/O=x/CN=a+UID=b/')).toEqual([
      { type: 'O', value: 'x' },
      { type: 'CN', value: 'a' },
      { type: 'UID', value: 'b' },
    ]);
  });

  it('round-trips formatName(parseDn(s))', () => {
    for (const s of [
      'CN=host.example,O=Acme\\, Inc.,C=IN',
      'CN=\\#hash\\+plus\\;semi,OU=a\\<b\\>c,O=quote\\"d\\\\back,C=US',
      'CN=\\ spaced\\ ,O=x',
      'E=ops@acme.example,CN=Zoë 🚀,DC=example,DC=com',
      'CN=nul\\00x',
      '1.3.6.1.4.1.99999.1=custom,serialNumber=1234,CN=a=b',
    ]) {
      expect(formatName(parseDn(s))).toBe(s);
    }
  });

  it('rejects malformed DNs with a clear message', () => {
    expect(() => parseDn('CN')).toThrow(/expected "="/);
    expect(() => parseDn('=x')).toThrow(/expected an attribute type/);
    expect(() => parseDn('Bogus=1')).toThrow(/unknown attribute type "Bogus"/);
    expect(() => parseDn('CN=#0403616263')).toThrow(/hex-encoded/);
    expect(() => parseDn('CN=a,')).toThrow(/ends with ","/);
    expect(() => parseDn('CN=a,,O=b')).toThrow(/attribute type/);
    expect(() => parseDn('CN="abc')).toThrow(/unterminated/);
    expect(() => parseDn('CN=a\\')).toThrow(/dangling/);
    expect(() => parseDn('CN=a"b')).toThrow(/quote/);
    expect(() => parseDn('CN=\\FF\\FE')).toThrow(/UTF-8/);
    expect(() => parseDn('/CN=a//O=b')).toThrow(/empty RDN/);
    expect(() => parseDn('/CN')).toThrow(/expected "="/);
    expect(() => parseDn('CN=x,1.2.=y')).toThrow(/malformed attribute type/);
  });
});
