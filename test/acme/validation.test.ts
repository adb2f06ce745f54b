/**
 * The validation authority on real sockets: tls-alpn-01 (RFC 8737) against a TLS server offering
 * acme-tls/1 with a certificate made by openssl, dns-01 against pebble-challtestsrv (Debian
 * `pebble`) as CERTGATE_ACME_DNS_RESOLVER, and the SSRF guard refusing loopback targets.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createSecureContext, createServer as tlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAcmeProtocol, type AcmeModule } from '../../protocols/acme/index.ts';
import { isReservedAddress } from '../../protocols/acme/validation/resolve.ts';
import { buildApp } from '../../src/server.ts';
import { makeTestContext, type TestContext } from '../support/context.ts';
import { makeCsr, opensslOk, removeTempDirs, tempDir } from '../support/openssl.ts';
import { AcmeClient, Http01Responder, newKey, type Fetch } from './client.ts';

const BASE = 'http://acme.test';
const err = (t: string) => `urn:ietf:params:acme:error:${t}`;
const hasChallTestSrv = spawnSync('sh', ['-c', 'command -v pebble-challtestsrv']).status === 0;

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = netServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

/** A tls-alpn-01 responder: one certificate per SNI name, made with openssl (RFC 8737 §3). */
class TlsAlpnResponder {
  readonly certs = new Map<string, { key: string; cert: string }>();
  server!: TlsServer;
  port = 0;
  async start(): Promise<this> {
    const fallback = this.make('fallback.invalid', 'x');
    this.certs.delete('fallback.invalid');
    this.server = tlsServer({
      ...fallback,
      ALPNProtocols: ['acme-tls/1'],
      SNICallback: (name, cb) => {
        const c = this.certs.get(name);
        cb(null, c ? createSecureContext(c) : undefined);
      },
    });
    this.server.on('secureConnection', (s) => s.end());
    this.server.on('tlsClientError', () => {});
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }
  /** Makes the validation certificate for `name` holding SHA-256(keyAuthorization). */
  make(name: string, keyAuthorization: string, critical = true): { key: string; cert: string } {
    const dir = tempDir('certgate-alpn-');
    const digest = createHash('sha256').update(keyAuthorization).digest('hex').match(/../g)!.join(':');
    opensslOk([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/',
      '-addext', `subjectAltName=DNS:${name}`,
      '-addext', `1.3.6.1.5.5.7.1.31=${critical ? 'critical,' : ''}DER:04:20:${digest}`,
      '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
    ]);
    const c = { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
    this.certs.set(name, c);
    return c;
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('ACME validation on real sockets (pglite)', () => {
  let t: TestContext;
  let http: Http01Responder;
  let alpn: TlsAlpnResponder;
  let dns: ChildProcess | undefined;
  let dnsPort = 0;
  let mgmtPort = 0;
  const modules: AcmeModule[] = [];

  const clientFor = async (overrides: Parameters<typeof createAcmeProtocol>[0]) => {
    const m = createAcmeProtocol({ validationRetries: 0, validationTimeoutMs: 3000, pollWaitMs: 5000, ...overrides }, {});
    modules.push(m);
    const app = await buildApp(t.ctx, [m]);
    const f: Fetch = (u, i) => Promise.resolve(app.request(u, i));
    const c = await new AcmeClient(`${BASE}/acme/directory`, await newKey(), f).init();
    expect((await c.newAccount()).status).toBe(201);
    return c;
  };

  const challengeOf = async (c: AcmeClient, identifiers: { type: string; value: string }[], type: string) => {
    const o = await c.newOrder(identifiers);
    expect(o.status, o.text).toBe(201);
    const a = await c.get(o.json.authorizations[0]);
    return { order: o, authzUrl: o.json.authorizations[0] as string, ch: a.json.challenges.find((x: any) => x.type === type) };
  };

  beforeAll(async () => {
    t = await makeTestContext('pglite');
    http = await new Http01Responder().start();
    alpn = await new TlsAlpnResponder().start();
    if (hasChallTestSrv) {
      dnsPort = await freePort();
      mgmtPort = await freePort();
      dns = spawn('pebble-challtestsrv', ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${mgmtPort}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', ''], { stdio: 'ignore' });
      for (let i = 0; i < 50; i++) {
        try {
          await fetch(`http://127.0.0.1:${mgmtPort}/`, { method: 'GET' });
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  });
  afterAll(async () => {
    for (const m of modules) await m.drain();
    dns?.kill();
    await http?.stop();
    await alpn?.stop();
    await t?.cleanup();
    removeTempDirs();
  });

  it('tls-alpn-01: a correct acme-tls/1 certificate validates the name', async () => {
    const c = await clientFor({ allowPrivateTargets: true, tlsAlpn01Port: alpn.port });
    const { authzUrl, ch } = await challengeOf(c, [{ type: 'dns', value: 'localhost' }], 'tls-alpn-01');
    alpn.make('localhost', c.keyAuthorization(ch.token));
    const answer = await c.post(ch.url, {});
    expect(answer.json.status).toBe('valid');
    expect(answer.json.validated).toBeTruthy();
    const done = await c.poll(authzUrl);
    expect(done.json.status, JSON.stringify(done.json)).toBe('valid');
    expect(done.json.challenges).toHaveLength(1);
    expect(done.json.challenges[0].type).toBe('tls-alpn-01');
  });

  it('tls-alpn-01: a non-critical acmeIdentifier extension or a wrong digest is refused', async () => {
    const c = await clientFor({ allowPrivateTargets: true, tlsAlpn01Port: alpn.port });
    const { authzUrl, ch } = await challengeOf(c, [{ type: 'dns', value: 'localhost' }], 'tls-alpn-01');
    alpn.make('localhost', c.keyAuthorization(ch.token), false);
    await c.post(ch.url, {});
    const done = await c.poll(authzUrl);
    expect(done.json.status).toBe('invalid');
    expect(done.json.challenges.find((x: any) => x.type === 'tls-alpn-01').error.detail).toContain('critical');

    const second = await challengeOf(c, [{ type: 'dns', value: 'localhost' }], 'tls-alpn-01');
    alpn.make('localhost', 'some other key authorization');
    await c.post(second.ch.url, {});
    const d2 = await c.poll(second.authzUrl);
    expect(d2.json.challenges.find((x: any) => x.type === 'tls-alpn-01').error.detail).toContain('digest');
  });

  it('SSRF guard: without CERTGATE_ACME_ALLOW_PRIVATE_TARGETS loopback targets are refused', async () => {
    expect(isReservedAddress('127.0.0.1')).toBe(true);
    expect(isReservedAddress('10.1.2.3')).toBe(true);
    expect(isReservedAddress('::ffff:192.168.1.1')).toBe(true);
    expect(isReservedAddress('fe80::1')).toBe(true);
    expect(isReservedAddress('8.8.8.8')).toBe(false);
    expect(isReservedAddress('2606:4700::1111')).toBe(false);
    const c = await clientFor({ allowPrivateTargets: false, http01Port: http.port });
    const { authzUrl, ch } = await challengeOf(c, [{ type: 'ip', value: '127.0.0.1' }], 'http-01');
    http.tokens.set(ch.token, c.keyAuthorization(ch.token));
    await c.post(ch.url, {});
    const done = await c.poll(authzUrl);
    expect(done.json.status).toBe('invalid');
    const e = done.json.challenges.find((x: any) => x.type === 'http-01').error;
    expect(e.type).toBe(err('rejectedIdentifier'));
    expect(e.detail).toContain('private');
    expect(http.requests).toBe(0);
  });

  it.skipIf(!hasChallTestSrv)('dns-01 through the configured resolver (pebble-challtestsrv), and a wildcard certificate', async () => {
    const c = await clientFor({ dnsResolver: `127.0.0.1:${dnsPort}` });
    const { order, authzUrl, ch } = await challengeOf(c, [{ type: 'dns', value: '*.wild.certgate.test' }, { type: 'dns', value: 'wild.certgate.test' }], 'dns-01');
    const authzs = await Promise.all((order.json.authorizations as string[]).map((u) => c.get(u)));
    for (const a of authzs) {
      const d = a.json.challenges.find((x: any) => x.type === 'dns-01');
      const value = createHash('sha256').update(c.keyAuthorization(d.token)).digest('base64url');
      const r = await fetch(`http://127.0.0.1:${mgmtPort}/set-txt`, { method: 'POST', body: JSON.stringify({ host: '_acme-challenge.wild.certgate.test.', value }) });
      expect(r.status).toBe(200);
      expect(['valid', 'processing']).toContain((await c.post(d.url, {})).json.status);
      const done = await c.poll(a.location ?? (order.json.authorizations as string[])[authzs.indexOf(a)]);
      expect(done.json.status, JSON.stringify(done.json)).toBe('valid');
      await fetch(`http://127.0.0.1:${mgmtPort}/clear-txt`, { method: 'POST', body: JSON.stringify({ host: '_acme-challenge.wild.certgate.test.' }) });
    }
    void authzUrl;
    void ch;
    const csr = makeCsr({ sans: ['DNS:*.wild.certgate.test', 'DNS:wild.certgate.test'] });
    const f = await c.post(order.json.finalize, { csr: csr.der.toString('base64url') });
    expect(['valid', 'processing']).toContain(f.json.status);
    const fin = await c.poll(order.location!);
    expect(fin.json.status, JSON.stringify(fin.json)).toBe('valid');
    const cert = await c.get(fin.json.certificate);
    const text = opensslOk(['x509', '-noout', '-ext', 'subjectAltName'], { input: cert.text });
    expect(text).toContain('DNS:*.wild.certgate.test');

    // A missing TXT record: the challenge fails with a dns problem recorded in the authorization.
    const again = await challengeOf(c, [{ type: 'dns', value: 'empty.certgate.test' }], 'dns-01');
    await c.post(again.ch.url, {});
    const failed = await c.poll(again.authzUrl);
    expect(failed.json.status).toBe('invalid');
    expect(failed.json.challenges.find((x: any) => x.type === 'dns-01').error.type).toMatch(/:(dns|incorrectResponse)$/);
  });
  it.skipIf(!hasChallTestSrv)('CAA (RFC 8659, RFC 8657): a record naming another CA, or this CA for another account or method, fails the challenge (caa); one naming this CA or none passes', async () => {
    const c = await clientFor({ dnsResolver: `127.0.0.1:${dnsPort}`, caaIdentities: 'ca.certgate.test' });
    const addCaa = (host: string, policies: { tag: string; value: string }[]) =>
      fetch(`http://127.0.0.1:${mgmtPort}/add-caa`, { method: 'POST', body: JSON.stringify({ host, policies }) });
    const solve = async (name: string) => {
      const { authzUrl, ch } = await challengeOf(c, [{ type: 'dns', value: name }], 'dns-01');
      const value = createHash('sha256').update(c.keyAuthorization(ch.token)).digest('base64url');
      await fetch(`http://127.0.0.1:${mgmtPort}/set-txt`, { method: 'POST', body: JSON.stringify({ host: `_acme-challenge.${name}.`, value }) });
      await c.post(ch.url, {});
      const done = await c.poll(authzUrl);
      await fetch(`http://127.0.0.1:${mgmtPort}/clear-txt`, { method: 'POST', body: JSON.stringify({ host: `_acme-challenge.${name}.` }) });
      return done.json;
    };
    // Set on the parent: a subdomain without records of its own inherits it (tree climbing, §3).
    expect((await addCaa('other-ca.certgate.test.', [{ tag: 'issue', value: 'letsencrypt.org' }])).status).toBe(200);
    const refused = await solve('www.other-ca.certgate.test');
    expect(refused.status).toBe('invalid');
    const e = refused.challenges.find((x: any) => x.type === 'dns-01').error;
    expect(e.type).toBe(err('caa'));
    expect(e.detail).toContain('letsencrypt.org');

    expect((await addCaa('ours.certgate.test.', [{ tag: 'issue', value: 'CA.certgate.test; account=1' }])).status).toBe(200);
    expect((await solve('ours.certgate.test')).status).toBe('valid');
    expect((await solve('no-caa.certgate.test')).status).toBe('valid');

    // RFC 8657: a property bound to this account and to dns-01 passes; bound to another account or
    // to another method, it fails the challenge with caa.
    const refusal = (json: any) => json.challenges.find((x: any) => x.type === 'dns-01').error;
    expect((await addCaa('bound.certgate.test.', [{ tag: 'issue', value: `ca.certgate.test; accounturi=${c.kid}; validationmethods=dns-01` }])).status).toBe(200);
    expect((await solve('bound.certgate.test')).status).toBe('valid');
    const stranger = c.kid!.replace(/[^/]+$/, 'someone-else');
    expect((await addCaa('other-acct.certgate.test.', [{ tag: 'issue', value: `ca.certgate.test; accounturi=${stranger}` }])).status).toBe(200);
    const notMine = await solve('other-acct.certgate.test');
    expect(notMine.status).toBe('invalid');
    expect(refusal(notMine)).toMatchObject({ type: err('caa'), detail: expect.stringContaining('someone-else') });
    expect((await addCaa('http-only.certgate.test.', [{ tag: 'issue', value: 'ca.certgate.test; validationmethods=http-01' }])).status).toBe(200);
    const wrongMethod = await solve('http-only.certgate.test');
    expect(wrongMethod.status).toBe('invalid');
    expect(refusal(wrongMethod)).toMatchObject({ type: err('caa'), detail: expect.stringContaining('does not list dns-01') });
  });
});
