/**
 * emCA eSign: a signer with a server-held key, a document hash or a PDF, the signer's one-time
 * code, and a signature checked by `openssl cms -verify` and poppler's `pdfsig`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import type { AppEnv } from '../../src/http/app-env.ts';
import { toPem } from '../../src/pki/pem.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { adminToken, makeApp, openssl, opensslTry, register, removeTempDirs, tempDir, x509Text, type Registered } from './helpers.ts';
import { minimalPdf } from './minimal-pdf.ts';

afterAll(() => removeTempDirs());

type Json = Record<string, unknown> & { status: string; result?: string };

for (const driver of drivers) {
  describe(`emCA eSign (${driver})`, () => {
    let t: TestContext;
    let app: Hono<AppEnv>;
    let client: Registered;
    let other: Registered;
    let officer: string;
    let caFile: string;
    const env = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };

    const req = async (path: string, body: unknown, headers: Record<string, string>, method = 'POST') => {
      const r = await app.request(path, { method, headers: { 'Content-Type': 'application/json', ...headers }, body: method === 'GET' ? undefined : JSON.stringify(body) }, env);
      return { status: r.status, body: (await r.json()) as Json };
    };
    async function bearer(c: Registered): Promise<Record<string, string>> {
      const r = await req('/emca/v5/auth/token', { username: c.userName, password: c.password, validityInMins: 30 }, {});
      expect(r.status).toBe(200);
      return { Authorization: `Bearer ${r.body.token as string}` };
    }
    async function code(requestId: string): Promise<string> {
      const r = await app.request(`/api/v1/emca/esign/requests/${requestId}/code`, { method: 'POST', headers: { Authorization: `Bearer ${officer}` } }, env);
      expect(r.status).toBe(200);
      return ((await r.json()) as { code: string }).code;
    }

    beforeAll(async () => {
      t = await makeTestContext(driver);
      app = await makeApp(t.ctx);
      const admin = await adminToken(t.ctx);
      client = await register(app, admin, { name: 'esign-app', ips: ['127.0.0.0/8'] });
      other = await register(app, admin, { name: 'esign-other', ips: ['127.0.0.0/8'] });
      officer = await adminToken(t.ctx, 'officer');
      const root = t.ctx.issuers.list().find((i) => i.isRoot)!;
      caFile = join(tempDir(), 'root.pem');
      writeFileSync(caFile, toPem(root.certDer, 'CERTIFICATE'));
    });
    afterAll(async () => {
      await t?.cleanup();
    });

    it('registers a signer: key generated in the key store, a document-signing certificate; replay returns it', async () => {
      const h = await bearer(client);
      const r = await req('/emca/v5/esign/signers', { signerId: 'alice', subject: 'CN=Alice Signer,O=Acme', email: 'alice@example.com' }, h);
      expect(r.status).toBe(201);
      const text = x509Text(r.body.certificate as string);
      expect(text).toMatch(/CN ?= ?Alice Signer/);
      expect(text).toMatch(/Digital Signature, Non Repudiation/);
      expect(text).toMatch(/1\.3\.6\.1\.5\.5\.7\.3\.36|Document Signing/);
      expect(text).toMatch(/email:alice@example.com/);
      const again = await req('/emca/v5/esign/signers', { signerId: 'alice', subject: 'CN=Someone Else' }, h);
      expect(again.status).toBe(200);
      expect(again.body.serialNumber).toBe(r.body.serialNumber);
      const got = await req('/emca/v5/esign/signers/alice', undefined, h, 'GET');
      expect(got.body.certificate).toBe(r.body.certificate);
      // Another application does not see this signer.
      expect((await req('/emca/v5/esign/signers/alice', undefined, await bearer(other), 'GET')).status).toBe(404);
      expect((await req('/emca/v5/esign/signers', { signerId: 'bad id!', subject: 'CN=x' }, h)).status).toBe(400);
      expect((await req('/emca/v5/esign/signers', { signerId: 'x1', subject: 'CN=x', keyAlgorithm: 'RSA-1024' }, h)).body.result).toBe('Please enter valid data');
      expect((await req('/emca/v5/esign/signers', { signerId: 'alice' }, {})).status).toBe(401);
    });

    /** Submits a hash, reads the code as an operator, confirms; returns the CMS DER. */
    async function signHash(h: Record<string, string>, signerId: string, doc: Buffer, alg: 'sha256' | 'sha384' | 'sha512', enc: 'hex' | 'base64' = 'hex') {
      const hash = createHash(alg).update(doc).digest(enc);
      const r = await req('/emca/v5/esign/requests', { signerId, hash, hashAlgorithm: alg.toUpperCase().replace('SHA', 'SHA-') }, h);
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ status: 'pending', codeChannel: 'operator' });
      const id = r.body.requestId as string;
      const done = await req(`/emca/v5/esign/requests/${id}/confirm`, { code: await code(id) }, h);
      expect(done.status).toBe(200);
      expect(done.body.format).toBe('cms');
      return { id, cms: Buffer.from(done.body.signature as string, 'base64') };
    }

    function verify(cms: Buffer, doc: Buffer): { status: number; out: string } {
      const d = tempDir();
      writeFileSync(join(d, 'sig.der'), cms);
      writeFileSync(join(d, 'doc.bin'), doc);
      return opensslTry(['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(d, 'sig.der'), '-content', join(d, 'doc.bin'), '-CAfile', caFile, '-purpose', 'any', '-out', join(d, 'out.bin')]);
    }

    it('signs a SHA-256 / SHA-384 / SHA-512 hash: detached CMS that openssl verifies against the document', async () => {
      const h = await bearer(client);
      const doc = Buffer.from('The contract text, version 3.\n'.repeat(50));
      for (const alg of ['sha256', 'sha384', 'sha512'] as const) {
        const { cms } = await signHash(h, 'alice', doc, alg, alg === 'sha384' ? 'base64' : 'hex');
        const v = verify(cms, doc);
        expect(v.out).toMatch(/Verification successful/);
        expect(v.status).toBe(0);
        // Another document does not verify.
        expect(verify(cms, Buffer.concat([doc, Buffer.from('x')])).status).not.toBe(0);
        const d = tempDir();
        writeFileSync(join(d, 's.der'), cms);
        const printed = openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', join(d, 's.der')]).toString();
        expect(printed).toMatch(/signingTime/);
        expect(printed).toMatch(/messageDigest/);
        expect(printed).toMatch(/id-smime-aa-signingCertificateV2|1\.2\.840\.113549\.1\.9\.16\.2\.47/);
        expect(printed).toMatch(new RegExp(`digestAlgorithm:\\s*\\n\\s*algorithm: ${alg}`, 'i'));
        // Detached: the document is not inside.
        expect(printed).toMatch(/eContent: <ABSENT>/);
      }
    });

    it('signs an XML document: a detached CMS over its exact bytes that openssl verifies; non-XML refused', async () => {
      const h = await bearer(client);
      const xml = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<invoice id="42"><total currency="INR">1000.00</total></invoice>\n');
      const r = await req('/emca/v5/esign/requests', { signerId: 'alice', document: xml.toString('base64'), documentType: 'xml', hashAlgorithm: 'SHA-384' }, h);
      expect(r.status).toBe(202);
      const id = r.body.requestId as string;
      const done = await req(`/emca/v5/esign/requests/${id}/confirm`, { code: await code(id) }, h);
      expect(done.status).toBe(200);
      expect(done.body.format).toBe('cms');
      const cms = Buffer.from(done.body.signature as string, 'base64');
      const v = verify(cms, xml);
      expect(v.out).toMatch(/Verification successful/);
      expect(v.status).toBe(0);
      // One changed byte of the document no longer verifies.
      expect(verify(cms, Buffer.from(xml.toString().replace('1000.00', '9000.00'))).status).not.toBe(0);
      for (const bad of [Buffer.from('%PDF-1.4 not xml'), Buffer.from([0x3c, 0x61, 0x00, 0x3e])]) {
        const refused = await req('/emca/v5/esign/requests', { signerId: 'alice', document: bad.toString('base64'), documentType: 'xml' }, h);
        expect(refused.body.result).toBe('Invalid XML document');
        expect(refused.body.status).toBe('failure');
      }
    });

    it('a wrong code counts; the code works once; the attempts limit locks; expiry refuses; a revoked signer cannot sign', async () => {
      const h = await bearer(client);
      const hash = createHash('sha256').update('doc').digest('hex');
      const r1 = await req('/emca/v5/esign/requests', { signerId: 'alice', hash, hashAlgorithm: 'SHA-256' }, h);
      const id = r1.body.requestId as string;
      const right = await code(id);
      // The code is read once by an operator.
      expect((await app.request(`/api/v1/emca/esign/requests/${id}/code`, { method: 'POST', headers: { Authorization: `Bearer ${officer}` } }, env)).status).toBe(404);
      // An auditor may not read codes; the application cannot either.
      const auditor = await adminToken(t.ctx, 'auditor');
      expect((await app.request(`/api/v1/emca/esign/requests/${id}/code`, { method: 'POST', headers: { Authorization: `Bearer ${auditor}` } }, env)).status).toBe(403);
      const wrong = right === '00000000' ? '11111111' : '00000000';
      const w = await req(`/emca/v5/esign/requests/${id}/confirm`, { code: wrong }, h);
      expect(w.status).toBe(401);
      expect(w.body.result).toBe('Invalid authorisation code');
      // Another application cannot confirm this request.
      expect((await req(`/emca/v5/esign/requests/${id}/confirm`, { code: right }, await bearer(other))).status).toBe(404);
      expect((await req(`/emca/v5/esign/requests/${id}/confirm`, { code: right }, h)).status).toBe(200);
      const again = await req(`/emca/v5/esign/requests/${id}/confirm`, { code: right }, h);
      expect(again.status).toBe(409);
      expect(again.body.result).toBe('Signing request already completed');

      const r2 = await req('/emca/v5/esign/requests', { signerId: 'alice', hash, hashAlgorithm: 'SHA-256' }, h);
      const id2 = r2.body.requestId as string;
      const good = await code(id2);
      const bad = good === '00000000' ? '11111111' : '00000000';
      for (let i = 0; i < 4; i++) expect((await req(`/emca/v5/esign/requests/${id2}/confirm`, { code: bad }, h)).status).toBe(401);
      const fifth = await req(`/emca/v5/esign/requests/${id2}/confirm`, { code: bad }, h);
      expect(fifth.body.result).toBe('Signing request locked: too many wrong codes');
      const locked = await req(`/emca/v5/esign/requests/${id2}/confirm`, { code: good }, h);
      expect(locked.status).toBe(423);

      const r3 = await req('/emca/v5/esign/requests', { signerId: 'alice', hash, hashAlgorithm: 'SHA-256' }, h);
      const id3 = r3.body.requestId as string;
      const c3 = await code(id3);
      await t.ctx.db.execute(sql`update emca_esign_requests set expires_at = now() - interval '1 second' where id = ${id3}`);
      const late = await req(`/emca/v5/esign/requests/${id3}/confirm`, { code: c3 }, h);
      expect(late.status).toBe(410);
      expect(late.body.result).toBe('Signing request expired');

      // Bad inputs: a hash of the wrong length, an unknown algorithm, an unknown signer.
      expect((await req('/emca/v5/esign/requests', { signerId: 'alice', hash: hash.slice(2), hashAlgorithm: 'SHA-256' }, h)).body.result).toBe('Invalid document hash');
      expect((await req('/emca/v5/esign/requests', { signerId: 'alice', hash, hashAlgorithm: 'MD5' }, h)).body.result).toBe('Invalid document hash');
      expect((await req('/emca/v5/esign/requests', { signerId: 'nobody', hash }, h)).status).toBe(404);
      expect((await req('/emca/v5/esign/requests/not-a-uuid/confirm', { code: '1' }, h)).status).toBe(404);

      // Revoked signer certificate: no new request.
      const reg = await req('/emca/v5/esign/signers', { signerId: 'carol', subject: 'CN=Carol' }, h);
      // The application revokes its signer's certificate through the V5 API.
      expect((await req(`/emca/v5/certificates/${reg.body.serialNumber as string}/revoke`, { revokeMode: 1 }, h)).status).toBe(200);
      const refused = await req('/emca/v5/esign/requests', { signerId: 'carol', hash }, h);
      expect(refused.status).toBe(409);
      expect(refused.body.result).toBe('Signer certificate is not active');
    });

    it('two confirmations with the right code at once: exactly one signature', async () => {
      const h = await bearer(client);
      const r = await req('/emca/v5/esign/requests', { signerId: 'alice', hash: createHash('sha256').update('race').digest('hex') }, h);
      const id = r.body.requestId as string;
      const c = await code(id);
      const before = (await t.ctx.audit.search({ action: 'emca.esign.sign' })).length;
      const results = await Promise.all([1, 2, 3].map(() => req(`/emca/v5/esign/requests/${id}/confirm`, { code: c }, h)));
      expect(results.map((x) => x.status).sort()).toEqual([200, 409, 409]);
      expect((await t.ctx.audit.search({ action: 'emca.esign.sign' })).length).toBe(before + 1);
    });

    it('an RSA signer signs SHA-512', async () => {
      const h = await bearer(client);
      expect((await req('/emca/v5/esign/signers', { signerId: 'rsa-bob', subject: 'CN=Bob RSA', keyAlgorithm: 'RSA-2048' }, h)).status).toBe(201);
      const doc = Buffer.from('RSA document');
      const { cms } = await signHash(h, 'rsa-bob', doc, 'sha512');
      expect(verify(cms, doc).status).toBe(0);
    });

    it('signs a PDF: PAdES B-B incremental update that pdfsig validates over the whole document', async () => {
      const h = await bearer(client);
      const pdf = minimalPdf('Contract for Alice');
      const r = await req('/emca/v5/esign/requests', { signerId: 'alice', document: pdf.toString('base64') }, h);
      expect(r.status).toBe(202);
      const id = r.body.requestId as string;
      const done = await req(`/emca/v5/esign/requests/${id}/confirm`, { code: await code(id) }, h);
      expect(done.status).toBe(200);
      expect(done.body.format).toBe('pades');
      const signed = Buffer.from(done.body.document as string, 'base64');
      // Incremental update: the original bytes untouched, in front.
      expect(signed.subarray(0, pdf.length).equals(pdf)).toBe(true);
      const d = tempDir();
      writeFileSync(join(d, 'signed.pdf'), signed);
      const p = spawnSync('pdfsig', [join(d, 'signed.pdf')], { encoding: 'utf8' });
      const out = `${p.stdout}${p.stderr}`;
      expect(out).toMatch(/Signature #1/);
      expect(out).toMatch(/Signature Validation: Signature is Valid\./);
      expect(out).toMatch(/Total document signed/);
      expect(out).toMatch(/Signature Type: ETSI\.CAdES\.detached/);
      expect(out).toMatch(/Signer Certificate Common Name: Alice Signer/);
      expect(out).not.toMatch(/Signature #2/);
      // A changed byte after signing breaks it.
      const tampered = Buffer.from(signed);
      const at = tampered.indexOf('Contract for Alice');
      tampered[at] = 'K'.charCodeAt(0);
      writeFileSync(join(d, 'tampered.pdf'), tampered);
      expect(spawnSync('pdfsig', [join(d, 'tampered.pdf')], { encoding: 'utf8' }).stdout).not.toMatch(/Signature is Valid/);
      // The document is not kept after signing.
      const rows = (await t.ctx.db.execute(sql`select document from emca_esign_requests where id = ${id}`)) as unknown as { rows?: { document: unknown }[] } | { document: unknown }[];
      const list = Array.isArray(rows) ? rows : (rows.rows ?? []);
      expect(list[0]?.document ?? null).toBeNull();
      // Not a PDF.
      expect((await req('/emca/v5/esign/requests', { signerId: 'alice', document: Buffer.from('hello').toString('base64') }, h)).body.result).toBe('Invalid PDF document');
    });

    it('audits every signature and every refused code', async () => {
      const signs = await t.ctx.audit.search({ action: 'emca.esign.sign' });
      // 3 hashes + 1 XML + 1 (code test) + 1 (race) + 1 RSA + 1 PDF.
      expect(signs.filter((e) => e.outcome === 'success')).toHaveLength(8);
      expect(signs[0].actor).toBe(`emca:client:${client.id}`);
      expect(signs[0].details).toMatchObject({ signerId: 'alice', kind: 'pdf' });
      expect((await t.ctx.audit.search({ action: 'emca.esign.code-refused' })).length).toBeGreaterThanOrEqual(6);
      expect((await t.ctx.audit.search({ action: 'emca.esign.code-read' })).length).toBeGreaterThanOrEqual(6);
    });
  });
}
