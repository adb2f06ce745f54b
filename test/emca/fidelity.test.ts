/**
 * Fidelity to the emCA documents (issue 16 item 4): the spellings and answers their samples use
 * (rekey `serialNum` and `aliasname`), the CA named by its certificate's CN, the documents' error
 * strings, the multi-CSR call all or nothing, the createPKCS12 password rule, RSA-1024 refused and
 * a shortened validity reported. Real HTTP handling, real database, openssl as the independent check.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { certificates } from '../../src/db/schema.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/http/app-env.ts';
import { decodeName } from '../../src/pki/name.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { adminToken, call, cmsSign, makeApp, makeCsr, openssl, opensslTry, register, removeTempDirs, serialOf, tempDir, x509Text, type Registered } from './helpers.ts';

afterAll(() => removeTempDirs());

/** A PKCS#10 with an RSA key of `bits` (openssl req). */
function rsaCsr(bits: number, subject: string): Buffer {
  const d = tempDir();
  openssl(['req', '-new', '-nodes', '-newkey', `rsa:${bits}`, '-keyout', join(d, 'k.pem'), '-subj', subject, '-outform', 'DER', '-out', join(d, 'r.der')]);
  return openssl(['req', '-in', join(d, 'r.der'), '-inform', 'DER', '-outform', 'DER']);
}

/** openssl's notAfter of a base64 DER certificate as a Date. */
function notAfterOf(b64: string): Date {
  const d = tempDir();
  writeFileSync(join(d, 'c.der'), Buffer.from(b64, 'base64'));
  const line = openssl(['x509', '-inform', 'DER', '-in', join(d, 'c.der'), '-noout', '-enddate']).toString().trim();
  return new Date(line.replace('notAfter=', ''));
}

const emcaDate = (d: Date) => {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}:${p(d.getUTCMonth() + 1)}:${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
};

