/**
 * RFC 8555 end to end over real HTTP handling (app.request), a real database, real keys and a
 * real http-01 responder on 127.0.0.1; certificates checked with `openssl verify`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAcmeProtocol, type AcmeModule } from '../../protocols/acme/index.ts';
import { buildApp } from '../../src/server.ts';
import { fromPem, toPem } from '../../src/pki/pem.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { makeCsr, openssl, removeTempDirs, tempDir } from '../support/openssl.ts';
import { AcmeClient, Http01Responder, completeOrder, newKey, type Fetch } from './client.ts';

const BASE = 'http://acme.test';

describe.each(drivers)('ACME full flow (%s)', (driver) => {
  let t: TestContext;
  let acme: AcmeModule;
  let fetchFn: Fetch;
  let responder: Http01Responder;
  let dir: string;
  let rootFile: string;

  beforeAll(async () => {
    t = await makeTestContext(driver);
    responder = await new Http01Responder().start();
    acme = createAcmeProtocol({ allowPrivateTargets: true, http01Port: responder.port, validationRetries: 0, validationTimeoutMs: 3000, pollWaitMs: 5000 }, {});
    const app = await buildApp(t.ctx, [acme]);
    fetchFn = (u, i) => Promise.resolve(app.request(u, i));
    dir = tempDir('certgate-acme-');
    rootFile = join(dir, 'root.pem');
    writeFileSync(rootFile, t.ctx.issuers.list().filter((i) => i.isRoot).map((i) => toPem(i.certDer, 'CERTIFICATE')).join(''));
  });
  afterAll(async () => {
    await acme?.drain();
    await responder?.stop();
    await t?.cleanup();
    removeTempDirs();
  });

  function verify(pem: string): { ok: boolean; output: string } {
    const certs = fromPem(pem, 'CERTIFICATE');
    const leaf = join(dir, `leaf-${Math.random()}.pem`);
    const chain = join(dir, `chain-${Math.random()}.pem`);
    writeFileSync(leaf, toPem(certs[0], 'CERTIFICATE'));
    writeFileSync(chain, certs.slice(1).map((d) => toPem(d, 'CERTIFICATE')).join(''));
    const r = openssl(['verify', '-CAfile', rootFile, '-untrusted', chain, '-purpose', 'sslserver', leaf]);
    return { ok: r.status === 0 && r.stdout.includes(': OK'), output: r.output };
  }

  it('serves the directory with meta and a nonce', async () => {
    const r = await fetchFn(`${BASE}/acme/directory`, { method: 'GET' });
    expect(r.status).toBe(200);
    const d = (await r.json()) as any;
    expect(d.newNonce).toBe(`${BASE}/acme/new-nonce`);
    expect(d.renewalInfo).toBe(`${BASE}/acme/renewal-info`);
    expect(d.meta.externalAccountRequired).toBe(false);
    expect(Object.keys(d.meta.profiles)).toContain('tls-server');
    expect(r.headers.get('replay-nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const head = await fetchFn(`${BASE}/acme/new-nonce`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('cache-control')).toBe('no-store');
    const get = await fetchFn(`${BASE}/acme/new-nonce`, { method: 'GET' });
    expect(get.status).toBe(204);
    expect(get.headers.get('replay-nonce')).not.toBe(head.headers.get('replay-nonce'));
  });

  it('issues a certificate for two names that openssl verifies against the root, then revokes it', async () => {
    const client = await new AcmeClient(`${BASE}/acme/directory`, await newKey('ES256'), fetchFn).init();
    const acct = await client.newAccount({ termsOfServiceAgreed: true, contact: ['mailto:ops@example.com'] });
    expect(acct.status).toBe(201);
    expect(acct.json.status).toBe('valid');
    // The same key again: the existing account, 200.
    const again = await client.newAccount({ termsOfServiceAgreed: true });
    expect(again.status).toBe(200);
    expect(again.location).toBe(acct.location);

    const csr = makeCsr({ sans: ['DNS:localhost', 'IP:127.0.0.1'] });
    const { pem, orderUrl } = await completeOrder(client, responder, [
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ], csr.der);
    const v = verify(pem);
    expect(v.output).toContain('OK');
    expect(v.ok).toBe(true);
    const leaf = parseCertificate(fromPem(pem, 'CERTIFICATE')[0]);
    expect(leaf.sans.map((s) => `${s.type}:${s.value}`).sort()).toEqual(['dns:localhost', 'ip:127.0.0.1']);

    // The order is valid and the pipeline recorded the certificate under the account.
    const o = await client.get(orderUrl);
    expect(o.json.status).toBe('valid');
    const orders = await client.post(`${acct.location}/orders`, '');
    expect(orders.json.orders).toContain(orderUrl);

    // Renewal information for it.
    const aki = t.ctx.issuers.list().find((i) => !i.isRoot && i.isDefault) ?? t.ctx.issuers.defaultIssuer()!;
    const certIdStr = `${aki.keyId.toString('base64url')}.${Buffer.from(leaf.serialHex, 'hex').toString('base64url')}`;
    const ri = await fetchFn(`${BASE}/acme/renewal-info/${certIdStr}`, { method: 'GET' });
    expect(ri.status).toBe(200);
    const w = ((await ri.json()) as any).suggestedWindow;
    expect(new Date(w.start).getTime()).toBeGreaterThan(leaf.notBefore.getTime());
    expect(new Date(w.end).getTime()).toBeLessThan(leaf.notAfter.getTime());
    expect(ri.headers.get('retry-after')).toBeTruthy();

    // Revocation by the certificate key (jwk = the certificate's key).
    const certKey = await importPemKey(csr.keyPem);
    const der = fromPem(pem, 'CERTIFICATE')[0];
    const rv = await client.post(client.dir.revokeCert, { certificate: der.toString('base64url'), reason: 4 }, { jwk: true, key: certKey });
    expect(rv.status).toBe(200);
    const twice = await client.post(client.dir.revokeCert, { certificate: der.toString('base64url') });
    expect(twice.json.type).toBe('urn:ietf:params:acme:error:alreadyRevoked');
    const ri2 = (await (await fetchFn(`${BASE}/acme/renewal-info/${certIdStr}`, { method: 'GET' })).json()) as any;
    expect(new Date(ri2.suggestedWindow.end).getTime()).toBeLessThanOrEqual(Date.now());
  });
});

async function importPemKey(pem: string) {
  const { importPKCS8, exportJWK, calculateJwkThumbprint } = await import('jose');
  const privateKey = await importPKCS8(pem, 'ES256', { extractable: true });
  const full = await exportJWK(privateKey);
  const jwk = { kty: full.kty, crv: full.crv, x: full.x, y: full.y };
  return { alg: 'ES256' as const, privateKey, publicKey: privateKey, jwk, thumbprint: await calculateJwkThumbprint(jwk, 'sha256') };
}
