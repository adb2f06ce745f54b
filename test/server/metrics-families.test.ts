/**
 * The metrics operators alert on, through a real server: OCSP responses by result (driven by
 * `openssl ocsp` and a malformed request), ACME requests by endpoint and result, seconds until
 * each CA certificate / delegated OCSP responder certificate / CRL nextUpdate, and pending
 * requests. `promtool check metrics` (Prometheus' own linter) must pass on every certgate_* family.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protocols } from '../../protocols/index.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { makeCsr, opensslAsync, removeTempDirs, tempDir } from '../support/openssl.ts';

afterAll(() => removeTempDirs());

/** The value of one sample, e.g. `certgate_pending_requests` or `x{issuer="a"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : undefined;
}

describe.each(drivers)('certgate_* metrics families (%s)', (driver) => {
  let t: TestContext;
  let server: RunningServer;
  let token: string;
  let text: string;
  const dir = tempDir('certgate-metrics-');
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.httpUrl}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    t = await makeTestContext(driver, { metricsEnabled: true });
    server = await startServer(t.ctx, protocols, { https: false });
    token = await t.ctx.tokens.issue(await t.ctx.tokens.ensureOperator('metrics-test', 'administrator', 'operator'), 600);

    // Pending: a profile held for manual approval, one request to it.
    const held = await api('POST', '/profiles', { name: 'held', manualApproval: true, san: { dns: { allowed: true } }, extendedKeyUsage: ['serverAuth'], subject: { attributes: [{ type: 'CN', rule: 'optional' }] } });
    expect(held.status, JSON.stringify(held.body)).toBe(201);
    const pending = await api('POST', '/certificates', { csr: makeCsr({ subject: '/CN=held.example', sans: ['DNS:held.example'] }).der.toString('base64'), profile: 'held' });
    expect(pending.body.status).toBe('pending');

    // OCSP: a certificate asked about twice by openssl (signed, then cached), and one malformed request.
    const issued = await api('POST', '/certificates', { csr: makeCsr({ subject: '/CN=m.example', sans: ['DNS:m.example'] }).der.toString('base64'), profile: 'tls-server' });
    expect(issued.body.status).toBe('issued');
    writeFileSync(join(dir, 'leaf.pem'), issued.body.certificate.pem);
    writeFileSync(join(dir, 'issuer.pem'), issued.body.chainPem);
    for (let i = 0; i < 2; i++) {
      const o = await opensslAsync(['ocsp', '-issuer', join(dir, 'issuer.pem'), '-cert', join(dir, 'leaf.pem'), '-url', `${server.httpUrl}/ocsp`, '-noverify', '-no_nonce']);
      expect(o.output).toContain(': good');
    }
    const bad = await fetch(`${server.httpUrl}/ocsp`, { method: 'POST', headers: { 'Content-Type': 'application/ocsp-request' }, body: Buffer.from('not an OCSP request') });
    expect(bad.status).toBe(200);

    // ACME: the directory, and a new-account POST that is no JWS at all.
    expect((await fetch(`${server.httpUrl}/acme/directory`)).status).toBe(200);
    const acme = await fetch(`${server.httpUrl}/acme/new-account`, { method: 'POST', headers: { 'Content-Type': 'application/jose+json' }, body: '{}' });
    expect(acme.status).toBe(400);

    await api('POST', '/crl/dev-issuing/generate');
    text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await t?.cleanup();
  });

  it('promtool check metrics: every certgate_* family is clean', () => {
    const ours = text
      .split('\n')
      .filter((l) => /^(# (HELP|TYPE) )?certgate_/.test(l))
      .join('\n');
    expect(ours).toContain('certgate_ocsp_responses_total');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: ours + '\n', encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('OCSP responses by result', () => {
    // Issuance pre-signs the response, so openssl's two requests are answered from the cache (or signed on a miss).
    expect(sample(text, 'certgate_ocsp_responses_total{result="signed"}')! + sample(text, 'certgate_ocsp_responses_total{result="cached"}')!).toBe(2);
    expect(sample(text, 'certgate_ocsp_responses_total{result="unauthorized"}')).toBe(0);
    expect(sample(text, 'certgate_ocsp_responses_total{result="malformedRequest"}')).toBe(1);
    expect(sample(text, 'certgate_ocsp_responses_total{result="internalError"}')).toBe(0);
  });

  it('ACME requests by endpoint and result (the problem type)', () => {
    expect(sample(text, 'certgate_acme_requests_total{endpoint="directory",result="ok"}')).toBe(1);
    expect(sample(text, 'certgate_acme_requests_total{endpoint="new-account",result="malformed"}')).toBe(1);
  });

  it('seconds until each CA certificate, responder certificate and CRL nextUpdate expire; pending requests', () => {
    const now = Date.now() / 1000;
    for (const i of t.ctx.issuers.list()) {
      const v = sample(text, `certgate_ca_certificate_expires_in_seconds{issuer="${i.id}"}`);
      expect(v, i.id).toBeDefined();
      expect(Math.abs(v! - (i.notAfter.getTime() / 1000 - now))).toBeLessThan(600);
      const responder = sample(text, `certgate_ocsp_responder_certificate_expires_in_seconds{issuer="${i.id}"}`);
      expect(responder, i.id).toBeGreaterThan(86400);
      expect(responder!).toBeLessThanOrEqual(v!);
    }
    const crl = sample(text, 'certgate_crl_next_update_in_seconds{issuer="dev-issuing"}');
    expect(crl).toBeGreaterThan(0);
    expect(crl).toBeLessThanOrEqual(t.ctx.config.crlValidityHours * 3600);
    expect(sample(text, 'certgate_pending_requests')).toBe(1);
  });

  it('the responder certificate gauge matches the certificate the responder serves (openssl-independent parse)', async () => {
    const svc = (protocols.find((p) => p.name === 'ocsp') as any).service(t.ctx);
    const [first] = svc.responderCertificates();
    const secs = (Date.parse(new X509Certificate(first.der).validTo) - Date.now()) / 1000;
    expect(Math.abs(sample(text, `certgate_ocsp_responder_certificate_expires_in_seconds{issuer="${first.issuerId}"}`)! - secs)).toBeLessThan(600);
  });
});
