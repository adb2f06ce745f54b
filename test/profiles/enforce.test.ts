import { describe, it, expect } from 'vitest';
import { checkKey, enforceProfile, resolveEkus, type KeyInfo, type EnforceInput } from '../../src/profiles/enforce.ts';
import { builtinProfiles } from '../../src/profiles/builtin.ts';
import { parseProfile, type Profile, type ProfileInput } from '../../src/profiles/model.ts';
import { BadRequest, IssuanceError, ProfileViolation } from '../../src/issuance/errors.ts';
import type { Identifier, SubjectAttribute } from '../../src/issuance/request.ts';

const OID = {
  CN: '2.5.4.3',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  serialNumber: '2.5.4.5',
  E: '1.2.840.113549.1.9.1',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

/** A permissive test profile; each case overrides what it tests. */
const base: ProfileInput = {
  name: 'test',
  subject: {
    attributes: [
      { type: 'CN', rule: 'required', maxLength: 64 },
      { type: 'O', rule: 'fixed', value: 'Example Org' },
      { type: 'OU', rule: 'optional', maxOccurs: 2 },
      { type: 'C', rule: 'optional', encoding: 'printable' },
      { type: 'serialNumber', rule: 'optional', pattern: '[A-Z]{2}[0-9]+' },
      { type: 'L', rule: 'optional', encoding: 'printable', maxLength: 10 },
      { type: 'E', rule: 'optional' },
    ],
  },
  san: {
    dns: { allowed: true, wildcard: false },
    ip: { allowed: true },
    email: { allowed: true },
    uri: { allowed: true },
    maxCount: 3,
  },
  keyUsage: ['digitalSignature', 'keyEncipherment'],
  extendedKeyUsage: ['serverAuth', 'clientAuth'],
};

function profile(overrides: Partial<ProfileInput> = {}, sanOverrides: Record<string, unknown> = {}): Profile {
  return parseProfile({
    ...base,
    ...overrides,
    san: { ...(base.san as object), ...(overrides.san as object | undefined), ...sanOverrides },
  });
}

const cn = (value: string): SubjectAttribute => ({ type: 'CN', value });
const dns = (value: string): Identifier => ({ type: 'dns', value });
const ip = (value: string): Identifier => ({ type: 'ip', value });
const email = (value: string): Identifier => ({ type: 'email', value });
const uri = (value: string): Identifier => ({ type: 'uri', value });

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

/** Asserts a ProfileViolation (or BadRequest) with `rule`, whose message names the rule and `value`. */
function expectRule(fn: () => unknown, rule: string, value: string, kind: typeof IssuanceError = ProfileViolation) {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(kind);
  const err = e as IssuanceError;
  expect(err.rule).toBe(rule);
  expect(err.message).toContain(value);
  expect(err.message).toContain(`rule ${rule}`);
  return err;
}

describe('checkKey', () => {
  const p = profile({ keys: { rsa: { minBits: 2048, maxBits: 4096 }, ec: { curves: ['P-256'] }, ed25519: false } });
  const noRsaNoEc = profile({ keys: { ed25519: true } });

  it.each<KeyInfo>([
    { type: 'RSA', bits: 2048 },
    { type: 'RSA', bits: 4096 },
    { type: 'EC', curve: 'P-256' },
    { type: 'EC', curve: 'prime256v1' },
    { type: 'EC', curve: 'secp256r1' },
    { type: 'EC', curve: '1.2.840.10045.3.1.7' },
  ])('accepts %j', (key) => {
    expect(() => checkKey(p, key)).not.toThrow();
  });

  it('accepts Ed25519 when the profile allows it', () => {
    expect(() => checkKey(noRsaNoEc, { type: 'Ed25519' })).not.toThrow();
  });

  const bad: [Profile, KeyInfo, string, string][] = [
    [p, { type: 'RSA', bits: 1024 }, 'keys.rsa', 'RSA key of 1024 bits is below the profile minimum of 2048'],
    [p, { type: 'RSA', bits: 2047 }, 'keys.rsa', '2047 bits is below the profile minimum of 2048'],
    [p, { type: 'RSA', bits: 8192 }, 'keys.rsa', '8192 bits is above the profile maximum of 4096'],
    [noRsaNoEc, { type: 'RSA', bits: 2048 }, 'keys.rsa', 'RSA keys are not allowed (got RSA 2048 bits)'],
    [p, { type: 'EC', curve: 'P-384' }, 'keys.ec', 'EC curve P-384 is not allowed; allowed curves: P-256'],
    [p, { type: 'EC', curve: 'secp256k1' }, 'keys.ec', 'EC curve secp256k1 is not allowed'],
    [noRsaNoEc, { type: 'EC', curve: 'P-256' }, 'keys.ec', 'EC keys are not allowed (got curve P-256)'],
    [p, { type: 'Ed25519' }, 'keys.ed25519', 'Ed25519 keys are not allowed'],
    [p, { type: 'Ed448' }, 'keys.algorithm', 'Ed448'],
    [p, { type: 'unknown', oid: '1.2.3.4' }, 'keys.algorithm', '1.2.3.4'],
  ];
  it.each(bad)('rejects %# %j with %s', (prof, key, rule, message) => {
    expectRule(() => checkKey(prof, key), rule, message);
  });
});

describe('enforceProfile: subject', () => {
  const p = profile();

  it('builds the subject in profile order with the fixed value and encodings', () => {
    const t = enforceProfile(p, {
      subject: [
        { type: 'L', value: 'Pune' },
        { type: 'O', value: 'Evil Corp' }, // fixed: ignored
        cn('host.example.com'),
        { type: 'C', value: 'in' },
        { type: 'OU', value: 'Ops' },
      ],
      sans: [],
    });
    expect(t.subject).toEqual([
      { oid: OID.CN, value: 'host.example.com', encoding: 'utf8' },
      { oid: OID.O, value: 'Example Org', encoding: 'utf8' },
      { oid: OID.OU, value: 'Ops', encoding: 'utf8' },
      { oid: OID.C, value: 'IN', encoding: 'printable' },
      { oid: OID.L, value: 'Pune', encoding: 'printable' },
    ]);
  });

  it('keeps the request order when subject.order is "request", fixed attributes after', () => {
    const t = enforceProfile(profile({ subject: { ...base.subject, order: 'request' } }), {
      subject: [{ type: 'OU', value: 'b' }, cn('x'), { type: 'OU', value: 'a' }],
      sans: [],
    });
    expect(t.subject.map((a) => `${a.oid}=${a.value}`)).toEqual([
      `${OID.OU}=b`,
      `${OID.OU}=a`,
      `${OID.CN}=x`,
      `${OID.O}=Example Org`,
    ]);
  });

  it.each(['CN', 'cn', 'commonName', 'COMMONNAME', '2.5.4.3'])('matches attribute type %s case-insensitively', (type) => {
    const t = enforceProfile(p, { subject: [{ type, value: 'x' }], sans: [] });
    expect(t.subject[0]).toEqual({ oid: OID.CN, value: 'x', encoding: 'utf8' });
  });

  it('matches profile rules given by OID or alias', () => {
    const q = profile({ subject: { attributes: [{ type: '2.5.4.3', rule: 'required' }, { type: 'emailAddress', rule: 'optional' }] } });
    const t = enforceProfile(q, { subject: [cn('a'), { type: 'E', value: 'a@b.c' }], sans: [] });
    expect(t.subject).toEqual([
      { oid: OID.CN, value: 'a', encoding: 'utf8' },
      { oid: OID.E, value: 'a@b.c', encoding: 'ia5' },
    ]);
  });

  it('omits optional attributes that are absent and treats empty values as absent', () => {
    const t = enforceProfile(p, { subject: [cn('x'), { type: 'OU', value: '' }], sans: [] });
    expect(t.subject.map((a) => a.oid)).toEqual([OID.CN, OID.O]);
  });

  it('sets a fixed attribute the request did not ask for', () => {
    const t = enforceProfile(p, { subject: [cn('x')], sans: [] });
    expect(t.subject).toContainEqual({ oid: OID.O, value: 'Example Org', encoding: 'utf8' });
  });

  it('forces the X.520 encodings of C, serialNumber and E', () => {
    const t = enforceProfile(p, {
      subject: [cn('x'), { type: 'serialNumber', value: 'AB12' }, { type: 'E', value: 'a@example.com' }, { type: 'C', value: 'US' }],
      sans: [],
    });
    const enc = Object.fromEntries(t.subject.map((a) => [a.oid, a.encoding]));
    expect(enc[OID.serialNumber]).toBe('printable');
    expect(enc[OID.E]).toBe('ia5');
    expect(enc[OID.C]).toBe('printable');
  });

  it('accepts every PrintableString character', () => {
    const t = enforceProfile(profile({ subject: { attributes: [{ type: 'CN', rule: 'required', encoding: 'printable' }] } }), {
      subject: [cn("Az09 '()+,-./:=?")],
      sans: [],
    });
    expect(t.subject[0].value).toBe("Az09 '()+,-./:=?");
  });

  it('counts maxLength in characters, not bytes', () => {
    const q = profile({ subject: { attributes: [{ type: 'CN', rule: 'required', maxLength: 3 }] } });
    expect(enforceProfile(q, { subject: [cn('äöü')], sans: [] }).subject[0].value).toBe('äöü');
  });

  const printable = profile({ subject: { attributes: [{ type: 'CN', rule: 'required', encoding: 'printable' }] } });
  const bad: [string, Profile, SubjectAttribute[], string, string][] = [
    ['required CN missing', p, [{ type: 'OU', value: 'x' }], 'subject.CN.required', 'CN'],
    ['required CN empty', p, [cn('')], 'subject.CN.required', 'CN'],
    ['unknown attribute', p, [cn('x'), { type: 'title', value: 'Boss' }], 'subject.unknown', 'title="Boss"'],
    ['unrecognised attribute name', p, [cn('x'), { type: 'FOO', value: 'bar' }], 'subject.unknown', 'FOO="bar"'],
    ['unknown attribute OID', p, [cn('x'), { type: '1.2.3.4', value: 'v' }], 'subject.unknown', '1.2.3.4="v"'],
    ['maxOccurs', p, [cn('x'), { type: 'OU', value: 'a' }, { type: 'OU', value: 'b' }, { type: 'OU', value: 'c' }], 'subject.OU.maxOccurs', '"c"'],
    ['maxOccurs of 1 (default)', p, [cn('x'), cn('y')], 'subject.CN.maxOccurs', '"y"'],
    ['maxLength', p, [cn('x'.repeat(65))], 'subject.CN.maxLength', 'x'.repeat(64)],
    ['maxLength on printable', p, [cn('x'), { type: 'L', value: 'Pune City 1' }], 'subject.L.maxLength', 'Pune City 1'],
    ['pattern', p, [cn('x'), { type: 'serialNumber', value: 'ab12' }], 'subject.serialNumber.pattern', '"ab12"'],
    ['pattern is anchored', p, [cn('x'), { type: 'serialNumber', value: 'xAB12x' }], 'subject.serialNumber.pattern', '"xAB12x"'],
    ['printable charset: underscore', printable, [cn('a_b')], 'subject.CN.encoding', '"a_b"'],
    ['printable charset: @', printable, [cn('a@b')], 'subject.CN.encoding', '"a@b"'],
    ['printable charset: non-ASCII', printable, [cn('Müller')], 'subject.CN.encoding', '"Müller"'],
    ['printable charset: *', printable, [cn('*.example.com')], 'subject.CN.encoding', '"*.example.com"'],
    ['printable L', p, [cn('x'), { type: 'L', value: 'Köln' }], 'subject.L.encoding', '"Köln"'],
    ['ia5 charset for E', p, [cn('x'), { type: 'E', value: 'jürgen@example.com' }], 'subject.E.encoding', 'jürgen@example.com'],
    ['C with three letters', p, [cn('x'), { type: 'C', value: 'USA' }], 'subject.C.format', '"USA"'],
    ['C with digits', p, [cn('x'), { type: 'C', value: '12' }], 'subject.C.format', '"12"'],
    ['C with one letter', p, [cn('x'), { type: 'C', value: 'U' }], 'subject.C.format', '"U"'],
  ];
  it.each(bad)('rejects: %s', (_name, prof, subject, rule, value) => {
    expectRule(() => enforceProfile(prof, { subject, sans: [] }), rule, value);
  });

  it('drops unknown attributes when subject.unknown is "drop"', () => {
    const q = profile({ subject: { ...base.subject, unknown: 'drop' } });
    const t = enforceProfile(q, { subject: [cn('x'), { type: 'title', value: 'Boss' }, { type: 'FOO', value: 'y' }], sans: [] });
    expect(t.subject.map((a) => a.oid)).toEqual([OID.CN, OID.O]);
  });

  describe('trim mode', () => {
    const t = profile({ onExcess: 'trim' });
    it('drops unknown attributes and keeps the first maxOccurs', () => {
      const r = enforceProfile(t, {
        subject: [cn('x'), { type: 'title', value: 'Boss' }, { type: 'OU', value: 'a' }, { type: 'OU', value: 'b' }, { type: 'OU', value: 'c' }],
        sans: [],
      });
      expect(r.subject.filter((a) => a.oid === OID.OU).map((a) => a.value)).toEqual(['a', 'b']);
      expect(r.subject.some((a) => a.oid === '2.5.4.12')).toBe(false);
    });
    it.each<[string, SubjectAttribute[], string]>([
      ['required', [{ type: 'OU', value: 'a' }], 'subject.CN.required'],
      ['maxLength', [cn('x'.repeat(65))], 'subject.CN.maxLength'],
      ['pattern', [cn('x'), { type: 'serialNumber', value: 'no' }], 'subject.serialNumber.pattern'],
      ['encoding', [cn('x'), { type: 'L', value: 'Köln' }], 'subject.L.encoding'],
      ['C format', [cn('x'), { type: 'C', value: 'USA' }], 'subject.C.format'],
    ])('still rejects %s', (_n, subject, rule) => {
      expectRule(() => enforceProfile(t, { subject, sans: [] }), rule, '');
    });
  });

  it('throws internal / profile.config for profile bugs (the operator\'s, not the client\'s)', () => {
    const unknownType = profile({ subject: { attributes: [{ type: 'nonsense', rule: 'optional' }] } });
    const fixedNoValue = profile({ subject: { attributes: [{ type: 'O', rule: 'fixed' }] } });
    const twice = profile({ subject: { attributes: [{ type: 'CN', rule: 'optional' }, { type: 'commonName', rule: 'optional' }] } });
    const badPattern = profile({ subject: { attributes: [{ type: 'CN', rule: 'optional', pattern: '(' }] } });
    for (const q of [unknownType, fixedNoValue, twice, badPattern]) {
      const e = thrown(() => enforceProfile(q, { subject: [], sans: [] }));
      expect(e).toMatchObject({ code: 'internal', rule: 'profile.config' });
      expect((e as Error).message).toContain("profile 'test'");
    }
  });
});

describe('enforceProfile: SANs', () => {
  const p = profile();
  const sans = (prof: Profile, list: Identifier[], extra: Partial<EnforceInput> = {}) =>
    enforceProfile(prof, { subject: [cn('not a hostname')], sans: list, ...extra }).sans;

  it.each<[Identifier, Identifier]>([
    [dns('WWW.Example.COM'), dns('www.example.com')],
    [dns('example.com.'), dns('example.com')],
    [dns('a-b.example'), dns('a-b.example')],
    [dns('xn--bcher-kva.de'), dns('xn--bcher-kva.de')],
    [dns('bücher.de'), dns('xn--bcher-kva.de')],
    [dns(`${'a'.repeat(63)}.example.com`), dns(`${'a'.repeat(63)}.example.com`)],
    [dns(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.')), dns(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.'))],
    [ip('192.0.2.1'), ip('192.0.2.1')],
    [ip('2001:DB8:0:0::1'), ip('2001:db8::1')],
    [ip('::ffff:192.0.2.1'), ip('::ffff:c000:201')],
    [email('Alice.Smith@Example.COM'), email('Alice.Smith@example.com')],
    [email("o'brien+tag@example.com"), email("o'brien+tag@example.com")],
    [uri('https://example.com/path?q=1'), uri('https://example.com/path?q=1')],
    [uri('spiffe://trust.example/ns/prod/sa/web'), uri('spiffe://trust.example/ns/prod/sa/web')],
    [uri('urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6'), uri('urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6')],
  ])('accepts and normalises %j', (input, expected) => {
    expect(sans(p, [input])).toEqual([expected]);
  });

  it('removes duplicates after normalisation, keeping request order', () => {
    expect(sans(p, [dns('b.example'), dns('A.example'), dns('B.EXAMPLE'), ip('2001:db8::1'), ip('2001:DB8:0::1'), dns('a.example.')])).toEqual([
      dns('b.example'),
      dns('a.example'),
      ip('2001:db8::1'),
    ]);
  });

  it('allows a wildcard when the profile says so', () => {
    expect(sans(profile({}, { dns: { allowed: true, wildcard: true } }), [dns('*.Example.com')])).toEqual([dns('*.example.com')]);
  });

  const none = profile({}, { dns: { allowed: false }, ip: { allowed: false }, email: { allowed: false }, uri: { allowed: false } });
  const wild = profile({}, { dns: { allowed: true, wildcard: true } });
  const policy: [string, Profile, Identifier[], string, string][] = [
    ['dns not allowed', none, [dns('a.example')], 'san.dns', '"a.example"'],
    ['ip not allowed', none, [ip('192.0.2.1')], 'san.ip', '"192.0.2.1"'],
    ['email not allowed', none, [email('a@example.com')], 'san.email', '"a@example.com"'],
    ['uri not allowed', none, [uri('https://a.example')], 'san.uri', '"https://a.example"'],
    ['wildcard not allowed', p, [dns('*.example.com')], 'san.dns.wildcard', '"*.example.com"'],
    ['wildcard in an email domain', wild, [email('a@*.example.com')], 'san.email.wildcard', '"a@*.example.com"'],
    ['wildcard in a URI host', wild, [uri('https://*.example.com/')], 'san.uri.wildcard', '"https://*.example.com/"'],
    ['maxCount', p, [dns('a.example'), dns('b.example'), dns('c.example'), dns('d.example')], 'san.maxCount', '4 SANs'],
    ['required', profile({}, { required: true }), [], 'san.required', 'got none'],
  ];
  it.each(policy)('rejects: %s', (_name, prof, list, rule, value) => {
    expectRule(() => sans(prof, list), rule, value);
  });

  it('does not count duplicates against maxCount', () => {
    expect(sans(p, [dns('a.example'), dns('b.example'), dns('c.example'), dns('A.example')])).toHaveLength(3);
  });

  const syntax: [string, Identifier, string][] = [
    ['dns label > 63', dns(`${'a'.repeat(64)}.example.com`), 'label of 64 characters'],
    ['dns name > 253', dns(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(63)].join('.')), '255 characters'],
    ['dns underscore', dns('_acme.example.com'), 'letters, digits and inner hyphens'],
    ['dns leading hyphen', dns('-a.example.com'), 'inner hyphens'],
    ['dns trailing hyphen', dns('a-.example.com'), 'inner hyphens'],
    ['dns space', dns('a b.example.com'), '"a b.example.com"'],
    ['dns empty label', dns('a..example.com'), 'empty label'],
    ['dns empty', dns(''), 'is empty'],
    ['dns only a dot', dns('.'), 'is empty'],
    ['dns leading dot', dns('.example.com'), 'empty label'],
    ['dns partial wildcard', dns('f*.example.com'), 'wildcard that is not the whole leftmost label'],
    ['dns inner wildcard', dns('a.*.example.com'), 'wildcard'],
    ['dns double wildcard', dns('*.*.example.com'), 'wildcard'],
    ['dns wildcard over a TLD', dns('*.com'), 'single label'],
    ['dns that is an IPv4 address', dns('192.0.2.1'), 'use an ip SAN'],
    ['ip garbage', ip('not-an-ip'), 'not a valid IPv4 or IPv6'],
    ['ip out of range', ip('256.0.0.1'), 'not a valid IPv4 or IPv6'],
    ['ip with leading zero', ip('01.2.3.4'), 'not a valid'],
    ['ip with zone', ip('fe80::1%eth0'), 'not a valid'],
    ['ip CIDR', ip('192.0.2.0/24'), 'not a valid'],
    ['ip hostname', ip('example.com'), 'not a valid'],
    ['email without @', email('alice.example.com'), 'local@domain'],
    ['email without local part', email('@example.com'), 'local@domain'],
    ['email without domain', email('alice@'), 'local@domain'],
    ['email with bad local part', email('a..b@example.com'), 'invalid local part'],
    ['email with space', email('a b@example.com'), 'invalid local part'],
    ['email with bad domain', email('alice@exa_mple.com'), 'invalid domain'],
    ['email local part > 64', email(`${'a'.repeat(65)}@example.com`), '65 characters'],
    ['uri relative', uri('/path/only'), 'absolute URI with a scheme'],
    ['uri without scheme', uri('example.com'), 'absolute URI with a scheme'],
    ['uri with space', uri('https://example.com/a b'), 'spaces'],
    ['uri non-ASCII', uri('https://exämple.com/'), 'non-ASCII'],
    ['uri unparseable', uri('http://[::1/'), 'not a valid URI'],
  ];
  it.each(syntax)('rejects malformed: %s', (_name, san, message) => {
    const e = expectRule(() => sans(wild, [san]), `san.${san.type}.syntax`, message, BadRequest);
    expect(e.message).toContain(JSON.stringify(san.value).slice(0, 20));
  });

  it('rejects a SAN type it does not know', () => {
    expectRule(() => sans(p, [{ type: 'x400' as 'dns', value: 'x' }]), 'san.x400.syntax', 'x400:x', BadRequest);
  });

  describe('copyCommonName', () => {
    const c = profile({}, { copyCommonName: true, dns: { allowed: true, wildcard: false } });
    const run = (prof: Profile, cnValue: string, list: Identifier[] = []) =>
      enforceProfile(prof, { subject: [cn(cnValue)], sans: list }).sans;

    it('copies a DNS-name CN first, lower-cased', () => {
      expect(run(c, 'Www.Example.com', [dns('api.example.com')])).toEqual([dns('www.example.com'), dns('api.example.com')]);
    });
    it('copies an IP CN, normalised', () => {
      expect(run(c, '2001:db8:0::1')).toEqual([ip('2001:db8::1')]);
      expect(run(c, '192.0.2.7')).toEqual([ip('192.0.2.7')]);
    });
    it('does not duplicate a CN already in the SANs', () => {
      expect(run(c, 'www.example.com', [dns('WWW.example.com')])).toEqual([dns('www.example.com')]);
    });
    it.each(['John Smith', 'device42', 'under_score.example', '*.example.com'])('does not copy %j', (value) => {
      expect(run(c, value)).toEqual([]);
    });
    it('copies a wildcard CN when wildcards are allowed', () => {
      const w = profile({}, { copyCommonName: true, dns: { allowed: true, wildcard: true } });
      expect(run(w, '*.example.com')).toEqual([dns('*.example.com')]);
    });
    it('does not copy when the SAN type is not allowed', () => {
      const noIp = profile({}, { copyCommonName: true, ip: { allowed: false } });
      expect(run(noIp, '192.0.2.7')).toEqual([]);
    });
    it('satisfies san.required with the copied CN', () => {
      const r = profile({}, { copyCommonName: true, required: true });
      expect(run(r, 'host.example.com')).toEqual([dns('host.example.com')]);
    });
    it('does not copy when copyCommonName is false', () => {
      expect(run(p, 'host.example.com')).toEqual([]);
    });
  });

  describe('trim mode', () => {
    const t = profile({ onExcess: 'trim' }, { ip: { allowed: false }, maxCount: 2 });
    it('drops disallowed types, disallowed wildcards and the excess over maxCount', () => {
      expect(
        sans(t, [ip('192.0.2.1'), dns('*.example.com'), dns('a.example'), email('x@example.com'), dns('c.example')]),
      ).toEqual([dns('a.example'), email('x@example.com')]);
    });
    it('drops wildcards in non-dns SANs', () => {
      const w = profile({ onExcess: 'trim' }, { dns: { allowed: true, wildcard: true } });
      expect(sans(w, [email('a@*.example.com'), uri('https://*.example.com/'), dns('*.example.com')])).toEqual([dns('*.example.com')]);
    });
    it('still rejects malformed SANs', () => {
      expectRule(() => sans(t, [dns('bad_name.example')]), 'san.dns.syntax', 'bad_name', BadRequest);
    });
    it('still rejects a missing required SAN, even after trimming', () => {
      const r = profile({ onExcess: 'trim' }, { ip: { allowed: false }, required: true });
      expectRule(() => sans(r, [ip('192.0.2.1')]), 'san.required', 'got none');
    });
  });

  describe('authorization', () => {
    const w = profile({}, { dns: { allowed: true, wildcard: true }, copyCommonName: true });
    const auth = (list: Identifier[], authorized: Identifier[], cnValue = 'not a hostname') =>
      enforceProfile(w, { subject: [cn(cnValue)], sans: list, authorizedIdentifiers: authorized });

    it('passes when every SAN is covered', () => {
      const t = auth([dns('a.example'), ip('2001:db8::1'), dns('*.b.example')], [dns('A.example'), ip('2001:DB8:0::1'), dns('*.b.example'), dns('z.example')]);
      expect(t.sans).toHaveLength(3);
    });
    it('passes with no SANs', () => {
      expect(auth([], []).sans).toEqual([]);
    });
    it.each<[string, Identifier[], Identifier[], string]>([
      ['an uncovered name', [dns('a.example'), dns('foo.example')], [dns('a.example')], 'not authorized for dns:foo.example'],
      ['an empty authorization list', [dns('a.example')], [], 'not authorized for dns:a.example'],
      ['a wildcard covered only by its base name', [dns('*.x.example')], [dns('x.example'), dns('a.x.example')], 'not authorized for dns:*.x.example'],
      ['a name covered only by a wildcard', [dns('a.x.example')], [dns('*.x.example')], 'not authorized for dns:a.x.example'],
      ['an IP', [ip('192.0.2.1')], [ip('192.0.2.2')], 'not authorized for ip:192.0.2.1'],
      ['a type mismatch', [ip('192.0.2.1')], [dns('192.0.2.1')], 'not authorized for ip:192.0.2.1'],
    ])('rejects %s', (_name, list, authorized, message) => {
      const e = expectRule(() => auth(list, authorized), 'authorization', message, IssuanceError);
      expect(e.code).toBe('notAuthorizedForIdentifier');
    });
    it('checks a copied CN', () => {
      expectRule(() => auth([dns('a.example')], [dns('a.example')], 'evil.example'), 'authorization', 'dns:evil.example', IssuanceError);
    });
    it('checks a host-like CN even when it is not copied', () => {
      const noCopy = profile();
      expectRule(
        () => enforceProfile(noCopy, { subject: [cn('evil.example')], sans: [], authorizedIdentifiers: [] }),
        'authorization',
        'dns:evil.example (subject CN)',
        IssuanceError,
      );
    });
    it('ignores a CN that is not a host name', () => {
      expect(auth([dns('a.example')], [dns('a.example')], 'Alice').sans).toEqual([dns('a.example')]);
    });
  });
});

