/**
 * Lint before sign: each lint fails on a crafted TBSCertificate that breaks exactly its rule and
 * passes on good ones (EC and RSA TLS server, a client certificate, what the pipeline signs).
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findLintFailure, lints, type LintRules } from '../../src/lint/index.ts';
import { dnsNameProblem } from '../../src/lint/names.ts';
import { uriProblem } from '../../src/lint/extensions.ts';
import { buildTbsCertificate, randomSerial } from '../../src/pki/certificate.ts';
import { Tag, bitString, children, explicit, implicitPrimitive, integer, oid, readTlv, seq, time, tlv, tlvBytes } from '../../src/pki/der.ts';
import * as x from '../../src/pki/extensions.ts';
import { encodeName } from '../../src/pki/name.ts';
import { ekuOids, ext } from '../../src/pki/oids.ts';

const DAY = 86400_000;
const now = Date.now();
const issuerKeyId = Buffer.alloc(20, 0xab);
const spkiOf = (type: 'ec' | 'rsa' | 'ed25519') =>
  (type === 'ec'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ed25519')
  ).publicKey.export({ format: 'der', type: 'spki' });
const spki = { ec: spkiOf('ec'), rsa: spkiOf('rsa'), ed25519: spkiOf('ed25519') };
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const cn = (v: string) => [{ oid: '2.5.4.3', value: v, encoding: 'utf8' as const }];

const rules = (o: Partial<LintRules> = {}): LintRules => ({
  profile: 'test',
  keyUsage: ['digitalSignature', 'keyEncipherment'],
  extendedKeyUsage: [ekuOids.serverAuth],
  tlsServer: true,
  ca: false,
  maxValiditySeconds: 397 * 86400 + 60,
  issuer: { notBefore: new Date(now - 365 * DAY), notAfter: new Date(now + 5 * 365 * DAY), keyId: issuerKeyId },
  ...o,
});

interface Build {
  key?: keyof typeof spki;
  serial?: Buffer;
  notBefore?: Date;
  notAfter?: Date;
  subject?: ReturnType<typeof cn>;
  /** Replaces the standard extension of that OID (undefined removes it); `extra` adds more. */
  replace?: Record<string, Buffer | undefined>;
  extra?: Buffer[];
}

