/**
 * Certificates of every built-in profile, checked by OpenSSL (extensions as `x509 -text` shows
 * them; `verify -crl_check` against root, issuing CA and the issuer's CRL), before and after
 * revocation, and parsed (and signature-checked) by pkijs. Both EC and RSA CA hierarchies.
 */
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../src/context.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { makeCsr, openssl, removeTempDirs, tempDir, writePem, x509Text, type CsrKeyType } from '../support/openssl.ts';
import { issueCsr, type Issued } from '../issuance/helpers.ts';

afterAll(() => removeTempDirs());

interface ProfileCase {
  profile: string;
  keyType?: CsrKeyType;
  subject: string;
  sans?: string[];
  /** Lines `openssl x509 -text` must show. */
  eku: string;
  ku: string;
  sanText?: string[];
  /** Extra `openssl verify` options checking the purpose/name. */
  verifyArgs?: string[];
}

const cases: ProfileCase[] = [
  {
    profile: 'tls-server',
    subject: '/CN=www.example.com',
    sans: ['DNS:www.example.com', 'DNS:api.example.com', 'IP:192.0.2.10'],
    eku: 'TLS Web Server Authentication',
    // An EC key: no keyEncipherment (RFC 5480 §3, BR 7.1.2.7.11).
    ku: 'Digital Signature',
    sanText: ['DNS:www.example.com', 'DNS:api.example.com', 'IP Address:192.0.2.10'],
    verifyArgs: ['-purpose', 'sslserver', '-verify_hostname', 'api.example.com'],
  },
  {
    profile: 'tls-client',
    subject: '/O=Example/CN=alice',
    sans: ['email:alice@example.com'],
    eku: 'TLS Web Client Authentication',
    ku: 'Digital Signature',
    sanText: ['email:alice@example.com'],
    verifyArgs: ['-purpose', 'sslclient'],
  },
  {
    profile: 'device',
    keyType: 'ec-p384',
    subject: '/O=Example/CN=device-0001',
    sans: ['DNS:device-0001.example.net', 'URI:urn:dev:ops:0001'],
    eku: 'TLS Web Client Authentication, TLS Web Server Authentication',
    ku: 'Digital Signature',
    sanText: ['DNS:device-0001.example.net', 'URI:urn:dev:ops:0001'],
    verifyArgs: ['-purpose', 'sslclient'],
  },
  {
    profile: 'email',
    keyType: 'rsa-2048',
    subject: '/CN=Bob',
    sans: ['email:bob@example.com'],
    eku: 'E-mail Protection',
    ku: 'Digital Signature, Non Repudiation, Key Encipherment',
    sanText: ['email:bob@example.com'],
    verifyArgs: ['-purpose', 'smimesign', '-verify_email', 'bob@example.com'],
  },
  {
    profile: 'code-signing',
    keyType: 'rsa-3072',
    subject: '/C=IN/O=Example Software/CN=Example Software Signing',
    eku: 'Code Signing',
    ku: 'Digital Signature',
  },
  {
    profile: 'ocsp-signing',
    subject: '/CN=Example OCSP Responder',
    eku: 'OCSP Signing',
    ku: 'Digital Signature',
  },
];

/** Writes root, issuing CA and the latest CRLs; returns `openssl verify` for a leaf. */
async function verifier(ctx: Context) {
  const dir = tempDir();
  const root = ctx.issuers.peek('dev-root')!;
  const issuing = ctx.issuers.peek('dev-issuing')!;
  const rootPem = writePem(dir, 'root.pem', root.certDer);
  const issuingPem = writePem(dir, 'issuing.pem', issuing.certDer);
  return async (leaf: Issued, extra: string[] = []) => {
    // -crl_check needs the CRL of the leaf's issuer; -crl_check_all also the root's (for the issuing CA).
    const crl = await ctx.crls.latest(leaf.certificate.issuerId);
    const rootCrl = await ctx.crls.latest('dev-root');
    const crlPem = writePem(dir, `crl-${crl!.number}.pem`, crl!.der, 'X509 CRL');
    const rootCrlPem = writePem(dir, `root-crl-${rootCrl!.number}.pem`, rootCrl!.der, 'X509 CRL');
    const leafPem = writePem(dir, `leaf-${leaf.certificate.serial}.pem`, leaf.certificate.der);
    const one = openssl(['verify', '-crl_check', '-CAfile', rootPem, '-untrusted', issuingPem, '-CRLfile', crlPem, ...extra, leafPem]);
    const all = openssl(['verify', '-crl_check_all', '-CAfile', rootPem, '-untrusted', issuingPem, '-CRLfile', crlPem, '-CRLfile', rootCrlPem, ...extra, leafPem]);
    return { one, all };
  };
}