describe('enforceProfile: template', () => {
  it('maps EKU names to OIDs, passes OIDs through and deduplicates', () => {
    const p = profile({ extendedKeyUsage: ['serverAuth', 'clientauth', '1.3.6.1.5.5.7.3.1', '1.2.3.4', 'OCSPSigning'] });
    expect(enforceProfile(p, { subject: [cn('x')], sans: [] }).extendedKeyUsage).toEqual([
      OID.serverAuth,
      OID.clientAuth,
      '1.2.3.4',
      '1.3.6.1.5.5.7.3.9',
    ]);
  });

  it('throws internal / profile.config for an unknown EKU name (a profile bug)', () => {
    const p = profile({ extendedKeyUsage: ['serverAuth', 'superPower'] });
    const e = thrown(() => enforceProfile(p, { subject: [cn('x')], sans: [] }));
    expect(e).toMatchObject({ code: 'internal', rule: 'profile.config' });
    expect((e as Error).message).toContain('superPower');
    expect(() => resolveEkus(p)).toThrow(/superPower/);
  });

  it('copies key usage, basic constraints and policies from the profile', () => {
    const p = profile({
      keyUsage: ['keyCertSign', 'cRLSign', 'digitalSignature'],
      basicConstraints: { ca: true, pathLength: 0 },
      policies: ['2.23.140.1.2.1'],
    });
    const t = enforceProfile(p, { subject: [cn('x')], sans: [] });
    expect(t.keyUsage).toEqual(['keyCertSign', 'cRLSign', 'digitalSignature']);
    expect(t.basicConstraints).toEqual({ ca: true, pathLength: 0 });
    expect(t.policies).toEqual(['2.23.140.1.2.1']);
    const leaf = enforceProfile(profile(), { subject: [cn('x')], sans: [] });
    expect(leaf.basicConstraints).toEqual({ ca: false });
    expect('pathLength' in leaf.basicConstraints).toBe(false);
  });
});

