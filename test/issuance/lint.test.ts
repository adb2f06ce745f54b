/**
 * Lint before sign, through the pipeline: key usage follows the key type (checked with
 * `openssl x509 -text`), and a certificate that would break a lint is refused before signing
 * with code `policy`, rule `lint.<name>`, and nothing stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { findLintFailure } from '../../src/lint/index.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { makeCsr, removeTempDirs, x509Text } from '../support/openssl.ts';
import { expectIssuanceError, issueCsr, operator, rowCounts } from './helpers.ts';

afterAll(() => removeTempDirs());

/** The "X509v3 Key Usage" line of `openssl x509 -text`. */
function keyUsageLine(der: Uint8Array): string {
  const text = x509Text(der);
  const m = /X509v3 Key Usage:.*\n\s*(.+)/.exec(text);
  if (!m) throw new Error(`no key usage in:\n${text}`);
  return m[1].trim();
}

describe.each(drivers)('lint before sign in the pipeline (%s)', (driver) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await makeTestContext(driver);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('tls-server: an EC key gets digitalSignature only, an RSA key digitalSignature + keyEncipherment (openssl x509 -text)', async () => {
    const ec = await issueCsr(t.ctx, 'tls-server', makeCsr({ keyType: 'ec-p256', subject: '/CN=ec.example.com', sans: ['DNS:ec.example.com'] }).der);
    expect(keyUsageLine(ec.certificate.der)).toBe('Digital Signature');
    expect(x509Text(ec.certificate.der)).not.toMatch(/Key Encipherment/);
    const rsa = await issueCsr(t.ctx, 'tls-server', makeCsr({ keyType: 'rsa-2048', subject: '/CN=rsa.example.com', sans: ['DNS:rsa.example.com'] }).der);
    expect(keyUsageLine(rsa.certificate.der)).toBe('Digital Signature, Key Encipherment');
  });

  it('device and email: EC keys never get keyEncipherment either', async () => {
    const device = await issueCsr(t.ctx, 'device', makeCsr({ keyType: 'ec-p384', subject: '/CN=dev-1' }).der);
    expect(keyUsageLine(device.certificate.der)).toBe('Digital Signature');
    const email = await issueCsr(t.ctx, 'email', makeCsr({ subject: '/CN=Alice', sans: ['email:alice@example.com'] }).der);
    expect(keyUsageLine(email.certificate.der)).toBe('Digital Signature, Non Repudiation');
  });

  it('what the pipeline signs passes every lint when read back from the certificate', async () => {
    const r = await issueCsr(t.ctx, 'tls-server', makeCsr({ subject: '/CN=back.example.com', sans: ['DNS:back.example.com', 'IP:192.0.2.10'] }).der);
    const issuer = (await t.ctx.issuers.get(r.certificate.issuerId))!;
    const p = (await t.ctx.profiles.get('tls-server'))!;
    const f = findLintFailure(parseCertificate(r.certificate.der).tbs, {
      profile: p.name,
      keyUsage: p.keyUsage,
      extendedKeyUsage: ['1.3.6.1.5.5.7.3.1'],
      tlsServer: true,
      ca: false,
      maxValiditySeconds: p.validity.max + p.validity.backdate,
      issuer: { notBefore: issuer.notBefore, notAfter: issuer.notAfter, keyId: issuer.keyId },
    });
    expect(f).toBeUndefined();
  });

  it('a TLS server certificate without a SAN is refused by lint.san.present, nothing stored', async () => {
    await t.ctx.profiles.create({ name: 'loose-server', subject: { attributes: [{ type: 'CN', rule: 'required' }] }, extendedKeyUsage: ['serverAuth'] });
    const before = await rowCounts(t.ctx.db);
    const e = await expectIssuanceError(
      t.ctx.pipeline.issue({ principal: operator, profile: 'loose-server', key: { kind: 'csr', der: makeCsr({ subject: '/CN=Just A Name' }).der } }),
      'policy',
      /certificate lint san.present failed/,
    );
    expect(e.rule).toBe('lint.san.present');
    expect(await rowCounts(t.ctx.db)).toEqual(before);
  });

  it('a CN missing from the SANs of a TLS server certificate is refused by lint.subject.cnInSans', async () => {
    await t.ctx.profiles.create({ name: 'no-copy-server', subject: { attributes: [{ type: 'CN', rule: 'required' }] }, san: { dns: { allowed: true }, required: true }, extendedKeyUsage: ['serverAuth'] });
    const e = await expectIssuanceError(
      t.ctx.pipeline.issue({ principal: operator, profile: 'no-copy-server', key: { kind: 'csr', der: makeCsr({ subject: '/CN=a.example.com', sans: ['DNS:b.example.com'] }).der } }),
      'policy',
      /lint subject.cnInSans/,
    );
    expect(e.rule).toBe('lint.subject.cnInSans');
  });

  it('an OCSP-signing EKU mixed with another is refused by lint.eku.ocspSigning.alone (even for an operator)', async () => {
    await t.ctx.profiles.create({ name: 'mixed-responder', subject: { attributes: [{ type: 'CN', rule: 'required' }] }, extendedKeyUsage: ['clientAuth', 'OCSPSigning'] });
    const e = await expectIssuanceError(
      t.ctx.pipeline.issue({ principal: operator, profile: 'mixed-responder', key: { kind: 'csr', der: makeCsr({ subject: '/CN=responder' }).der } }),
      'policy',
      /ocspSigning/,
    );
    expect(e.rule).toBe('lint.eku.ocspSigning.alone');
  });

  it('keyCertSign without cA is refused by lint.keyUsage.ca', async () => {
    await t.ctx.profiles.create({ name: 'fake-ca', subject: { attributes: [{ type: 'CN', rule: 'required' }] }, keyUsage: ['digitalSignature', 'keyCertSign'], extendedKeyUsage: ['clientAuth'] });
    const e = await expectIssuanceError(
      t.ctx.pipeline.issue({ principal: operator, profile: 'fake-ca', key: { kind: 'csr', der: makeCsr({ keyType: 'rsa-2048', subject: '/CN=x' }).der } }),
      'policy',
      /keyCertSign/,
    );
    expect(e.rule).toBe('lint.keyUsage.ca');
  });
});