async function pkijsCheck(leaf: Issued): Promise<void> {
  const cert = pkijs.Certificate.fromBER(leaf.certificate.der);
  expect(Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex')).toBe(leaf.certificate.serial);
  expect(cert.version).toBe(2);
  const oids = (cert.extensions ?? []).map((e) => e.extnID);
  for (const oid of ['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.14', '2.5.29.35', '1.3.6.1.5.5.7.1.1']) expect(oids).toContain(oid);
  // Delegated OCSP responders carry id-pkix-ocsp-nocheck instead of a CRL DP (RFC 6960 4.2.2.2.1).
  if (oids.includes('2.5.29.37') && cert.extensions!.some((e) => e.extnID === '1.3.6.1.5.5.7.48.1.5')) expect(oids).not.toContain('2.5.29.31');
  else expect(oids).toContain('2.5.29.31');
  const issuer = pkijs.Certificate.fromBER(leaf.chain[0]);
  expect(await cert.verify(issuer)).toBe(true);
  const root = pkijs.Certificate.fromBER(leaf.chain[leaf.chain.length - 1]);
  expect(await issuer.verify(root)).toBe(true);
}

describe.each(drivers)('OpenSSL verifies every built-in profile (%s)', (driver) => {
  let t: TestContext;
  const issued = new Map<string, Issued>();
  beforeAll(async () => {
    t = await makeTestContext(driver);
    for (const c of cases) {
      const csr = makeCsr({ keyType: c.keyType, subject: c.subject, sans: c.sans });
      issued.set(c.profile, await issueCsr(t.ctx, c.profile, csr.der));
    }
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it.each(cases)('$profile: extensions as OpenSSL reads them', (c) => {
    const leaf = issued.get(c.profile)!;
    const text = x509Text(leaf.certificate.der);
    const base = t.config.publicUrl;
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s*\n\s*CA:FALSE/);
    expect(text).toMatch(new RegExp(`X509v3 Key Usage: critical\\s*\\n\\s*${c.ku}\\s*\\n`));
    expect(text).toMatch(new RegExp(`X509v3 Extended Key Usage:\\s*\\n\\s*${c.eku}\\s*\\n`));
    expect(text).toMatch(/X509v3 Subject Key Identifier/);
    expect(text).toMatch(/X509v3 Authority Key Identifier/);
    expect(text).toMatch(/Authority Information Access:/);
    if (c.profile === 'ocsp-signing') {
      expect(text).toContain('OCSP No Check');
      expect(text).not.toContain('CRL Distribution Points');
      expect(text).not.toContain('OCSP - URI');
    } else {
      expect(text).toMatch(new RegExp(`X509v3 CRL Distribution Points:[\\s\\S]*URI:${base}/crl/dev-issuing\\.crl`));
      expect(text).toContain(`OCSP - URI:${base}/ocsp`);
    }
    expect(text).toContain(`CA Issuers - URI:${base}/ca/dev-issuing.crt`);
    if (c.sanText) {
      const m = /X509v3 Subject Alternative Name:\s*\n\s*(.*)\n/.exec(text);
      expect(m, 'SAN extension').not.toBeNull();
      for (const s of c.sanText) expect(m![1]).toContain(s);
    } else {
      expect(text).not.toMatch(/Subject Alternative Name/);
    }
    if (c.profile === 'code-signing') expect(text).toMatch(/Public-Key: \(3072 bit\)/);
  });

  it.each(cases)('$profile: parsed and signature-checked by pkijs', async (c) => {
    await pkijsCheck(issued.get(c.profile)!);
  });

  it('openssl verify -crl_check passes, and fails with "certificate revoked" after revocation', async () => {
    const verify = await verifier(t.ctx);
    for (const c of cases) {
      const leaf = issued.get(c.profile)!;
      const { one, all } = await verify(leaf, c.verifyArgs);
      expect(one.status, `${c.profile}: ${one.output}`).toBe(0);
      expect(one.stdout).toMatch(/: OK\s*$/);
      expect(all.status, `${c.profile} (crl_check_all): ${all.output}`).toBe(0);
    }
    for (const c of cases) {
      const leaf = issued.get(c.profile)!;
      await t.ctx.revocation.revoke({ serial: leaf.certificate.serial, issuerId: leaf.certificate.issuerId }, 'keyCompromise', 'operator:test');
    }
    for (const c of cases) {
      const { one, all } = await verify(issued.get(c.profile)!, c.verifyArgs);
      expect(one.status, `${c.profile}: ${one.output}`).not.toBe(0);
      expect(one.output).toMatch(/certificate revoked/);
      expect(all.output).toMatch(/certificate revoked/);
    }
    // A certificate issued after the revocations still verifies against the newest CRL.
    const fresh = await issueCsr(t.ctx, 'tls-server', makeCsr({ subject: '/CN=fresh.example.com', sans: ['DNS:fresh.example.com'] }).der);
    const r = await verify(fresh, ['-purpose', 'sslserver']);
    expect(r.one.status, r.one.output).toBe(0);
  });
});

describe.each(drivers)('an RSA CA hierarchy (%s)', (driver) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await makeTestContext(driver, { caKeyType: 'rsa-2048' });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('signs with sha256WithRSAEncryption, verifies with OpenSSL and pkijs, revokes', async () => {
    const issuing = x509Text(t.ctx.issuers.peek('dev-issuing')!.certDer);
    expect(issuing).toMatch(/Public-Key: \(2048 bit\)/);
    expect(issuing).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    const verify = await verifier(t.ctx);
    for (const keyType of ['ec-p256', 'rsa-2048'] as const) {
      const leaf = await issueCsr(t.ctx, 'tls-server', makeCsr({ keyType, subject: '/CN=rsa.example.com', sans: ['DNS:rsa.example.com'] }).der);
      expect(x509Text(leaf.certificate.der)).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
      await pkijsCheck(leaf);
      const good = await verify(leaf, ['-purpose', 'sslserver', '-verify_hostname', 'rsa.example.com']);
      expect(good.one.status, good.one.output).toBe(0);
      expect(good.all.status, good.all.output).toBe(0);
      await t.ctx.revocation.revoke({ serial: leaf.certificate.serial, issuerId: 'dev-issuing' }, 'superseded', 'operator:test');
      const bad = await verify(leaf, ['-purpose', 'sslserver']);
      expect(bad.one.status).not.toBe(0);
      expect(bad.one.output).toMatch(/certificate revoked/);
    }
  });
});