describe('built-in profiles', () => {
  const names = ['tls-server', 'tls-client', 'device', 'email', 'code-signing', 'ocsp-signing', 'scep-ra', 'cmp-signer', 'est-server'];

  it('has every expected profile once', () => {
    expect(builtinProfiles.map((p) => p.name).sort()).toEqual([...names].sort());
  });

  it.each(builtinProfiles.map((p) => [p.name, p] as const))('%s parses and resolves its EKUs', (_name, input) => {
    const p = parseProfile(input);
    expect(p.validity.default).toBeLessThanOrEqual(p.validity.max);
    // An SCEP RA certificate has no EKU of its own (RFC 8894 defines none); every other one has.
    if (p.name !== 'scep-ra') expect(resolveEkus(p).length).toBeGreaterThan(0);
  });

  const get = (name: string) => parseProfile(builtinProfiles.find((p) => p.name === name));

  it('tls-server: copies the CN, allows wildcards and IPs, requires a SAN, 90/397 days', () => {
    const p = get('tls-server');
    const t = enforceProfile(p, { subject: [cn('www.example.com'), { type: 'C', value: 'us' }], sans: [dns('*.example.com'), ip('192.0.2.1')] });
    expect(t.sans).toEqual([dns('www.example.com'), dns('*.example.com'), ip('192.0.2.1')]);
    // DER order, most significant first, whatever order the request used
    expect(t.subject).toEqual([
      { oid: OID.C, value: 'US', encoding: 'printable' },
      { oid: OID.CN, value: 'www.example.com', encoding: 'utf8' },
    ]);
    expect(t.extendedKeyUsage).toEqual([OID.serverAuth]);
    expect(t.keyUsage).toEqual(['digitalSignature', 'keyEncipherment']);
    expect(p.validity).toMatchObject({ default: 90 * 86400, max: 397 * 86400 });
    expectRule(() => enforceProfile(p, { subject: [], sans: [] }), 'san.required', 'got none');
    expectRule(() => enforceProfile(p, { subject: [], sans: [email('a@example.com')] }), 'san.email', 'a@example.com');
  });

  it('tls-client: requires CN, clientAuth', () => {
    const p = get('tls-client');
    expectRule(() => enforceProfile(p, { subject: [], sans: [] }), 'subject.CN.required', 'CN');
    const t = enforceProfile(p, { subject: [cn('alice')], sans: [email('alice@example.com'), uri('spiffe://x/y')] });
    expect(t.extendedKeyUsage).toEqual([OID.clientAuth]);
    expectRule(() => enforceProfile(p, { subject: [cn('alice')], sans: [ip('192.0.2.1')] }), 'san.ip', '192.0.2.1');
  });

  it('device: serialNumber is printable, client+server auth, Ed25519 allowed', () => {
    const p = get('device');
    const t = enforceProfile(p, { subject: [cn('dev-1'), { type: 'serialNumber', value: 'SN-0001' }], sans: [ip('10.0.0.1')] });
    expect(t.subject[1]).toEqual({ oid: OID.serialNumber, value: 'SN-0001', encoding: 'printable' });
    expect(t.extendedKeyUsage).toEqual([OID.clientAuth, OID.serverAuth]);
    expect(() => checkKey(p, { type: 'Ed25519' })).not.toThrow();
    expectRule(() => enforceProfile(p, { subject: [cn('d'), { type: 'serialNumber', value: 'SN_1' }], sans: [] }), 'subject.serialNumber.encoding', 'SN_1');
  });

  it('email: requires an email SAN', () => {
    const p = get('email');
    expectRule(() => enforceProfile(p, { subject: [cn('Alice')], sans: [] }), 'san.required', 'email');
    const t = enforceProfile(p, { subject: [{ type: 'E', value: 'alice@example.com' }], sans: [email('alice@example.com')] });
    expect(t.keyUsage).toEqual(['digitalSignature', 'keyEncipherment', 'nonRepudiation']);
  });

  it('code-signing: requires O, no SANs, RSA >= 3072', () => {
    const p = get('code-signing');
    expectRule(() => enforceProfile(p, { subject: [cn('Signer')], sans: [] }), 'subject.O.required', 'O');
    expectRule(() => enforceProfile(p, { subject: [cn('Signer'), { type: 'O', value: 'Acme' }], sans: [dns('a.example')] }), 'san.dns', 'a.example');
    expectRule(() => checkKey(p, { type: 'RSA', bits: 2048 }), 'keys.rsa', '2048');
    expectRule(() => enforceProfile(p, { subject: [cn('S'), { type: 'O', value: 'Acme' }, { type: 'C', value: 'USA' }], sans: [] }), 'subject.C.format', 'USA');
  });

  it('ocsp-signing: OCSPSigning, 30 days default', () => {
    const p = get('ocsp-signing');
    const t = enforceProfile(p, { subject: [cn('OCSP Responder')], sans: [] });
    expect(t.extendedKeyUsage).toEqual(['1.3.6.1.5.5.7.3.9']);
    expect(p.validity).toMatchObject({ default: 30 * 86400, max: 365 * 86400 });
  });
});
