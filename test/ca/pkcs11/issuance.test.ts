/**
 * An HSM-held CA hierarchy on a SoftHSM2 token of this test's own, on every path that signs:
 * certificates through the pipeline, SCEP over HTTP (the CA's RSA key decrypts the envelope on the
 * token and signs the CertRep), the CRL over HTTP, OCSP over HTTP signed by the issuer's token key.
 * OpenSSL checks each result (`verify`, `crl -verify`, `ocsp -verify`); pkcs11-tool lists the keys
 * as sensitive and never extractable; no private key of theirs exists outside the token. Then the
 * token is taken away (issuance refused at once with "try later", /readyz 503) and brought back
 * (it recovers by itself).
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOcspProtocol } from '../../../protocols/ocsp/index.ts';
import { createScepProtocol } from '../../../protocols/scep/index.ts';
import { issuers, sealedKeys } from '../../../src/db/schema.ts';
import { IssuanceError } from '../../../src/issuance/errors.ts';
import { startServer, type RunningServer } from '../../../src/server.ts';
import { drivers, makeTestContext, type TestContext } from '../../support/context.ts';
import { opensslAsync, opensslOk, openssl, removeTempDirs, tempDir, writeDer, writePem } from '../../support/openssl.ts';
import { makeSoftHsm, pkcs11Tool, type SoftHsm } from '../../support/softhsm.ts';
import { MessageType } from '../../../protocols/scep/attributes.ts';
import { device, pkiMessage, readCertRep, transactionIdFor } from '../../scep/client.ts';
import { operator } from '../../issuance/helpers.ts';

const CHALLENGE = 'hsm-challenge';

describe.each(drivers)('issuing with HSM-held CA keys (SoftHSM2, %s)', (driver) => {
  let hsm: SoftHsm;
  let t: TestContext;
  let server: RunningServer;
  let dir: string;
  let rootFile: string;
  let chainFile: string;
  let sealedBefore: number;

  const issue = async (issuerId: string, cn: string) => {
    const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const r = await t.ctx.pipeline.issue({
      principal: operator,
      profile: 'tls-server',
      issuerId,
      key: { kind: 'spki', der: createPublicKey(kp.privateKey).export({ format: 'der', type: 'spki' }), pop: 'verified-by-protocol' },
      sans: [{ type: 'dns', value: cn }],
    });
    if (r.status !== 'issued') throw new Error(`not issued: ${JSON.stringify(r)}`);
    return r.certificate;
  };

  beforeAll(async () => {
    hsm = makeSoftHsm(`issue-${driver}`);
    t = await makeTestContext(driver, { ...hsm.settings, publicUrl: 'http://127.0.0.1' });
    sealedBefore = await t.ctx.db.$count(sealedKeys);
    const ctx = t.ctx;
    await ctx.issuers.create({ id: 'hsm-root', name: 'HSM Root', key: { type: 'EC', curve: 'P-384' }, keyStore: 'pkcs11', validityDays: 3650 });
    // RSA: SCEP clients encrypt to it, the token decrypts.
    await ctx.issuers.create({ id: 'hsm-issuing', name: 'HSM Issuing', key: { type: 'RSA', bits: 2048 }, keyStore: 'pkcs11', parentId: 'hsm-root', validityDays: 1825, pathLength: 0, isDefault: true });
    // An existing token key, named by its URI (`issuer create --key-ref`).
    const existing = await ctx.hsm!.generate({ type: 'EC', curve: 'P-256' }, 'pre-made ops key');
    await ctx.issuers.create({ id: 'hsm-ops', name: 'HSM Ops', key: { type: 'EC', curve: 'P-256' }, keyRef: existing.keyRef, parentId: 'hsm-root', validityDays: 1825, pathLength: 0 });
    // RSASSA-PSS (CKM_RSA_PKCS_PSS) for everything this one signs.
    await ctx.issuers.create({ id: 'hsm-pss', name: 'HSM PSS', key: { type: 'RSA', bits: 2048 }, keyStore: 'pkcs11', parentId: 'hsm-root', validityDays: 1825, pathLength: 0, options: { signatureScheme: 'rsa-pss' } });
    server = await startServer(ctx, [createScepProtocol({ challenge: CHALLENGE, ra: false }, {}), createOcspProtocol({ settings: { pollMs: 3_600_000, autoProvision: false, defaults: { signing: 'issuer' } as never } })], { https: false });
    dir = tempDir('certgate-hsm-');
    rootFile = writePem(dir, 'root.pem', ctx.issuers.peek('hsm-root')!.certDer);
    chainFile = writePem(dir, 'chain.pem', [ctx.issuers.peek('hsm-issuing')!.certDer, ctx.issuers.peek('hsm-ops')!.certDer, ctx.issuers.peek('hsm-pss')!.certDer]);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await t?.cleanup();
    hsm?.cleanup();
    removeTempDirs();
  });

  it('creates the hierarchy on the token: pkcs11: key references, no sealed key, CA certificates OpenSSL verifies', async () => {
    for (const id of ['hsm-root', 'hsm-issuing', 'hsm-ops', 'hsm-pss']) {
      const i = t.ctx.issuers.peek(id)!;
      expect(i.keyRef).toMatch(new RegExp(`^pkcs11:token=issue-${driver};id=(%[0-9A-F]{2})+;object=[^;]+;type=private$`));
      const [row] = await t.ctx.db.select({ sealed: issuers.privateKeySealed, keyRef: issuers.keyRef }).from(issuers).where(eq(issuers.id, id));
      expect(row.sealed).toBeNull();
      expect(row.keyRef).toBe(i.keyRef);
    }
    expect(t.ctx.issuers.peek('hsm-ops')!.keyRef).toContain('object=pre-made%20ops%20key');
    expect(t.ctx.issuers.peek('hsm-root')!.signer.keyAlgorithm).toBe('EC P-384');
    expect(t.ctx.issuers.peek('hsm-issuing')!.signer.keyAlgorithm).toBe('RSA 2048');
    const sub = writePem(dir, 'sub.pem', t.ctx.issuers.peek('hsm-issuing')!.certDer);
    expect(opensslOk(['verify', '-CAfile', rootFile, sub])).toContain(': OK');
    expect(opensslOk(['verify', '-CAfile', rootFile, rootFile])).toContain(': OK');
  });

  it('issues through the pipeline under RSA and EC token keys; openssl verifies the chains', async () => {
    for (const [id, alg] of [['hsm-issuing', 'sha256WithRSAEncryption'], ['hsm-ops', 'ecdsa-with-SHA256'], ['hsm-pss', 'rsassaPss']] as const) {
      const c = await issue(id, `${id}.example.com`);
      const leaf = writeDer(dir, `${id}.der`, c.der);
      expect(opensslOk(['x509', '-inform', 'DER', '-in', leaf, '-noout', '-text'])).toContain(`Signature Algorithm: ${alg}`);
      const pem = writePem(dir, `${id}.pem`, c.der);
      expect(opensslOk(['verify', '-CAfile', rootFile, '-untrusted', chainFile, '-purpose', 'sslserver', pem])).toContain(': OK');
    }
  });

  it('SCEP over HTTP: the envelope is decrypted and the CertRep signed by the token (no RA)', async () => {
    const ca = t.ctx.issuers.peek('hsm-issuing')!.certDer;
    const requester = device({ subject: 'CN=hsm-device.example,O=Example', challenge: CHALLENGE });
    const tid = transactionIdFor(requester.spki);
    const m = await pkiMessage({ messageType: MessageType.PKCSReq, transactionID: tid, content: requester.csr, recipientCert: ca, cipher: 'aes-256-cbc', digest: 'sha256', signerCert: requester.signerCert, signerKey: requester.key });
    const res = await fetch(`${server.httpUrl}/scep?operation=PKIOperation`, { method: 'POST', body: m.der, headers: { 'content-type': 'application/x-pki-message' } });
    expect(res.status).toBe(200);
    const rep = await readCertRep(Buffer.from(await res.arrayBuffer()), requester, ca);
    expect(rep.status).toBe(0);
    expect(rep.signerCert.equals(ca)).toBe(true);
    const pem = writePem(dir, 'scep.pem', rep.certs[0]);
    expect(opensslOk(['verify', '-CAfile', rootFile, '-untrusted', chainFile, pem])).toContain(': OK');
  });

  it('CRL over HTTP signed by the token: openssl crl verifies it and lists the revoked serial', async () => {
    const c = await issue('hsm-issuing', 'revoked.hsm.example');
    await t.ctx.revocation.revoke({ issuerId: 'hsm-issuing', serial: c.serial }, 'keyCompromise', 'test');
    const res = await fetch(`${server.httpUrl}/crl/hsm-issuing.crl`);
    expect(res.status).toBe(200);
    const crl = writeDer(dir, 'hsm.crl', Buffer.from(await res.arrayBuffer()));
    const r = openssl(['crl', '-inform', 'DER', '-in', crl, '-CAfile', writePem(dir, 'ca-chain.pem', [t.ctx.issuers.peek('hsm-issuing')!.certDer, t.ctx.issuers.peek('hsm-root')!.certDer]), '-noout', '-text']);
    expect(r.status, r.output).toBe(0);
    const out = r.output;
    expect(out).toMatch(/verify OK/);
    expect(out).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(out.toUpperCase().replace(/:/g, '')).toContain(c.serial.toUpperCase());
    // The RSASSA-PSS issuer's CRL (CKM_RSA_PKCS_PSS).
    const pss = writeDer(dir, 'pss.crl', Buffer.from(await (await fetch(`${server.httpUrl}/crl/hsm-pss.crl`)).arrayBuffer()));
    const p = openssl(['crl', '-inform', 'DER', '-in', pss, '-CAfile', writePem(dir, 'pss-chain.pem', [t.ctx.issuers.peek('hsm-pss')!.certDer, t.ctx.issuers.peek('hsm-root')!.certDer]), '-noout', '-text']);
    expect(p.status, p.output).toBe(0);
    expect(p.output).toMatch(/verify OK/);
    expect(p.output).toContain('Signature Algorithm: rsassaPss');
  });

  it('OCSP over HTTP signed by the issuer\'s token key: openssl ocsp verifies the response', async () => {
    const c = await issue('hsm-ops', 'ocsp.hsm.example');
    const leaf = writePem(dir, 'ocsp-leaf.pem', c.der);
    const issuerPem = writePem(dir, 'ops.pem', t.ctx.issuers.peek('hsm-ops')!.certDer);
    // Asynchronously: the responder runs in this process.
    const r = await opensslAsync(['ocsp', '-issuer', issuerPem, '-cert', leaf, '-url', `${server.httpUrl}/ocsp`, '-CAfile', rootFile, '-verify_other', issuerPem, '-resp_text']);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('Response verify OK');
    expect(r.output).toMatch(/ocsp-leaf.pem: good/);
    expect(r.output).toContain('Signature Algorithm: ecdsa-with-SHA256');
  });

  it('pkcs11-tool lists the keys sensitive and never extractable; no key material outside the token', async () => {
    const out = pkcs11Tool(hsm, ['--list-objects', '--type', 'privkey']);
    const blocks = out.split(/\n(?=Private Key Object)/).filter((b) => b.startsWith('Private Key Object'));
    expect(blocks.length).toBe(4);
    for (const b of blocks) {
      const access = /Access:\s+(.*)/.exec(b)![1].split(',').map((a) => a.trim());
      expect(access).toEqual(expect.arrayContaining(['sensitive', 'always sensitive', 'never extractable']));
      expect(access).not.toContain('extractable');
    }
    // No sealed key was added for them, and neither the database nor the data directory holds a
    // PEM or PKCS#8 private key of theirs (the only keys sealed are the dev hierarchy's and the
    // services' own, unchanged in number).
    expect(await t.ctx.db.$count(sealedKeys)).toBe(sealedBefore);
    const dump = await t.ctx.db.execute(sql`select string_agg(encode(coalesce(private_key_sealed, ''::bytea), 'hex'), '') as s from issuers where key_ref like 'pkcs11:%'`);
    expect(((dump as any).rows ?? dump)[0].s ?? '').toBe('');
    for (const f of files(t.dataDir)) {
      const b = readFileSync(f);
      if (f.endsWith(join('tls', 'server.key'))) continue;
      expect(b.includes(Buffer.from('PRIVATE KEY-----')), f).toBe(false);
      expect(b.includes(Buffer.from('020100301306072a8648ce3d0201', 'hex')), f).toBe(false);
      expect(b.includes(Buffer.from('020100300d06092a864886f70d010101', 'hex')), f).toBe(false);
    }
  });

  it('a token that goes away: refused at once with "try later", /readyz 503; back: recovers by itself', async () => {
    expect((await fetch(`${server.httpUrl}/readyz`)).status).toBe(200);
    const pending = await issue('hsm-ops', 'status-while-away.hsm.example');
    hsm.takeAway();
    try {
      const t0 = performance.now();
      const e = await issue('hsm-issuing', 'away.hsm.example').catch((x) => x);
      expect(e).toBeInstanceOf(IssuanceError);
      expect((e as IssuanceError).code).toBe('issuerUnavailable');
      expect((e as Error).message).toMatch(/HSM .* unavailable.*try again later/);
      expect(performance.now() - t0).toBeLessThan(2000);
      const ready = await fetch(`${server.httpUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'unavailable', hsm: 'unavailable' });
      // OCSP: a response it must sign now (a nonce) is "tryLater" (RFC 6960 §2.3), not an error page.
      const issuerPem = writePem(dir, 'ops-away.pem', t.ctx.issuers.peek('hsm-ops')!.certDer);
      const o = await opensslAsync(['ocsp', '-issuer', issuerPem, '-cert', writePem(dir, 'away-leaf.pem', pending.der), '-url', `${server.httpUrl}/ocsp`, '-noverify']);
      expect(o.output).toMatch(/Responder Error: trylater \(3\)/);
    } finally {
      hsm.bringBack();
    }
    await new Promise((r) => setTimeout(r, 1100));
    const ready = await fetch(`${server.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    const c = await issue('hsm-issuing', 'back.hsm.example');
    expect(opensslOk(['verify', '-CAfile', rootFile, '-untrusted', chainFile, writePem(dir, 'back.pem', c.der)])).toContain(': OK');
  });
});

function files(d: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    const s = statSync(p);
    return s.isDirectory() ? files(p) : s.isFile() ? [p] : [];
  });
}
