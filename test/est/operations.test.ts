/**
 * RFC 7030 §4 operations over a real HTTPS listener with node's https client: /cacerts, /csrattrs,
 * /simpleenroll (Basic and client-certificate auth), /simplereenroll, /serverkeygen, 202 +
 * Retry-After under manual approval. Every certificate is checked with `openssl verify`.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { encodeContentInfo } from '../../src/pki/cms-content-info.ts';
import { octetString, oid, readTlv, seq, set } from '../../src/pki/der.ts';
import { rowCounts } from '../issuance/helpers.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSignedData } from '../../src/pki/cms-signed-data.ts';
import { decodeCsrAttrs } from '../../src/pki/csr-attrs.ts';
import { drivers } from '../support/context.ts';
import { opensslOk, removeTempDirs, tempDir, writeDer, writePem } from '../support/openssl.ts';
import { b64, call, makeCsr, newKey, startEst, type EstHarness, type Reply } from './helpers.ts';
import { LabelStore } from '../../protocols/est/labels.ts';
import { UserStore } from '../../protocols/est/users.ts';
import { createProtocolContext } from '../../src/protocol-context-impl.ts';

const P10 = 'application/pkcs10';

function certsOf(r: Reply): Buffer[] {
  expect(r.headers['content-type']).toBe('application/pkcs7-mime; smime-type=certs-only');
  expect(r.headers['content-length']).toBe(String(r.body.length));
  expect(r.text).not.toMatch(/[\r\n]/);
  return parseSignedData(Buffer.from(r.text, 'base64')).certificates;
}

describe.each(drivers)('EST operations (%s)', (driver) => {
  let h: EstHarness;
  let password: string;
  let dir: string;
  let rootFile: string;

  const verify = (der: Uint8Array) => {
    const chain = h.t.ctx.issuers.defaultIssuer()!.chain.slice(0, -1);
    const untrusted = writePem(dir, `chain-${Math.random()}.pem`, chain);
    const leaf = writePem(dir, `leaf-${Math.random()}.pem`, der);
    expect(opensslOk(['verify', '-CAfile', rootFile, '-untrusted', untrusted, leaf])).toContain(': OK');
  };

  beforeAll(async () => {
    h = await startEst(driver);
    dir = tempDir();
    rootFile = writePem(dir, 'root.pem', h.t.ctx.issuers.list().find((i) => i.isRoot)!.certDer);
    const pctx = createProtocolContext(h.t.ctx, 'est');
    password = (await new UserStore(pctx).add('default', 'dev1', 'test')).password;
    const device = (await h.t.ctx.profiles.get('device'))!;
    await h.t.ctx.profiles.create({ ...device, name: 'device-held', manualApproval: true });
    await new LabelStore(pctx).add({ name: 'held', profile: 'device-held', auth: 'basic' }, 'test');
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    removeTempDirs();
  });

  it('§4.1 /cacerts: certs-only PKCS#7 of the issuing chain, no authentication', async () => {
    const r = await call(h, '/.well-known/est/cacerts');
    expect(r.status).toBe(200);
    const certs = certsOf(r);
    const issuer = h.t.ctx.issuers.defaultIssuer()!;
    expect(certs.map((c) => c.toString('hex'))).toEqual(issuer.chain.map((c) => c.toString('hex')));
    const printed = opensslOk(['pkcs7', '-inform', 'DER', '-print_certs', '-noout'], { input: Buffer.from(r.text, 'base64') });
    expect(printed).toContain(issuer.subject.split(',')[0].replace('CN=', ''));
  });

  it('§4.5 /csrattrs: the profile as CsrAttrs', async () => {
    const r = await call(h, '/.well-known/est/csrattrs');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/csrattrs');
    const attrs = decodeCsrAttrs(Buffer.from(r.text, 'base64'));
    expect(attrs).toContainEqual({ oid: '2.5.4.3' });
    expect(attrs.some((a) => 'type' in a && a.type === '1.2.840.10045.2.1')).toBe(true);
    expect(opensslOk(['asn1parse', '-inform', 'DER'], { input: Buffer.from(r.text, 'base64') })).toContain('commonName');
  });

  it('§4.2 /simpleenroll with HTTP Basic; base64 with line breaks and Content-Transfer-Encoding accepted', async () => {
    const key = newKey();
    const csr = makeCsr({ key, subject: [{ type: 'CN', value: 'dev1.example' }], sans: [{ type: 'dns', value: 'dev1.example' }] });
    const r = await call(h, '/.well-known/est/simpleenroll', { body: b64(csr, 64), contentType: P10, basic: ['dev1', password], headers: { 'content-transfer-encoding': 'base64' } });
    expect(r.status, r.text).toBe(200);
    const [cert] = certsOf(r);
    const x = new X509Certificate(cert);
    expect(x.subject).toBe('CN=dev1.example');
    expect(x.publicKey.export({ format: 'der', type: 'spki' }).equals(key.publicKey.export({ format: 'der', type: 'spki' }))).toBe(true);
    verify(cert);

    // The same request again: the same certificate (idempotency key = principal + CSR key).
    const again = await call(h, '/.well-known/est/simpleenroll', { body: b64(csr), contentType: P10, basic: ['dev1', password] });
    expect(certsOf(again)[0].equals(cert)).toBe(true);
  });

  it('§4.2.2 /simplereenroll with the TLS client certificate: new key, same names; then the new certificate authenticates', async () => {
    const key = newKey();
    const subject = [{ type: 'CN', value: 'dev2.example' }];
    const sans = [{ type: 'dns' as const, value: 'dev2.example' }];
    const first = certsOf(await call(h, '/.well-known/est/simpleenroll', { body: b64(makeCsr({ key, subject, sans })), contentType: P10, basic: ['dev1', password] }))[0];

    const key2 = newKey('RSA-2048');
    const r = await call(h, '/.well-known/est/simplereenroll', { body: b64(makeCsr({ key: key2, subject, sans })), contentType: P10, cert: { key: key.privateKey, certDer: [first] } });
    expect(r.status, r.text).toBe(200);
    const [renewed] = certsOf(r);
    verify(renewed);
    const x = new X509Certificate(renewed);
    expect(x.subject).toBe('CN=dev2.example');
    expect(x.subjectAltName).toBe('DNS:dev2.example');
    expect(x.publicKey.asymmetricKeyType).toBe('rsa');

    // Enrolment with only the client certificate (label default accepts both kinds).
    const key3 = newKey();
    const e = await call(h, '/.well-known/est/simpleenroll', { body: b64(makeCsr({ key: key3, subject: [{ type: 'CN', value: 'dev3.example' }] })), contentType: P10, cert: { key: key2.privateKey, certDer: [renewed] } });
    expect(e.status, e.text).toBe(200);
    verify(certsOf(e)[0]);
  });

  it('§4.4 /serverkeygen: multipart/mixed with the PKCS#8 key and its certificate', async () => {
    const key = newKey();
    const r = await call(h, '/.well-known/est/serverkeygen', { body: b64(makeCsr({ key, subject: [{ type: 'CN', value: 'keygen.example' }] })), contentType: P10, basic: ['dev1', password] });
    expect(r.status, r.text).toBe(200);
    const ct = String(r.headers['content-type']);
    expect(ct).toMatch(/^multipart\/mixed; boundary=/);
    const boundary = ct.split('boundary=')[1];
    const parts = r.text.split(`--${boundary}`).slice(1, -1).map((p) => {
      const [head, body] = p.split('\r\n\r\n');
      return { type: /Content-Type: (.*)/.exec(head)![1].trim(), der: Buffer.from(body.trim(), 'base64') };
    });
    expect(parts.map((p) => p.type)).toEqual(['application/pkcs8', 'application/pkcs7-mime; smime-type=certs-only']);
    const priv = createPrivateKey({ key: parts[0].der, format: 'der', type: 'pkcs8' });
    const [cert] = parseSignedData(parts[1].der).certificates;
    verify(cert);
    expect(new X509Certificate(cert).checkPrivateKey(priv)).toBe(true);
    expect(new X509Certificate(cert).publicKey.export({ format: 'der', type: 'spki' }).equals(key.publicKey.export({ format: 'der', type: 'spki' }))).toBe(false);
  });

  it('§4.4.2 /serverkeygen with AsymmetricDecryptKeyIdentifier: the key in SignedData over EnvelopedData to the client certificate (openssl cms)', async () => {
    const rsa = newKey('RSA-2048');
    const r0 = await call(h, '/.well-known/est/simpleenroll', { body: b64(makeCsr({ key: rsa, subject: [{ type: 'CN', value: 'rsa-client.example' }] })), contentType: P10, basic: ['dev1', password] });
    const clientCert = certsOf(r0)[0];
    const ski = parseCertificate(clientCert).ski!;
    const attr = seq(oid('1.2.840.113549.1.9.16.2.54'), set(octetString(ski)));
    const csr = makeCsr({ key: newKey(), subject: [{ type: 'CN', value: 'sealed-keygen.example' }], attributes: [attr] });
    const r = await call(h, '/.well-known/est/serverkeygen', { body: b64(csr), contentType: P10, cert: { key: rsa.privateKey, certDer: [clientCert] } });
    expect(r.status, r.text).toBe(200);
    const boundary = String(r.headers['content-type']).split('boundary=')[1];
    const parts = r.text.split(`--${boundary}`).slice(1, -1).map((p) => {
      const [head, body] = p.split('\r\n\r\n');
      return { type: /Content-Type: (.*)/.exec(head)![1].trim(), der: Buffer.from(body.trim(), 'base64') };
    });
    expect(parts[0].type).toBe('application/pkcs7-mime; smime-type=server-generated-key');
    const [cert] = parseSignedData(parts[1].der).certificates;
    verify(cert);
    // Independent: openssl verifies the CA's signature, then decrypts with the client's key.
    const signed = writeDer(dir, 'skg-signed.der', parts[0].der);
    opensslOk(['cms', '-verify', '-inform', 'DER', '-in', signed, '-CAfile', rootFile, '-purpose', 'any', '-binary', '-out', `${signed}.env`]);
    const env = writeDer(dir, 'skg-env-ci.der', encodeContentInfo('1.2.840.113549.1.7.3', readFileSync(`${signed}.env`)));
    const recip = writePem(dir, 'recip.pem', clientCert);
    const keyFile = join(dir, 'recip.key');
    writeFileSync(keyFile, rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    opensslOk(['cms', '-decrypt', '-inform', 'DER', '-in', env, '-recip', recip, '-inkey', keyFile, '-binary', '-out', `${env}.pkg`]);
    const pkg = readFileSync(`${env}.pkg`);
    const first = readTlv(pkg, readTlv(pkg, 0).start);
    const priv = createPrivateKey({ key: pkg.subarray(first.start - first.headerLength, first.end), format: 'der', type: 'pkcs8' });
    expect(new X509Certificate(cert).checkPrivateKey(priv)).toBe(true);
  });

  it('§4.4.2 /serverkeygen naming a key that is not the client certificate\'s: 400, nothing issued', async () => {
    const attr = seq(oid('1.2.840.113549.1.9.16.2.54'), set(octetString(Buffer.alloc(20, 9))));
    const csr = makeCsr({ key: newKey(), subject: [{ type: 'CN', value: 'sealed-bad.example' }], attributes: [attr] });
    const before = await rowCounts(h.t.ctx.db);
    const r = await call(h, '/.well-known/est/serverkeygen', { body: b64(csr), contentType: P10, basic: ['dev1', password] });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/AsymmetricDecryptKeyIdentifier must name/);
    expect((await rowCounts(h.t.ctx.db)).certificates).toBe(before.certificates);
  });

  it('§4.2.3 manual approval: 202 with Retry-After, the same request gets the certificate once approved', async () => {
    const pctx = createProtocolContext(h.t.ctx, 'est');
    const pw = (await new UserStore(pctx).add('held', 'dev9', 'test')).password;
    const csr = b64(makeCsr({ key: newKey(), subject: [{ type: 'CN', value: 'held.example' }] }));
    const r1 = await call(h, '/.well-known/est/held/simpleenroll', { body: csr, contentType: P10, basic: ['dev9', pw] });
    expect(r1.status, r1.text).toBe(202);
    expect(r1.headers['retry-after']).toBe('60');
    const r2 = await call(h, '/.well-known/est/held/simpleenroll', { body: csr, contentType: P10, basic: ['dev9', pw] });
    expect(r2.status).toBe(202);
    const pending = await h.t.ctx.pipeline.listRequests('pending');
    expect(pending).toHaveLength(1);
    await h.t.ctx.pipeline.approve(pending[0].id, 'operator:test');
    const r3 = await call(h, '/.well-known/est/held/simpleenroll', { body: csr, contentType: P10, basic: ['dev9', pw] });
    expect(r3.status, r3.text).toBe(200);
    verify(certsOf(r3)[0]);
  });

});
