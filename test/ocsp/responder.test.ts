/**
 * RFC 6960 / RFC 5019 responder behaviour, checked with `openssl ocsp` and with our own parser:
 * every status, SHA-1 and SHA-256 CertIDs, nonce echo (RFC 8954), delegated vs issuer signing,
 * two issuers, GET with RFC 5019 caching headers, and freshness after revoke/suspend/reinstate.
 */
import { X509Certificate, createPublicKey, randomBytes, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { encodeOcspRequest } from '../../src/pki/ocsp-request.ts';
import { parseOcspResponse } from '../../src/pki/ocsp-response.ts';
import { subjectPublicKeyBits } from '../../src/ca/registry.ts';
import { drivers } from '../support/context.ts';
import { MALFORMED, UNAUTHORIZED, certIdFor, get, makeOcspEnv, openssl, post, requestFor, type OcspEnv } from './helpers.ts';
import { createHash } from 'node:crypto';

function signatureVerifies(der: Buffer): boolean {
  const b = parseOcspResponse(der).basic!;
  const cert = b.certs[0];
  if (!cert) throw new Error('no certificate in the response');
  return verify('sha256', b.tbsResponseData, new X509Certificate(Buffer.from(cert)).publicKey, b.signature);
}

for (const driver of drivers) {
  describe(`OCSP responder (${driver})`, () => {
    let env: OcspEnv;
    beforeAll(async () => {
      env = await makeOcspEnv(driver);
    });
    afterAll(async () => {
      await env?.close();
    });

    const ocspCli = (leaf: { file: string; issuerFile: string }, extra: string[] = []) =>
      openssl(['ocsp', '-issuer', leaf.issuerFile, '-cert', leaf.file, '-url', env.url, '-CAfile', env.rootFile, ...extra]);

    it('answers good, signed by a delegated responder that openssl verifies (nonce echoed)', async () => {
      const leaf = await env.issue();
      const r = await ocspCli(leaf, ['-resp_text']);
      expect(r.out).toContain(': good');
      expect(r.out).toContain('Response verify OK');
      expect(r.out).not.toContain('WARNING');
      expect(r.out).toContain('OCSP Signing');
      expect(r.code).toBe(0);
    });

    it('answers revoked with time and reason, then certificateHold for a suspension, then good after reinstatement', async () => {
      const leaf = await env.issue();
      const a = await env.issue();
      await env.t.ctx.revocation.revoke({ serial: leaf.serial }, 'keyCompromise', 'test');
      let r = await ocspCli(leaf);
      expect(r.out).toContain(': revoked');
      expect(r.out).toContain('Reason: keyCompromise');
      expect(r.out).toContain('Revocation Time:');
      expect(r.out).toContain('Response verify OK');

      await env.t.ctx.revocation.suspend({ serial: a.serial }, 'test');
      r = await ocspCli(a, ['-no_nonce']);
      expect(r.out).toContain(': revoked');
      expect(r.out).toContain('Reason: certificateHold');
      await env.t.ctx.revocation.reinstate({ serial: a.serial }, 'test');
      r = await ocspCli(a, ['-no_nonce']);
      expect(r.out).toContain(': good');
      expect(r.out).toContain('Response verify OK');
    });

    it('answers unknown for a serial the issuer never issued', async () => {
      const leaf = await env.issue();
      const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
      const res = await post(env.url, requestFor(issuer, '7f' + randomBytes(15).toString('hex')));
      const p = parseOcspResponse(res.der);
      expect(p.status).toBe('successful');
      expect(p.basic!.responses[0].status).toBe('unknown');
      expect(signatureVerifies(res.der)).toBe(true);
      // and through openssl with a fabricated certificate serial: use -serial
      const r = await openssl(['ocsp', '-issuer', leaf.issuerFile, '-serial', '0x7fffeeee0001', '-url', env.url, '-CAfile', env.rootFile]);
      expect(r.out).toContain(': unknown');
    });

    it('answers SHA-256 CertIDs and echoes the CertID bytes', async () => {
      const leaf = await env.issue();
      const r = await openssl(['ocsp', '-issuer', leaf.issuerFile, '-sha256', '-cert', leaf.file, '-url', env.url, '-CAfile', env.rootFile, '-resp_text']);
      expect(r.out).toContain('Hash Algorithm: sha256');
      expect(r.out).toContain(': good');
      expect(r.out).toContain('Response verify OK');
      const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
      const cid = certIdFor(issuer, leaf.serial, 'sha256');
      const res = await post(env.url, encodeOcspRequest([cid]));
      expect(Buffer.from(parseOcspResponse(res.der).basic!.responses[0].certId)).toEqual(cid);
    });

    it('echoes the nonce verbatim (RFC 8954) and signs such requests live', async () => {
      const leaf = await env.issue();
      const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
      const n1 = randomBytes(32);
      const n2 = randomBytes(16);
      const r1 = await post(env.url, requestFor(issuer, leaf.serial, { nonce: n1 }));
      const r2 = await post(env.url, requestFor(issuer, leaf.serial, { nonce: n2 }));
      expect(parseOcspResponse(r1.der).basic!.nonce).toEqual(n1);
      expect(parseOcspResponse(r2.der).basic!.nonce).toEqual(n2);
      expect(signatureVerifies(r1.der)).toBe(true);
      const plain = await post(env.url, requestFor(issuer, leaf.serial));
      expect(parseOcspResponse(plain.der).basic!.nonce).toBeUndefined();
      // openssl checks the nonce itself: no warning, verify OK.
      const o = await ocspCli(leaf);
      expect(o.out).not.toContain('WARNING: no nonce in response');
      expect(o.out).not.toContain('nonce verify error');
      expect(o.out).toContain('Response verify OK');
    });

    it('rejects a nonce longer than 32 octets with malformedRequest', async () => {
      const leaf = await env.issue();
      const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
      const res = await post(env.url, requestFor(issuer, leaf.serial, { nonce: randomBytes(33) }));
      expect(res.der).toEqual(MALFORMED);
    });

    it('answers unauthorized for an issuer it does not serve, and for CertIDs of two issuers in one request', async () => {
      const foreign = encodeOcspRequest([
        Buffer.from(certIdFor({ hashes: { nameSha1: 'aa'.repeat(20), keySha1: 'bb'.repeat(20), nameSha256: '', keySha256: '' } } as never, '01')),
      ]);
      const r = await post(env.url, foreign);
      expect(r.status).toBe(200);
      expect(r.der).toEqual(UNAUTHORIZED);
      const leaf = await env.issue();
      const root = env.t.ctx.issuers.peek('dev-root')!;
      const issuing = env.t.ctx.issuers.peek('dev-issuing')!;
      const mixed = encodeOcspRequest([certIdFor(issuing, leaf.serial), certIdFor(root, leaf.serial)]);
      expect((await post(env.url, mixed)).der).toEqual(UNAUTHORIZED);
    });

    it('answers several CertIDs of one issuer in one response', async () => {
      const a = await env.issue();
      const b = await env.issue();
      await env.t.ctx.revocation.revoke({ serial: b.serial }, 'superseded', 'test');
      const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
      const res = await post(env.url, encodeOcspRequest([certIdFor(issuer, a.serial), certIdFor(issuer, b.serial)], randomBytes(16)));
      const p = parseOcspResponse(res.der).basic!;
      expect(p.responses.map((x) => [x.serialHex, x.status])).toEqual([
        [a.serial, 'good'],
        [b.serial, 'revoked'],
      ]);
      expect(p.responses[1].revocationReason).toBe(4);
    });

    it('answers good for a subordinate CA certificate asked of its parent', async () => {
      const issuing = env.t.ctx.issuers.peek('dev-issuing')!;
      const f = env.pem('issuing-leaf.pem', issuing.certDer);
      const r = await openssl(['ocsp', '-issuer', env.rootFile, '-cert', f, '-url', env.url, '-CAfile', env.rootFile]);
      expect(r.out).toContain(': good');
      expect(r.out).toContain('Response verify OK');
    });

    describe('freshness: the first answer after a change shows it (cached path, no nonce)', () => {
      it('revoke, via POST and via GET', async () => {
        const leaf = await env.issue();
        const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
        const req = requestFor(issuer, leaf.serial);
        const url = `${env.url}/${encodeURIComponent(req.toString('base64'))}`;
        // Warm the cache (twice: the second is a cache hit).
        for (let i = 0; i < 2; i++) {
          expect(parseOcspResponse((await post(env.url, req)).der).basic!.responses[0].status).toBe('good');
          expect(parseOcspResponse((await get(url)).der).basic!.responses[0].status).toBe('good');
        }
        const svc = env.ocsp.service(env.t.ctx)!;
        expect(svc.cache.has(Buffer.from(certIdFor(issuer, leaf.serial)).toString('latin1'))).toBe(true);
        await env.t.ctx.revocation.revoke({ serial: leaf.serial }, 'cessationOfOperation', 'test');
        const after = parseOcspResponse((await post(env.url, req)).der).basic!.responses[0];
        expect(after.status).toBe('revoked');
        expect(after.revocationReason).toBe(5);
        expect(parseOcspResponse((await get(url)).der).basic!.responses[0].status).toBe('revoked');
      });

      it('suspend then reinstate', async () => {
        const leaf = await env.issue();
        const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
        const req = requestFor(issuer, leaf.serial, { hash: 'sha256' });
        const status = async () => parseOcspResponse((await post(env.url, req)).der).basic!.responses[0];
        expect((await status()).status).toBe('good');
        expect((await status()).status).toBe('good');
        await env.t.ctx.revocation.suspend({ serial: leaf.serial }, 'test');
        const s = await status();
        expect(s.status).toBe('revoked');
        expect(s.revocationReason).toBe(6);
        await env.t.ctx.revocation.reinstate({ serial: leaf.serial }, 'test');
        expect((await status()).status).toBe('good');
      });

      it('a change made behind this instance\'s back is seen after the revocations poll', async () => {
        const leaf = await env.issue();
        const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
        const req = requestFor(issuer, leaf.serial);
        expect(parseOcspResponse((await post(env.url, req)).der).basic!.responses[0].status).toBe('good');
        await env.ocsp.service(env.t.ctx)!.pollRevocations(); // drain changes of earlier tests
        // Simulate another instance: write the change and its history row without the events.
        const { certificates, revocations } = await import('../../src/db/schema.ts');
        const { eq } = await import('drizzle-orm');
        const db = env.t.ctx.db;
        const [row] = await db.update(certificates).set({ status: 'revoked', revokedAt: new Date(), revocationReason: 1 }).where(eq(certificates.serial, leaf.serial)).returning();
        await db.insert(revocations).values({ certificateId: row.id, issuerId: row.issuerId, serial: row.serial, action: 'revoke', reason: 1, actor: 'elsewhere' });
        // Still the cached answer until the poll runs (the poll interval is an hour in this test).
        expect(parseOcspResponse((await post(env.url, req)).der).basic!.responses[0].status).toBe('good');
        expect(await env.ocsp.service(env.t.ctx)!.pollRevocations()).toBe(1);
        expect(parseOcspResponse((await post(env.url, req)).der).basic!.responses[0].status).toBe('revoked');
      });
    });

    describe('GET (RFC 5019)', () => {
      it('serves a request built by openssl -reqout, with caching headers, and openssl verifies the answer', async () => {
        const leaf = await env.issue();
        const reqFile = join(env.dir, `req-${leaf.serial}.der`);
        const mk = await openssl(['ocsp', '-issuer', leaf.issuerFile, '-cert', leaf.file, '-no_nonce', '-reqout', reqFile]);
        expect(mk.code).toBe(0);
        const b64 = readFileSync(reqFile).toString('base64');
        const res = await get(`${env.url}/${encodeURIComponent(b64)}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/ocsp-response');
        const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1]);
        expect(maxAge).toBeGreaterThan(0);
        expect(maxAge).toBeLessThanOrEqual(3600);
        const p = parseOcspResponse(res.der).basic!;
        expect(new Date(res.headers.get('last-modified')!).getTime()).toBe(p.responses[0].thisUpdate.getTime());
        expect(new Date(res.headers.get('expires')!).getTime()).toBe(p.responses[0].nextUpdate!.getTime());
        expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
        const respFile = join(env.dir, `resp-${leaf.serial}.der`);
        (await import('node:fs')).writeFileSync(respFile, res.der);
        const v = await openssl(['ocsp', '-respin', respFile, '-issuer', leaf.issuerFile, '-cert', leaf.file, '-CAfile', env.rootFile]);
        expect(v.out).toContain(': good');
        expect(v.out).toContain('Response verify OK');
        // Unencoded base64 (+ and / left as they are), and base64url, are accepted too; If-None-Match gives 304.
        const raw = await get(`${env.url}/${b64}`);
        expect(raw.der).toEqual(res.der);
        const url64 = await get(`${env.url}/${b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`);
        expect(url64.der).toEqual(res.der);
        const nm = await get(`${env.url}/${encodeURIComponent(b64)}`, { 'If-None-Match': res.headers.get('etag')! });
        expect(nm.status).toBe(304);
      });

      it('accepts a + turned into a space by a proxy, and POST to /ocsp/', async () => {
        const leaf = await env.issue();
        const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
        // Find a request whose base64 has a '+' (the nonce varies it).
        let req = requestFor(issuer, leaf.serial);
        for (let i = 0; i < 200 && !req.toString('base64').includes('+'); i++) req = requestFor(issuer, leaf.serial, { nonce: randomBytes(16) });
        const b64 = req.toString('base64');
        expect(b64).toContain('+');
        const viaSpace = await get(`${env.url}/${b64.replace(/\+/g, '%20')}`);
        expect(parseOcspResponse(viaSpace.der).basic!.responses[0].serialHex).toBe(leaf.serial);
        const slash = await post(`${env.url}/`, requestFor(issuer, leaf.serial));
        expect(parseOcspResponse(slash.der).basic!.responses[0].status).toBe('good');
      });
    });

    describe('malformed requests get malformedRequest and change nothing', () => {
      const cases: [string, () => Buffer][] = [
        ['truncated DER', () => requestFor(env.t.ctx.issuers.peek('dev-issuing')!, '0102').subarray(0, 30)],
        ['wrong outer tag', () => Buffer.concat([Buffer.from([0x31]), requestFor(env.t.ctx.issuers.peek('dev-issuing')!, '0102').subarray(1)])],
        ['trailing bytes', () => Buffer.concat([requestFor(env.t.ctx.issuers.peek('dev-issuing')!, '0102'), Buffer.from([0])])],
        [
          'unknown hash algorithm (MD5)',
          () => {
            const good = requestFor(env.t.ctx.issuers.peek('dev-issuing')!, '0102');
            const sha1 = Buffer.from('06052b0e03021a', 'hex');
            const i = good.indexOf(sha1);
            // Same length: 1.3.14.3.2.26 → 1.3.14.3.2.99 (not a hash anyone knows).
            const bad = Buffer.from(good);
            bad[i + sha1.length - 1] = 99;
            return bad;
          },
        ],
        ['empty request list', () => Buffer.from('3004300230 00'.replace(/ /g, ''), 'hex')],
        ['random bytes', () => randomBytes(200)],
        ['empty body', () => Buffer.alloc(0)],
      ];
      for (const [name, make] of cases) {
        it(`POST: ${name}`, async () => {
          const svc = env.ocsp.service(env.t.ctx)!;
          const before = svc.cache.size;
          const r = await post(env.url, make());
          expect(r.status).toBe(200);
          expect(r.headers.get('content-type')).toBe('application/ocsp-response');
          expect(r.der).toEqual(MALFORMED);
          expect(svc.cache.size).toBe(before);
        });
      }
      it('POST: an oversized body', async () => {
        const r = await post(env.url, Buffer.alloc(64 * 1024, 0x30));
        expect(r.status).toBe(200);
        expect(r.der).toEqual(MALFORMED);
      });
      it('GET: bad base64, and base64 of junk', async () => {
        for (const path of ['!!!notbase64!!!', '%E0%A4%A', 'AAAA', 'A', encodeURIComponent(randomBytes(50).toString('base64'))]) {
          const r = await get(`${env.url}/${path}`);
          expect(r.status).toBe(200);
          expect(r.der).toEqual(MALFORMED);
        }
      });
      it('the openssl client reports the status', async () => {
        const f = join(env.dir, 'md5.der');
        (await import('node:fs')).writeFileSync(f, cases[3][1]());
        const r = await openssl(['ocsp', '-reqin', f, '-url', env.url, '-CAfile', env.rootFile, '-no_nonce']);
        expect(r.out).toMatch(/malformedrequest/i);
      });
    });

    describe('signing by the issuer or by a delegated responder, per issuer', () => {
      it('switches to the issuer key by setting and back', async () => {
        const mgr = env.ocsp.manager(env.t.ctx)!;
        const leaf = await env.issue();
        const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
        const issuerKeyHash = createHash('sha1').update(subjectPublicKeyBits(issuer.spki)).digest();
        const delegated = parseOcspResponse((await post(env.url, requestFor(issuer, leaf.serial))).der).basic!;
        expect(delegated.certs).toHaveLength(1);
        expect(delegated.responderId.byKey).not.toEqual(issuerKeyHash);
        const resp = parseCertificate(delegated.certs[0]);
        expect(resp.extensions.some((e) => e.oid === '2.5.29.37')).toBe(true);
        // id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1), and no CRL DP to check instead.
        expect(resp.extensions.some((e) => e.oid === '1.3.6.1.5.5.7.48.1.5')).toBe(true);
        expect(resp.extensions.some((e) => e.oid === '2.5.29.31')).toBe(false);

        await mgr.updateSettings('dev-issuing', { signing: 'issuer' }, 'test');
        const res = await post(env.url, requestFor(issuer, leaf.serial));
        const byIssuer = parseOcspResponse(res.der).basic!;
        expect(byIssuer.certs).toHaveLength(0);
        expect(byIssuer.responderId.byKey).toEqual(issuerKeyHash);
        expect(verify('sha256', byIssuer.tbsResponseData, createPublicKey({ key: issuer.spki, format: 'der', type: 'spki' }), byIssuer.signature)).toBe(true);
        const o = await ocspCli(leaf);
        expect(o.out).toContain(': good');
        expect(o.out).toContain('Response verify OK');

        await mgr.updateSettings('dev-issuing', { signing: 'delegated' }, 'test');
        const back = parseOcspResponse((await post(env.url, requestFor(issuer, leaf.serial))).der).basic!;
        expect(back.certs).toHaveLength(1);
      });

      it('serves two issuers (P-256 and RSA-2048), each with its own responder', async () => {
        await env.t.ctx.issuers.create({ id: 'rsa-issuing', name: 'Test RSA Issuing CA', key: { type: 'RSA', bits: 2048 }, parentId: 'dev-root', validityDays: 365, pathLength: 0 });
        const mgr = env.ocsp.manager(env.t.ctx)!;
        const created = await mgr.create('rsa-issuing', 'test');
        expect(created.keyAlgorithm).toBe('RSA 2048');
        const a = await env.issue('dev-issuing');
        const b = await env.issue('rsa-issuing', 'rsa');
        const ra = await ocspCli(a);
        const rb = await ocspCli(b, ['-resp_text']);
        expect(ra.out).toContain(': good');
        expect(rb.out).toContain(': good');
        expect(rb.out).toContain('Response verify OK');
        expect(rb.out).toContain('sha256WithRSAEncryption');
        // b's serial asked of the other issuer: unknown there.
        const other = parseOcspResponse((await post(env.url, requestFor(env.t.ctx.issuers.peek('dev-issuing')!, b.serial))).der).basic!;
        expect(other.responses[0].status).toBe('unknown');
      });
    });
  });
}
