/**
 * The HTTP(S) server: health, readiness, metrics, CA and CRL files, HTTPS with a certificate that
 * chains to the dev root for 127.0.0.1 and localhost, body limits, 404s, graceful stop.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverInfoFile, startServer, type RunningServer } from '../../src/server.ts';
import { parseCrl } from '../../src/pki/crl.ts';
import { fromPem, toPem } from '../../src/pki/pem.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { crlText, makeCsr, openssl, opensslAsync, removeTempDirs, tempDir, writeDer, writePem } from '../support/openssl.ts';
import { rowCounts } from '../issuance/helpers.ts';

afterAll(() => removeTempDirs());

const BODY_LIMIT = 16 * 1024;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A plain node:http request; `chunked` sends the body without Content-Length. */
function raw(url: string, method: string, body?: Buffer, headers: Record<string, string> = {}, chunked = false): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = { ...headers };
    if (body && !chunked) h['content-length'] = String(body.length);
    const req = httpRequest(url, { method, headers: h }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    // The server may answer 413 and close before reading everything: that is the point.
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    if (body) {
      if (chunked) {
        for (let i = 0; i < body.length; i += 4096) req.write(body.subarray(i, i + 4096));
      } else req.write(body);
    }
    req.end();
  });
}

function tlsPeer(port: number, host: string, ca: string, servername?: string): Promise<{ authorized: boolean; error?: string; cert: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host, port, ca, servername, rejectUnauthorized: false }, () => {
      const cert = s.getPeerCertificate(true);
      // rejectUnauthorized false so the reason is visible; identity checked explicitly below.
      resolve({ authorized: s.authorized, error: s.authorizationError?.toString(), cert });
      s.end();
    });
    s.on('error', reject);
  });
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsRequest(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe.each(drivers)('HTTP server (%s)', (driver) => {
  let t: TestContext;
  let server: RunningServer;
  let token: string;
  let rootPem: string;
  let httpsPort: number;

  beforeAll(async () => {
    t = await makeTestContext(driver, { metricsEnabled: true, bodyLimit: BODY_LIMIT });
    server = await startServer(t.ctx, [], { https: true });
    token = JSON.parse(readFileSync(serverInfoFile(t.dataDir), 'utf8')).token;
    rootPem = toPem(t.ctx.issuers.peek('dev-root')!.certDer, 'CERTIFICATE');
    httpsPort = (server.https!.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await server?.stop();
    await t?.cleanup();
  });

  it('listens on ephemeral ports on 127.0.0.1 and writes server.json (0600) for the CLI', () => {
    expect(server.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.httpsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.httpUrl).not.toMatch(/:0$/);
    const info = JSON.parse(readFileSync(serverInfoFile(t.dataDir), 'utf8'));
    expect(info.url).toBe(server.httpUrl);
    expect(info.pid).toBe(process.pid);
    expect(statSync(serverInfoFile(t.dataDir)).mode & 0o777).toBe(0o600);
  });

  it('GET /healthz and /readyz answer 200', async () => {
    const h = await fetch(`${server.httpUrl}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'ok' });
    expect(h.headers.get('x-request-id')).toBeTruthy();
    const r = await fetch(`${server.httpUrl}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ready', database: driver });
  });

  it('GET /metrics exposes certgate_issuances_total', async () => {
    const m = await fetch(`${server.httpUrl}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await m.text();
    expect(text).toMatch(/# TYPE certgate_issuances_total counter/);
    // The HTTPS server certificate was issued through the pipeline at start.
    expect(text).toMatch(/certgate_issuances_total\{[^}]*protocol="internal"[^}]*\} [1-9]/);
  });

  it('GET /ca/dev-issuing.crt is DER that openssl reads; .pem is the chain of 2', async () => {
    const crt = await fetch(`${server.httpUrl}/ca/dev-issuing.crt`);
    expect(crt.status).toBe(200);
    expect(crt.headers.get('content-type')).toBe('application/pkix-cert');
    const der = Buffer.from(await crt.arrayBuffer());
    expect(der.equals(t.ctx.issuers.peek('dev-issuing')!.certDer)).toBe(true);
    const x = openssl(['x509', '-inform', 'DER', '-noout', '-subject', '-issuer'], { input: der });
    expect(x.status, x.output).toBe(0);
    expect(x.stdout).toMatch(/subject=.*Certgate Dev Issuing CA/);

    const pem = await fetch(`${server.httpUrl}/ca/dev-issuing.pem`);
    expect(pem.status).toBe(200);
    const text = await pem.text();
    const blocks = fromPem(text, 'CERTIFICATE');
    expect(blocks).toHaveLength(2);
    expect(blocks[0].equals(der)).toBe(true);
    expect(blocks[1].equals(t.ctx.issuers.peek('dev-root')!.certDer)).toBe(true);
    const dir = tempDir();
    const v = openssl(['verify', '-CAfile', writePem(dir, 'root.pem', blocks[1]), writePem(dir, 'issuing.pem', blocks[0])]);
    expect(v.status, v.output).toBe(0);

    expect((await fetch(`${server.httpUrl}/ca/no-such-ca.crt`)).status).toBe(404);
  });

  it('GET /crl/dev-issuing.crl is a CRL openssl parses and verifies', async () => {
    const r = await fetch(`${server.httpUrl}/crl/dev-issuing.crl`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/pkix-crl');
    const der = Buffer.from(await r.arrayBuffer());
    const parsed = parseCrl(der);
    expect(r.headers.get('etag')).toBe(`"dev-issuing-${parsed.number}"`);
    expect(crlText(der)).toMatch(/Certificate Revocation List \(CRL\):/);
    const dir = tempDir();
    const v = openssl(['crl', '-inform', 'DER', '-in', writeDer(dir, 'c.crl', der), '-CAfile', writePem(dir, 'i.pem', t.ctx.issuers.peek('dev-issuing')!.certDer), '-noout']);
    expect(v.status, v.output).toBe(0);
    expect(v.output).toMatch(/verify OK/);
    expect((await fetch(`${server.httpUrl}/crl/no-such-ca.crl`)).status).toBe(404);
  });

  it('HTTPS presents a certificate that verifies against the root for 127.0.0.1 and localhost', async () => {
    for (const [host, servername] of [
      ['127.0.0.1', undefined],
      ['localhost', 'localhost'],
    ] as const) {
      const peer = await tlsPeer(httpsPort, host === 'localhost' ? '127.0.0.1' : host, rootPem, servername);
      expect(peer.authorized, peer.error).toBe(true);
      const { checkServerIdentity } = await import('node:tls');
      expect(checkServerIdentity(host, peer.cert)).toBeUndefined();
    }
    const viaHttps = await httpsGet(`https://127.0.0.1:${httpsPort}/healthz`, rootPem);
    expect(viaHttps).toEqual({ status: 200, body: JSON.stringify({ status: 'ok' }) });
    const viaName = await httpsGet(`https://localhost:${httpsPort}/readyz`, rootPem);
    expect(viaName.status).toBe(200);

    // And the same with openssl s_client.
    const dir = tempDir();
    const rootFile = writePem(dir, 'root.pem', t.ctx.issuers.peek('dev-root')!.certDer);
    for (const check of [['-verify_ip', '127.0.0.1'], ['-verify_hostname', 'localhost', '-servername', 'localhost']]) {
      const s = await opensslAsync(['s_client', '-connect', `127.0.0.1:${httpsPort}`, '-CAfile', rootFile, '-verify_return_error', ...check], { input: '' });
      expect(s.status, s.output).toBe(0);
      expect(s.output).toMatch(/Verify return code: 0 \(ok\)/);
    }
    // A name the certificate does not carry fails verification.
    const wrong = await opensslAsync(['s_client', '-connect', `127.0.0.1:${httpsPort}`, '-CAfile', rootFile, '-verify_return_error', '-verify_hostname', 'evil.example'], { input: '' });
    expect(wrong.status).not.toBe(0);
    // The key of the HTTPS certificate is on disk (the one PEM key allowed), mode 0600.
    expect(statSync(join(t.dataDir, 'tls', 'server.key')).mode & 0o777).toBe(0o600);
  });

  it('an oversized body gets 413 (never 500) on every POST route, and changes nothing', async () => {
    const before = await rowCounts(t.ctx.db);
    const big = Buffer.alloc(BODY_LIMIT + 1024, 'a');
    const json = Buffer.from(JSON.stringify({ csr: 'A'.repeat(BODY_LIMIT + 10), profile: 'tls-server' }));
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const routes = [
      '/api/v1/certificates',
      '/api/v1/certificates/0a0b/revoke',
      '/api/v1/crl/dev-issuing/generate',
      '/api/v1/requests/x/approve',
      '/api/v1/tokens',
      '/api/v1/profiles',
      '/api/v1/issuers',
    ];
    for (const path of routes) {
      for (const [label, headers] of [['anonymous', {}], ['authenticated', auth]] as const) {
        const r = await raw(`${server.httpUrl}${path}`, 'POST', json, headers);
        expect(r.status, `${label} POST ${path} with Content-Length: ${r.body.toString()}`).toBe(413);
      }
      // Chunked (no Content-Length): the limit applies while the route reads the body.
      const c = await raw(`${server.httpUrl}${path}`, 'POST', big, auth, true);
      expect(c.status, `chunked POST ${path}: ${c.body.toString()}`).toBe(413);
    }
    // An unknown POST route with a big body: not a 500 either.
    const u = await raw(`${server.httpUrl}/no/such/route`, 'POST', big, {}, true);
    expect([404, 413]).toContain(u.status);
    expect(await rowCounts(t.ctx.db)).toEqual(before);
  });

  it('the admin API issues through the pipeline (sanity: a body under the limit is accepted)', async () => {
    const csr = makeCsr({ subject: '/CN=admin.example.com', sans: ['DNS:admin.example.com'] });
    const r = await fetch(`${server.httpUrl}/api/v1/certificates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ csr: csr.der.toString('base64'), profile: 'tls-server' }),
    });
    expect(r.status).toBe(201);
    const body = (await r.json()) as { status: string; certificate: { serial: string } };
    expect(body.status).toBe('issued');
    const anon = await fetch(`${server.httpUrl}/api/v1/certificates`, { method: 'POST', body: '{}' });
    expect(anon.status).toBe(401);
  });

  it('an unknown route is a 404 with a JSON body', async () => {
    for (const [method, path] of [
      ['GET', '/no/such/thing'],
      ['POST', '/nothing-here'],
      ['DELETE', '/healthz'],
    ]) {
      const r = await fetch(`${server.httpUrl}${path}`, { method });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.headers.get('content-type')).toMatch(/application\/json/);
      expect(await r.json()).toMatchObject({ error: 'NotFound' });
    }
  });

  it('stop() closes both servers and removes server.json; calling it twice is harmless', async () => {
    // Keep-alive connections open on both listeners must not hold stop() up.
    await fetch(`${server.httpUrl}/healthz`);
    await httpsGet(`https://127.0.0.1:${httpsPort}/healthz`, rootPem);
    await server.stop();
    expect(server.http.listening).toBe(false);
    expect(server.https!.listening).toBe(false);
    expect(existsSync(serverInfoFile(t.dataDir))).toBe(false);
    await expect(fetch(`${server.httpUrl}/healthz`)).rejects.toThrow();
    await expect(httpsGet(`https://127.0.0.1:${httpsPort}/healthz`, rootPem)).rejects.toThrow();
    await server.stop();
    // The Context (database) is still usable after the server stopped: stop() does not close it.
    expect((await rowCounts(t.ctx.db)).certificates).toBeGreaterThan(0);
  });
});
