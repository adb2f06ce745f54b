/**
 * CMP end to end with the real client: `openssl cmp` (OpenSSL 3.0) against a Certgate server in
 * this process, over HTTP. Every certificate is checked with `openssl verify`; revocation with
 * `openssl ocsp` and the CRL.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cmpTransactions } from '../../protocols/cmp/schema.ts';
import { certificates } from '../../src/db/schema.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { decodeGenContent, itOids } from '../../src/pki/cmp-info-type-value.ts';
import { decodePKIMessage } from '../../src/pki/cmp-message.ts';
import { readTlv } from '../../src/pki/der.ts';
import { fromPem } from '../../src/pki/pem.ts';
import { drivers } from '../support/context.ts';
import { opensslAsync, opensslOk } from '../support/openssl.ts';
import { makeCmpEnv, type CmpEnv } from './client.ts';

describe.each(drivers)('CMP with openssl cmp (%s)', (driver) => {
  let env: CmpEnv;
  let ref: string;
  let secret: string;
  const f = (name: string) => join(env.dir, name);
  const server = () => ['-server', env.url.replace('http://', ''), '-unprotected_errors'];
  const macArgs = () => ['-ref', ref, '-secret', `pass:${secret}`];
  const sigArgs = (cert: string, key: string) => ['-cert', f(cert), '-key', f(key), '-trusted', env.rootFile, '-untrusted', env.issuingFile];
  const key = (name: string) => opensslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f(name)]);
  const cmp = async (args: string[], path = 'cmp') => {
    const r = await opensslAsync(['cmp', ...server(), '-path', path, ...args], { timeoutMs: 60_000 });
    if (r.status !== 0) throw new Error(`openssl cmp failed:\n${r.output}`);
    return r.output;
  };
  const verify = (name: string) => expect(opensslOk(['verify', '-CAfile', env.rootFile, '-untrusted', env.issuingFile, f(name)])).toContain(': OK');
  const row = async (certFile: string) => {
    const serial = parseCertificate(fromPem(readFileSync(f(certFile), 'utf8'))[0]).serialHex;
    const [r] = await env.t.ctx.db.select().from(certificates).where(eq(certificates.serial, serial));
    return r;
  };
  /** The transaction that issued a certificate (named in the certificate's metadata). */
  const tx = async (certFile: string) => {
    const txid = ((await row(certFile)).metadata as { cmp: { transactionId: string } }).cmp.transactionId;
    const [r] = await env.t.ctx.db.select().from(cmpTransactions).where(eq(cmpTransactions.transactionId, txid));
    return r;
  };

  beforeAll(async () => {
    await (async () => {
      env = await makeCmpEnv(driver, {
        confirmWaitSeconds: 1,
        sweepMs: 200,
        pollSeconds: 1,
        aliases: { device: { profile: 'device', implicitConfirm: true }, manual: { profile: 'device-manual', implicitConfirm: true }, strict: { profile: 'device', implicitConfirm: false } },
      });
    })();
    ({ ref, secret } = await env.secret());
    const device = (await env.t.ctx.profiles.get('device'))!;
    await env.t.ctx.profiles.create({ ...device, name: 'device-manual', manualApproval: true });
  }, 60_000);
  afterAll(async () => env?.close());

  it('ir with a MAC and implicit confirm: one round trip, no certConf', async () => {
    key('k1.pem');
    const out = await cmp(['-cmd', 'ir', ...macArgs(), '-newkey', f('k1.pem'), '-subject', '/CN=cmp-one.example', '-sans', 'cmp-one.example', '-implicit_confirm', '-certout', f('c1.pem')]);
    expect(out).not.toContain('CERTCONF');
    verify('c1.pem');
    expect((await row('c1.pem')).status).toBe('valid');
    expect((await tx('c1.pem')).state).toBe('confirmed');
  });

  it('implicitConfirm refused by the alias: the client confirms', async () => {
    key('k1b.pem');
    const out = await cmp(['-cmd', 'ir', ...macArgs(), '-newkey', f('k1b.pem'), '-subject', '/CN=cmp-strict.example', '-sans', 'cmp-strict.example', '-implicit_confirm', '-certout', f('c1b.pem')], 'cmp/strict');
    expect(out).toContain('CERTCONF');
    expect((await tx('c1b.pem')).state).toBe('confirmed');
  });

  it('ir then certConf/pkiConf', async () => {
    key('k2.pem');
    const out = await cmp(['-cmd', 'ir', ...macArgs(), '-newkey', f('k2.pem'), '-subject', '/CN=cmp-two.example', '-sans', 'cmp-two.example', '-certout', f('c2.pem')]);
    expect(out).toContain('sending CERTCONF');
    expect(out).toContain('received PKICONF');
    verify('c2.pem');
    expect((await tx('c2.pem')).state).toBe('confirmed');
  });

  it('cr signed by the issued certificate; the answer signed by the CMP signer identity, verified by openssl', async () => {
    key('k3.pem');
    await cmp(['-cmd', 'cr', ...sigArgs('c2.pem', 'k2.pem'), '-newkey', f('k3.pem'), '-subject', '/CN=cmp-two.example', '-sans', 'cmp-two.example', '-certout', f('c3.pem'), '-rspout', f('cp.der')]);
    verify('c3.pem');
    const cp = decodePKIMessage(readFileSync(f('cp.der')));
    const signer = opensslOk(['x509', '-inform', 'DER', '-noout', '-text'], { input: cp.extraCerts![0] });
    expect(signer).toContain('CMP signer');
    expect(signer).toMatch(/CMC Registration Authority|1\.3\.6\.1\.5\.5\.7\.3\.28/);
    expect((await row('c3.pem')).principal).toContain('cmp:cert:dev-issuing:');
  });

  it('cr by a holder for a name its certificate does not carry: notAuthorized, nothing issued', async () => {
    key('k3x.pem');
    const r = await opensslAsync(['cmp', ...server(), '-path', 'cmp', '-cmd', 'cr', ...sigArgs('c2.pem', 'k2.pem'), '-newkey', f('k3x.pem'), '-subject', '/CN=someone-else.example', '-sans', 'someone-else.example', '-certout', f('c3x.pem')]);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('notAuthorized');
    const [none] = await env.t.ctx.db.select().from(certificates).where(eq(certificates.subject, 'CN=someone-else.example'));
    expect(none).toBeUndefined();
  });

  it('kur signed by the certificate it replaces: new key, same subject', async () => {
    key('k4.pem');
    await cmp(['-cmd', 'kur', ...sigArgs('c2.pem', 'k2.pem'), '-newkey', f('k4.pem'), '-certout', f('c4.pem')]);
    verify('c4.pem');
    const old = await row('c2.pem');
    const renewed = await row('c4.pem');
    expect(renewed.subject).toBe(old.subject);
    expect(renewed.replacesId).toBe(old.id);
    expect(renewed.spkiSha256).not.toBe(old.spkiSha256);
  });

  it('p10cr with a PKCS#10 request', async () => {
    opensslOk(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('k5.pem'), '-subj', '/CN=cmp-p10.example', '-addext', 'subjectAltName=DNS:cmp-p10.example', '-out', f('c5.csr')]);
    const out = await cmp(['-cmd', 'p10cr', ...macArgs(), '-csr', f('c5.csr'), '-certout', f('c5.pem')]);
    expect(out).toContain('received PKICONF');
    verify('c5.pem');
  });

  it('rr by the holder; openssl ocsp and the CRL show it revoked', async () => {
    const out = await cmp(['-cmd', 'rr', ...sigArgs('c3.pem', 'k3.pem'), '-oldcert', f('c3.pem'), '-revreason', '4']);
    expect(out).toContain('revocation accepted');
    const r = await row('c3.pem');
    expect(r.status).toBe('revoked');
    expect(r.revocationReason).toBe(4);
    const ocsp = await opensslAsync(['ocsp', '-issuer', env.issuingFile, '-cert', f('c3.pem'), '-url', `${env.url}/ocsp`, '-CAfile', env.rootFile]);
    expect(ocsp.output).toContain(`${f('c3.pem')}: revoked`);
    expect(ocsp.output).toContain('superseded');
    const crl = Buffer.from(await (await fetch(`${env.url}/crl/dev-issuing.crl`)).arrayBuffer());
    const text = opensslOk(['crl', '-inform', 'DER', '-noout', '-text'], { input: crl });
    expect(text.toUpperCase().replace(/\s/g, '')).toContain(r.serial.toUpperCase());
  });

  it('rr of someone else’s certificate with a MAC of another reference: refused', async () => {
    const other = await env.secret();
    const r = await opensslAsync(['cmp', ...server(), '-path', 'cmp', '-cmd', 'rr', '-ref', other.ref, '-secret', `pass:${other.secret}`, '-oldcert', f('c5.pem'), '-revreason', '0']);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('notAuthorized');
    expect((await row('c5.pem')).status).toBe('valid');
  });

  it('genm caCerts: the root and issuing CA', async () => {
    const out = await cmp(['-cmd', 'genm', ...macArgs(), '-infotype', 'caCerts', '-rspout', f('genp.der')]);
    expect(out).toContain('id-it-caCerts');
    const m = decodePKIMessage(readFileSync(f('genp.der')));
    const [item] = decodeGenContent(m.body.content, readTlv(m.body.content));
    expect(item.type).toBe(itOids.caCerts);
    const root = env.t.ctx.issuers.peek('dev-root')!.certDer;
    expect(item.value!.includes(root)).toBe(true);
  });

  it('the client rejects the certificate (untrusted by -out_trusted): revoked with cessationOfOperation', async () => {
    key('k6.pem');
    opensslOk(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('other.key'), '-out', f('other.pem'), '-subj', '/CN=Other', '-days', '1']);
    const r = await opensslAsync(['cmp', ...server(), '-path', 'cmp', '-cmd', 'ir', ...macArgs(), '-newkey', f('k6.pem'), '-subject', '/CN=cmp-reject.example', '-sans', 'cmp-reject.example', '-out_trusted', f('other.pem'), '-certout', f('c6.pem'), '-rspout', f('ip6.der'), '-reqout', f('ir6.der')]);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('CERTCONF');
    const [rejected] = await env.t.ctx.db.select().from(certificates).where(eq(certificates.subject, 'CN=cmp-reject.example'));
    expect(rejected.status).toBe('revoked');
    expect(rejected.revocationReason).toBe(5);
  });

  it('never confirmed: revoked by the sweep after the confirmation wait', async () => {
    key('k7.pem');
    await cmp(['-cmd', 'ir', ...macArgs(), '-newkey', f('k7.pem'), '-subject', '/CN=cmp-silent.example', '-sans', 'cmp-silent.example', '-disable_confirm', '-certout', f('c7.pem')]);
    expect((await tx('c7.pem')).state).toBe('waiting');
    for (let i = 0; i < 50 && (await row('c7.pem')).status === 'valid'; i++) await new Promise((r) => setTimeout(r, 100));
    const r = await row('c7.pem');
    expect(r.status).toBe('revoked');
    expect(r.revocationReason).toBe(5);
    expect((await tx('c7.pem')).state).toBe('expired');
  });

  it('manual approval: ip waiting, pollReq/pollRep until an officer approves, then the certificate', async () => {
    key('k8.pem');
    const run = cmp(['-cmd', 'ir', ...macArgs(), '-newkey', f('k8.pem'), '-subject', '/CN=cmp-manual.example', '-sans', 'cmp-manual.example', '-certout', f('c8.pem')], 'cmp/manual');
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      await new Promise((r) => setTimeout(r, 100));
      id = (await env.t.ctx.pipeline.listRequests('pending')).find((p) => p.subject === 'CN=cmp-manual.example')?.id;
    }
    expect(id).toBeDefined();
    await new Promise((r) => setTimeout(r, 1500));
    await env.t.ctx.pipeline.approve(id!, 'officer:test');
    const out = await run;
    expect(out).toContain('POLLREP');
    expect(out).toContain('received ip/cp/kup after polling');
    verify('c8.pem');
  });

  it('manual approval with implicit confirm asked: ip waiting, polling, then the certificate; the transaction ends confirmed', async () => {
    key('k8b.pem');
    const run = cmp(['-cmd', 'ir', ...macArgs(), '-newkey', f('k8b.pem'), '-subject', '/CN=cmp-manual-implicit.example', '-sans', 'cmp-manual-implicit.example', '-implicit_confirm', '-certout', f('c8b.pem')], 'cmp/manual');
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      await new Promise((r) => setTimeout(r, 100));
      id = (await env.t.ctx.pipeline.listRequests('pending')).find((p) => p.subject === 'CN=cmp-manual-implicit.example')?.id;
    }
    expect(id).toBeDefined();
    await env.t.ctx.pipeline.approve(id!, 'officer:test');
    const out = await run;
    expect(out).toContain('received ip/cp/kup after polling');
    verify('c8b.pem');
    expect((await tx('c8b.pem')).state).toBe('confirmed');
  });

  it('admin API: a secret made with POST /api/v1/cmp/secrets works; disabled, it is refused', async () => {
    const op = await env.t.ctx.tokens.ensureOperator('cmp-test', 'administrator');
    const token = await env.t.ctx.tokens.issue(op, 600);
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${env.url}/api/v1/cmp${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    const made = (await (await api('POST', '/secrets', { ref: 'api-ref', alias: 'device' })).json()) as { secret: string };
    expect(made.secret.length).toBeGreaterThan(20);
    const list = (await (await api('GET', '/secrets')).json()) as { secrets: { ref: string }[] };
    expect(JSON.stringify(list)).not.toContain(made.secret);
    key('k9.pem');
    await cmp(['-cmd', 'ir', '-ref', 'api-ref', '-secret', `pass:${made.secret}`, '-newkey', f('k9.pem'), '-subject', '/CN=cmp-api.example', '-sans', 'cmp-api.example', '-implicit_confirm', '-certout', f('c9.pem')]);
    verify('c9.pem');
    const wrongAlias = await opensslAsync(['cmp', ...server(), '-path', 'cmp/strict', '-cmd', 'ir', '-ref', 'api-ref', '-secret', `pass:${made.secret}`, '-newkey', f('k9.pem'), '-subject', '/CN=cmp-api2.example', '-sans', 'cmp-api2.example', '-certout', f('x.pem')]);
    expect(wrongAlias.status, wrongAlias.output).not.toBe(0);
    expect(wrongAlias.output).toContain('notAuthorized');
    expect((await api('POST', '/secrets/api-ref/disable')).status).toBe(200);
    const refused = await opensslAsync(['cmp', ...server(), '-path', 'cmp', '-cmd', 'ir', '-ref', 'api-ref', '-secret', `pass:${made.secret}`, '-newkey', f('k9.pem'), '-subject', '/CN=cmp-api3.example', '-sans', 'cmp-api3.example', '-certout', f('x.pem')]);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toContain('badMessageCheck');
    expect((await fetch(`${env.url}/api/v1/cmp/secrets`)).status).toBe(401);
  });
});