/** A TLS server TBSCertificate for www.example.com, with the changes asked for. */
function tbs(b: Build = {}): Buffer {
  const key = spki[b.key ?? 'ec'];
  const standard: [string, Buffer][] = [
    [ext.basicConstraints, x.basicConstraints(false)],
    [ext.keyUsage, x.keyUsage(b.key === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'])],
    [ext.extKeyUsage, x.extKeyUsage([ekuOids.serverAuth])],
    [ext.subjectKeyIdentifier, x.subjectKeyIdentifier(x.keyIdentifier(key))],
    [ext.authorityKeyIdentifier, x.authorityKeyIdentifier(issuerKeyId)],
    [ext.subjectAltName, x.subjectAltName([{ type: 'dns', value: 'www.example.com' }])],
    [ext.crlDistributionPoints, x.crlDistributionPoints(['http://ca.example/crl/issuing.crl'])],
    [ext.authorityInfoAccess, x.authorityInfoAccess({ ocsp: ['http://ca.example/ocsp'], caIssuers: ['http://ca.example/ca/issuing.crt'] })],
  ];
  const exts = standard.flatMap(([o, e]) => (b.replace && o in b.replace ? (b.replace[o] ? [b.replace[o]!] : []) : [e]));
  return buildTbsCertificate({
    serial: b.serial ?? randomSerial(),
    signatureAlgorithm: ECDSA_SHA256,
    issuer: encodeName(cn('Test Issuing CA')),
    notBefore: b.notBefore ?? new Date(now - 60_000),
    notAfter: b.notAfter ?? new Date(now + 90 * DAY),
    subject: encodeName(b.subject ?? cn('www.example.com')),
    spki: key,
    extensions: [...exts, ...(b.extra ?? [])],
  });
}

/** The TBS with its n-th field (0 version, 1 serial, 4 validity, …) replaced by raw DER. */
function withField(der: Buffer, n: number, replacement: Uint8Array): Buffer {
  const outer = readTlv(der, 0);
  const fields = [...children(der, outer.start, outer.end)].map((t) => tlvBytes(der, t));
  fields[n] = replacement;
  return seq(...fields);
}

const rawSan = (...names: string[]) => x.extension(ext.subjectAltName, false, seq(...names.map((n) => implicitPrimitive(2, Buffer.from(n, 'latin1')))));
const rawKu = (bits: number, critical = true) => x.extension(ext.keyUsage, critical, bitString(Buffer.from([bits]), 0));
const failing = (der: Buffer, r: LintRules = rules()) => findLintFailure(der, r)?.lint;

describe('good certificates pass every lint', () => {
  it('EC TLS server (digitalSignature)', () => expect(findLintFailure(tbs(), rules())).toBeUndefined());
  it('RSA TLS server (digitalSignature, keyEncipherment)', () => expect(findLintFailure(tbs({ key: 'rsa' }), rules())).toBeUndefined());
  it('Ed25519 client certificate with an email SAN', () => {
    const der = tbs({
      key: 'ed25519',
      subject: cn('Alice'),
      replace: { [ext.extKeyUsage]: x.extKeyUsage([ekuOids.clientAuth]), [ext.subjectAltName]: x.subjectAltName([{ type: 'email', value: 'alice@example.com' }]) },
    });
    expect(findLintFailure(der, rules({ extendedKeyUsage: [ekuOids.clientAuth] }))).toBeUndefined();
  });
  it('an IDNA A-label and a wildcard', () => {
    const der = tbs({ subject: [], replace: { [ext.subjectAltName]: x.extension(ext.subjectAltName, true, seq(implicitPrimitive(2, Buffer.from('xn--bcher-kva.example')), implicitPrimitive(2, Buffer.from('*.example.com')))) } });
    expect(findLintFailure(der, rules())).toBeUndefined();
  });
  it('a dual-use device certificate without SANs passes when the profile is not a TLS server profile', () => {
    const der = tbs({ subject: cn('dev-1'), replace: { [ext.subjectAltName]: undefined, [ext.extKeyUsage]: x.extKeyUsage([ekuOids.clientAuth, ekuOids.serverAuth]) } });
    const device = rules({ extendedKeyUsage: [ekuOids.clientAuth, ekuOids.serverAuth] });
    expect(findLintFailure(der, { ...device, tlsServer: false })).toBeUndefined();
    expect(findLintFailure(der, device)?.lint).toBe('san.present');
  });
  it('a CN in U-labels matches its A-label SAN', () => {
    const der = tbs({ subject: cn('bücher.example'), replace: { [ext.subjectAltName]: rawSan('xn--bcher-kva.example') } });
    expect(findLintFailure(der, rules())).toBeUndefined();
  });
  it('every lint has a unique name', () => {
    expect(new Set(lints.map((l) => l.name)).size).toBe(lints.length);
  });
});

describe('each lint fails on a TBS that breaks its rule', () => {
  const cases: [string, () => Buffer, LintRules?][] = [
    ['der', () => Buffer.from('3003020100', 'hex')],
    ['serial.positive', () => withField(tbs(), 1, Buffer.from('020180', 'hex'))],
    ['serial.positive', () => withField(tbs(), 1, Buffer.from('020100', 'hex'))],
    ['serial.length', () => withField(tbs(), 1, tlv(Tag.INTEGER, Buffer.alloc(21, 0x11)))],
    ['serial.entropy', () => withField(tbs(), 1, integer(0x01020304))],
    ['validity.order', () => withField(tbs(), 4, seq(time(new Date(now)), time(new Date(now - DAY))))],
    ['validity.encoding', () => withField(tbs(), 4, seq(time(new Date(now)), tlv(Tag.GENERALIZED_TIME, Buffer.from('20300101000000Z'))))],
    ['validity.issuer', () => tbs({ notAfter: new Date(now + 6 * 365 * DAY) }), rules({ maxValiditySeconds: 10 * 365 * 86400 })],
    ['validity.issuer', () => tbs({ notBefore: new Date(now - 400 * DAY), notAfter: new Date(now + DAY) }), rules({ maxValiditySeconds: 10 * 365 * 86400 })],
    ['validity.profile', () => tbs({ notAfter: new Date(now + 398 * DAY) })],
    ['ext.duplicate', () => tbs({ extra: [x.subjectKeyIdentifier(Buffer.alloc(20, 1))] })],
    ['ext.version', () => withField(tbs(), 0, explicit(0, integer(0)))],
    ['aki.present', () => tbs({ replace: { [ext.authorityKeyIdentifier]: undefined } })],
    ['aki.present', () => tbs({ replace: { [ext.authorityKeyIdentifier]: x.authorityKeyIdentifier(Buffer.alloc(20, 0xcd)) } })],
    ['ski.present', () => tbs({ replace: { [ext.subjectKeyIdentifier]: undefined } })],
    ['basicConstraints', () => tbs({ replace: { [ext.basicConstraints]: x.basicConstraints(true) } })],
    ['crlDistributionPoints.uri', () => tbs({ replace: { [ext.crlDistributionPoints]: x.crlDistributionPoints(['ftp://ca.example/issuing.crl']) } })],
    ['crlDistributionPoints.uri', () => tbs({ replace: { [ext.crlDistributionPoints]: x.crlDistributionPoints(['http://ca.example/crl#part']) } })],
    ['crlDistributionPoints.uri', () => tbs({ replace: { [ext.crlDistributionPoints]: x.crlDistributionPoints(['not a uri']) } })],
    ['authorityInfoAccess.uri', () => tbs({ replace: { [ext.authorityInfoAccess]: x.authorityInfoAccess({ ocsp: ['javascript:alert(1)'] }) } })],
    ['authorityInfoAccess.uri', () => tbs({ replace: { [ext.authorityInfoAccess]: x.authorityInfoAccess({ caIssuers: ['http://user:pw@ca.example/ca.crt'] }) } })],
    ['keyUsage.present', () => tbs({ replace: { [ext.keyUsage]: undefined } })],
    ['keyUsage.critical', () => tbs({ replace: { [ext.keyUsage]: rawKu(0x80, false) } })],
    // The defect the issue names: an EC key with keyEncipherment.
    ['keyUsage.keyType', () => tbs({ replace: { [ext.keyUsage]: x.keyUsage(['digitalSignature', 'keyEncipherment']) } })],
    ['keyUsage.keyType', () => tbs({ key: 'rsa', replace: { [ext.keyUsage]: x.keyUsage(['digitalSignature', 'keyAgreement']) } }), rules({ keyUsage: ['digitalSignature', 'keyAgreement'] })],
    ['keyUsage.keyType', () => tbs({ key: 'ed25519', replace: { [ext.keyUsage]: x.keyUsage(['digitalSignature', 'dataEncipherment']) } }), rules({ keyUsage: ['digitalSignature', 'dataEncipherment'] })],
    ['keyUsage.keyType', () => tbs({ replace: { [ext.keyUsage]: x.keyUsage(['digitalSignature', 'nonRepudiation']) } }), rules({ keyUsage: ['digitalSignature', 'nonRepudiation'] })],
    ['keyUsage.profile', () => tbs({ key: 'rsa', replace: { [ext.keyUsage]: x.keyUsage(['digitalSignature', 'dataEncipherment']) } })],
    ['keyUsage.ca', () => tbs({ key: 'rsa', replace: { [ext.keyUsage]: x.keyUsage(['digitalSignature', 'keyCertSign']) } }), rules({ keyUsage: ['digitalSignature', 'keyCertSign'] })],
    ['eku.profile', () => tbs({ replace: { [ext.extKeyUsage]: x.extKeyUsage([ekuOids.serverAuth, ekuOids.clientAuth]) } })],
    ['eku.profile', () => tbs({ replace: { [ext.extKeyUsage]: undefined } })],
    ['eku.notEmpty', () => tbs({ replace: { [ext.extKeyUsage]: x.extension(ext.extKeyUsage, false, seq()) } }), rules({ extendedKeyUsage: [] })],
    ['eku.serverAuth.any', () => tbs({ replace: { [ext.extKeyUsage]: x.extKeyUsage([ekuOids.serverAuth, ekuOids.anyExtendedKeyUsage]) } }), rules({ extendedKeyUsage: [ekuOids.serverAuth, ekuOids.anyExtendedKeyUsage] })],
    ['eku.ocspSigning.alone', () => tbs({ replace: { [ext.extKeyUsage]: x.extKeyUsage([ekuOids.clientAuth, ekuOids.OCSPSigning]) } }), rules({ extendedKeyUsage: [ekuOids.clientAuth, ekuOids.OCSPSigning] })],
    ['san.present', () => tbs({ replace: { [ext.subjectAltName]: undefined } })],
    ['san.notEmpty', () => tbs({ replace: { [ext.extKeyUsage]: x.extKeyUsage([ekuOids.clientAuth]), [ext.subjectAltName]: x.extension(ext.subjectAltName, false, seq()) } }), rules({ extendedKeyUsage: [ekuOids.clientAuth] })],
    ['subject.empty', () => tbs({ subject: [] })],
    ['subject.empty', () => tbs({ subject: [], replace: { [ext.subjectAltName]: undefined, [ext.extKeyUsage]: x.extKeyUsage([ekuOids.clientAuth]) } }), rules({ extendedKeyUsage: [ekuOids.clientAuth] })],
    ['subject.empty', () => tbs({ replace: { [ext.subjectAltName]: x.subjectAltName([{ type: 'dns', value: 'www.example.com' }], true) } })],
    ['subject.cnInSans', () => tbs({ subject: cn('other.example.com') })],
    ['san.dns.syntax', () => tbs({ replace: { [ext.subjectAltName]: rawSan('www.example.com', 'under_score.example.com') } })],
    ['san.dns.syntax', () => tbs({ replace: { [ext.subjectAltName]: rawSan('www.example.com', 'bücher.example') } })],
    ['san.dns.syntax', () => tbs({ replace: { [ext.subjectAltName]: rawSan('www.example.com', 'xn--zz-.example') } })],
    ['san.dns.syntax', () => tbs({ replace: { [ext.subjectAltName]: rawSan('www.example.com', 'ab--cd.example') } })],
    ['san.dns.syntax', () => tbs({ replace: { [ext.subjectAltName]: rawSan('www.example.com', 'a.*.example.com') } })],
    ['san.dns.syntax', () => tbs({ replace: { [ext.subjectAltName]: rawSan('www.example.com', 'w*.example.com') } })],
    ['san.dns.syntax', () => tbs({ replace: { [ext.subjectAltName]: rawSan('www.example.com', '*.com') } })],
    ['san.dns.syntax', () => tbs({ replace: { [ext.subjectAltName]: rawSan('www.example.com', '-lead.example.com') } })],
    ['san.dns.syntax', () => tbs({ replace: { [ext.subjectAltName]: rawSan('www.example.com', 'trailing.example.com.') } })],
    ['san.email.syntax', () => tbs({ subject: cn('Alice'), replace: { [ext.extKeyUsage]: x.extKeyUsage([ekuOids.clientAuth]), [ext.subjectAltName]: x.extension(ext.subjectAltName, false, seq(implicitPrimitive(1, Buffer.from('no-at-sign')))) } }), rules({ extendedKeyUsage: [ekuOids.clientAuth] })],
  ];
  it.each(cases.map(([lint, build, r], i) => [`${lint} #${i}`, lint, build, r] as const))('%s', (_label, lint, build, r) => {
    expect(failing(build(), r)).toBe(lint);
  });
  it('every lint has at least one failing case here', () => {
    const covered = new Set(cases.map(([l]) => l));
    for (const l of lints) expect(covered, l.name).toContain(l.name);
  });
});

describe('helpers', () => {
  it.each(['www.example.com', '*.example.com', 'xn--bcher-kva.example', 'a-b.c', 'localhost'])('dns %s is fine', (n) => expect(dnsNameProblem(n)).toBeUndefined());
  it.each(['', 'a..b', 'a_b.example', 'ex ample.com', 'é.example', '192.0.2.1', 'a.b-', `${'a'.repeat(64)}.example`])('dns %j is refused', (n) => expect(dnsNameProblem(n)).toBeTruthy());
  it.each(['http://ca.example/crl/a.crl', 'ldap://ldap.example/cn=CA?certificateRevocationList', 'https://ca.example/x'])('uri %s is fine', (u) => expect(uriProblem(u)).toBeUndefined());
  it.each(['file:///etc/passwd', 'http://', 'http://ca.example/a b', 'http://ca.example/#x'])('uri %j is refused', (u) => expect(uriProblem(u)).toBeTruthy());
});