for (const driver of drivers) {
  describe(`emCA fidelity to the documents (${driver})`, () => {
    let t: TestContext;
    let app: Hono<AppEnv>;
    let client: Registered;
    let ids: Map<string, string>;
    let seq = 0;
    const appId = () => `fid-${Date.now()}-${seq++}`;
    const sign = (content: string | Buffer) => cmsSign(content, client);

    beforeAll(async () => {
      t = await makeTestContext(driver);
      app = await makeApp(t.ctx);
      client = await register(app, await adminToken(t.ctx), { name: 'fidelity', ips: ['127.0.0.1'] });
      const list = await call(app, client, 'getCertificateProfileList', { signature: sign(t.ctx.issuers.defaultIssuer()!.name) });
      ids = new Map((JSON.parse(list.body.result!) as { profileName: string; profileId: string }[]).map((p) => [p.profileName, p.profileId]));
    });
    afterAll(async () => {
      await t?.cleanup();
    });

    async function issue(subject: string): Promise<string> {
      const r = await call(app, client, 'createCertificate', { signature: sign(makeCsr(subject)), profileName: 'tls-client', subscriberId: 'sub-r', applicationId: appId() });
      expect(r.body.status).toBe('success');
      return r.body.result!;
    }

    it('rekey accepts the sample\'s serialNum (and serialNo, serialNumber) and answers with aliasname as the sample shows', async () => {
      for (const key of ['serialNum', 'serialNo', 'serialNumber', 'SerialNum']) {
        const old = await issue(`/CN=rekey ${key}/O=Acme`);
        const r = await call(app, client, 'rekey', { signature: sign(makeCsr('/CN=ignored')), [key]: serialOf(old), remarks: 'lost', applicationId: appId(), isSignedData: 'true' });
        expect(r.body).toMatchObject({ status: 'success', subscriberId: 'sub-r', requestId: null, aliasname: null });
        expect(Object.keys(r.body)).toContain('aliasname');
        expect(x509Text(r.body.result!)).toMatch(new RegExp(`CN ?= ?rekey ${key}`));
        expect(serialOf(r.body.result!)).not.toBe(serialOf(old));
      }
      // The sample's other shape: isSignedData "false" with the CSR unsigned.
      const old = await issue('/CN=rekey unsigned/O=Acme');
      const unsigned = await call(app, client, 'rekey', { csrData: makeCsr('/CN=x').toString('base64'), serialNum: serialOf(old), remarks: 'lost', applicationId: appId(), isSignedData: 'false' });
      expect(unsigned.body).toMatchObject({ status: 'success', aliasname: null });
    });

    it('rekey refusals use the rekey document\'s strings, with aliasname in the failure envelope too', async () => {
      const old = await issue('/CN=rekey refusals/O=Acme');
      const serial = serialOf(old);
      const unknown = await call(app, client, 'rekey', { signature: sign(makeCsr()), serialNum: 'abcdef0123', remarks: 'x', applicationId: appId() });
      expect(unknown.body).toEqual({ status: 'failure', result: 'Invalid serial number', subscriberId: null, requestId: null, aliasname: null });
      expect((await call(app, client, 'rekey', { signature: sign(makeCsr()), serialNum: 'not hex!', remarks: 'x', applicationId: appId() })).body.result).toBe('Invalid serial number');
      expect((await call(app, client, 'rekey', { signature: sign('not a CSR'), serialNum: serial, remarks: 'x', applicationId: appId() })).body.result).toBe('Please enter valid data');
      expect((await call(app, client, 'rekey', { signature: sign(makeCsr()), serialNum: serial, remarks: 'x', applicationId: appId(), ValidFrom: '2019-12-12' })).body.result).toBe('Invalid From Date');
      expect((await call(app, client, 'rekey', { signature: cmsSign(makeCsr(), { certPem: client.certPem, keyPem: client.keyPem }).slice(0, 200), serialNum: serial, remarks: 'x', applicationId: appId() })).body.result).toBe('Signature verification failed');
      expect((await call(app, client, 'rekey', { signature: sign(makeCsr()), remarks: 'x', applicationId: appId() })).body.result).toBe('Invalid parameter');
    });

    it('getCertificateProfileList names the CA by its certificate CN, display name, id or full DN', async () => {
      const ca = t.ctx.issuers.defaultIssuer()!;
      const attrs = decodeName(parseCertificate(ca.certDer).subject);
      const cn = attrs.find((a) => a.type === 'CN')!.value;
      expect(cn).not.toBe(ca.name);
      // openssl's own rendering of the subject, as an operator copies it.
      const d = tempDir();
      writeFileSync(join(d, 'ca.der'), ca.certDer);
      const rfc2253 = openssl(['x509', '-inform', 'DER', '-in', join(d, 'ca.der'), '-noout', '-subject', '-nameopt', 'RFC2253']).toString().trim().replace(/^subject=/, '');
      const slash = openssl(['x509', '-inform', 'DER', '-in', join(d, 'ca.der'), '-noout', '-subject', '-nameopt', 'compat']).toString().trim().replace(/^subject=/, '');
      let expected: string | undefined;
      for (const ref of [cn, ca.name, ca.id, ca.subject, rfc2253, slash]) {
        const r = await call(app, client, 'getCertificateProfileList', { signature: sign(ref) });
        expect(r.body.status, `${ref}: ${r.body.result}`).toBe('success');
        expected ??= r.body.result!;
        expect(r.body.result).toBe(expected);
      }
      expect(JSON.parse(expected!).some((p: { profileName: string }) => p.profileName === 'tls-client')).toBe(true);
      expect((await call(app, client, 'getCertificateProfileList', { signature: sign('CN=Nobody') })).body.result).toBe('Invalid CA name');
    });

    it('profile refusals in the documents\' words: "Invalid Certificate Profile" by name, "<id> profile does not exist" by id', async () => {
      const byName = await call(app, client, 'createPKCS12', { signature: sign('CN=x~KeyAlogirthmAndSize=EC-P256~Password=p'), profileName: 'Class2IndividualSignatureOneyear', subscriberId: 's', applicationId: appId() });
      expect(byName.body).toEqual({ status: 'failure', result: 'Invalid Certificate Profile', subscriberId: null, requestId: null });
      const byId = await call(app, client, 'createPKCS12ById', { signature: sign('CN=x~KeyAlogirthmAndSize=EC-P256~Password=p'), profileID: '4242', subscriberId: 's', applicationId: appId() });
      expect(byId.body.result).toBe('4242 profile does not exist');
      const multi = await call(app, client, 'createCertificatesByIdWithMultipleCsrData', { signature: sign(`A|${makeCsr().toString('base64')}`), profileID: 777, subscriberId: 's', applicationId: appId() });
      expect(multi.body.result).toBe('777 profile does not exist');
      const badValidity = await call(app, client, 'createCertificatesByIdWithMultipleCsrData', { signature: sign(`A|${makeCsr().toString('base64')}`), profileID: ids.get('tls-client'), subscriberId: 's', applicationId: appId(), validity: '120:24:00:00' });
      expect(badValidity.body.result).toBe('Invalid validity');
      const badFrom = await call(app, client, 'createCertificatesByIdWithMultipleCsrData', { signature: sign(`A|${makeCsr().toString('base64')}`), profileID: ids.get('tls-client'), subscriberId: 's', applicationId: appId(), validFrom: '12:12:2019' });
      expect(badFrom.body.result).toBe('Invalid From Date');
      expect((await call(app, client, 'getProfileinfoByProfilename', { signature: sign('eMudhra demo') })).body.result).toBe('Invalid Certificate Profile name');
    });

    it('multiple CSRs are all or nothing: a refused item k means no item is issued; the corrected call issues all', async () => {
      const count = async () => (await t.ctx.db.select({ id: certificates.id }).from(certificates).where(eq(certificates.principal, `emca:client:${client.id}`))).length;
      const before = await count();
      const applicationId = appId();
      const good = makeCsr('/CN=batch one');
      // Item 2 lacks the CN tls-client requires; item 3 is RSA-1024.
      for (const bad of [makeCsr('/O=no cn'), rsaCsr(1024, '/CN=weak')]) {
        const r = await call(app, client, 'createCertificatesByIdWithMultipleCsrData', {
          signature: sign(`ID1|${good.toString('base64')}~ID2|${bad.toString('base64')}`),
          profileID: ids.get('tls-client'),
          subscriberId: 's',
          applicationId,
        });
        expect(r.body).toEqual({ status: 'failure', result: 'Please enter valid data', subscriberId: null, requestId: null });
      }
      expect(await count()).toBe(before);
      const fixed = await call(app, client, 'createCertificatesByIdWithMultipleCsrData', {
        signature: sign(`ID1|${good.toString('base64')}~ID2|${makeCsr('/CN=batch two').toString('base64')}`),
        profileID: ids.get('tls-client'),
        subscriberId: 's',
        applicationId,
      });
      expect(fixed.body.status).toBe('success');
      const parts = fixed.body.result!.split('~').map((p) => p.split('|'));
      expect(parts.map((p) => p[0])).toEqual(['ID1', 'ID2']);
      expect(x509Text(parts[1][1])).toMatch(/CN ?= ?batch two/);
      expect(await count()).toBe(before + 2);
    });

    it('RSA-1024 is refused with "Please enter valid data", from a CSR and as KeyAlogirthmAndSize', async () => {
      const csr = await call(app, client, 'createCertificate', { signature: sign(rsaCsr(1024, '/CN=rsa1024')), profileName: 'tls-client', subscriberId: 's', applicationId: appId() });
      expect(csr.body.result).toBe('Please enter valid data');
      const gen = await call(app, client, 'createPKCS12', { signature: sign('CN=rsa1024~KeyAlogirthmAndSize=RSA-1024~Password=p'), profileName: 'tls-client', subscriberId: 's', applicationId: appId() });
      expect(gen.body.result).toBe('Please enter valid data');
      const ok = await call(app, client, 'createCertificate', { signature: sign(rsaCsr(2048, '/CN=rsa2048')), profileName: 'tls-client', subscriberId: 's', applicationId: appId() });
      expect(x509Text(ok.body.result!)).toMatch(/Public-Key: \(2048 bit\)/);
    });

    it('createPKCS12 passwords: kept verbatim (trailing space), `~` and `,` when Password is last; what cannot be carried is refused', async () => {
      const pfx = async (content: string) => call(app, client, 'createPKCS12', { signature: sign(content), profileName: 'tls-client', subscriberId: 's', applicationId: appId() });
      const opens = (b64: string, pass: string) => {
        const d = tempDir();
        writeFileSync(join(d, 'p.p12'), Buffer.from(b64, 'base64'));
        return opensslTry(['pkcs12', '-in', join(d, 'p.p12'), '-noout', '-passin', `pass:${pass}`]).status === 0;
      };
      const space = await pfx('CN=pw space~KeyAlogirthmAndSize=EC-P256~Password=secret ');
      expect(space.body.status).toBe('success');
      expect(opens(space.body.result!, 'secret ')).toBe(true);
      expect(opens(space.body.result!, 'secret')).toBe(false);
      const serial = (() => {
        const d = tempDir();
        writeFileSync(join(d, 'p.p12'), Buffer.from(space.body.result!, 'base64'));
        const pem = openssl(['pkcs12', '-in', join(d, 'p.p12'), '-nokeys', '-clcerts', '-passin', 'pass:secret ']).toString();
        return openssl(['x509', '-noout', '-serial'], pem).toString().trim().replace('serial=', '');
      })();
      const back = await call(app, client, 'getPKCS12', { signature: sign(`{'pfxPin': 'secret ','serialNumber':'${serial}','subscriberId':'s'}`) });
      expect(back.body.result).toBe(space.body.result);
      expect((await call(app, client, 'getPKCS12', { signature: sign(`{'pfxPin': 'secret','serialNumber':'${serial}','subscriberId':'s'}`) })).body.result).toBe('Invalid PFX password');

      const tilde = await pfx('CN=pw tilde~KeyAlogirthmAndSize=EC-P256~Password=a~b, c');
      expect(opens(tilde.body.result!, 'a~b, c')).toBe(true);
      const comma = await pfx('CN=pw comma,KeyAlogirthmAndSize=EC-P256,Password=x,y');
      expect(opens(comma.body.result!, 'x,y')).toBe(true);
      // A final line break (a file written by echo) is not part of the password.
      const newline = await pfx('CN=pw nl~KeyAlogirthmAndSize=EC-P256~Password=plain\n');
      expect(opens(newline.body.result!, 'plain')).toBe(true);
      // Not last and holding the separator: ambiguous, refused with a message that says how to send it.
      const notLast = await pfx('CN=pw~Password=a~b~KeyAlogirthmAndSize=EC-P256');
      expect(notLast.body.result).toBe('Invalid PFX password: a password that contains the item separator must be the last item (…~Password=<password>)');
      const midOk = await pfx('CN=pw mid~Password=a,b~KeyAlogirthmAndSize=EC-P256');
      expect(opens(midOk.body.result!, 'a,b')).toBe(true);
      const control = await pfx('CN=pw~KeyAlogirthmAndSize=EC-P256~Password=a\tb');
      expect(control.body.result).toBe('Invalid PFX password: control characters (line breaks, tabs) cannot be used');
    });

    it('a validity shortened to the profile maximum or the CA\'s end is reported; an honoured one is not', async () => {
      const r = await call(app, client, 'createCertificateById', { signature: sign(makeCsr('/CN=clamp profile')), profileID: ids.get('tls-client'), subscriberId: 's', applicationId: appId(), validity: '5000:0:0:0' });
      expect(r.body.status).toBe('success');
      const end = notAfterOf(r.body.result!);
      expect(r.body).toMatchObject({ validityClamped: { limit: 'profile maximum', notAfter: emcaDate(end) } });
      const plain = await call(app, client, 'createCertificateById', { signature: sign(makeCsr('/CN=no clamp')), profileID: ids.get('tls-client'), subscriberId: 's', applicationId: appId(), validity: '30:0:0:0' });
      expect(plain.body.status).toBe('success');
      expect(plain.body).not.toHaveProperty('validityClamped');

      await t.ctx.profiles.create({ name: 'emca-long', validity: { default: 86400, max: 100 * 365 * 86400, allowCustom: true }, subject: { attributes: [{ type: 'CN', rule: 'required' }] }, extendedKeyUsage: ['clientAuth'] });
      const long = await call(app, client, 'createCertificate', { signature: sign(makeCsr('/CN=clamp ca')), profileName: 'emca-long', subscriberId: 's', applicationId: appId(), validity: '36000:0:0:0' });
      expect(long.body.status).toBe('success');
      const caEnd = t.ctx.issuers.defaultIssuer()!.notAfter;
      expect(Math.abs(notAfterOf(long.body.result!).getTime() - caEnd.getTime())).toBeLessThan(2000);
      expect(long.body).toMatchObject({ validityClamped: { limit: 'issuing CA validity' } });

      const token = await app.request('/emca/v5/auth/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: client.userName, password: client.password }) }, { incoming: { socket: { remoteAddress: '127.0.0.1' } } });
      const jwt = ((await token.json()) as { token: string }).token;
      const v5 = await app.request(
        '/emca/v5/certificates',
        { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Emca-Api-Key': jwt }, body: JSON.stringify({ profileName: 'tls-client', csr: makeCsr('/CN=v5 clamp').toString('base64'), applicationId: appId(), validity: '5000:0:0:0' }) },
        { incoming: { socket: { remoteAddress: '127.0.0.1' } } },
      );
      expect(v5.status).toBe(201);
      expect(await v5.json()).toMatchObject({ status: 'success', validityClamped: { limit: 'profile maximum' } });
    });
  });
}
