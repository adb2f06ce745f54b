/**
 * RA mode (RFC 9483 §5, RFC 9810 §5.1.3.4, RFC 4211 §4 raVerified). An RA holds a certificate
 * from a profile the alias names (`cmp-ra` here). `openssl cmp` acting as the RA sends an ir with
 * POP raVerified (`-popo 0`) signed by the RA's certificate; nested messages (which OpenSSL 3.0
 * cannot send) are built with src/pki. Every issued certificate goes through `openssl verify`.
 */
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificates } from '../../src/db/schema.ts';
import type { PKIBody } from '../../src/pki/cmp-body.ts';
import { decodeNestedMessageContent, encodeNestedMessageContent } from '../../src/pki/cmp-nested.ts';
import { encodeCertReqMessages, type CertRequest } from '../../src/pki/crmf-cert-req-messages.ts';
import { oid, seq } from '../../src/pki/der.ts';
import { subjectAltName } from '../../src/pki/extensions.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../../src/pki/name.ts';
import { fromPem, toPem } from '../../src/pki/pem.ts';
import { drivers } from '../support/context.ts';
import { makeCsr, opensslAsync, opensslOk } from '../support/openssl.ts';
import { crmfBody, decodeAnswer, failInfoOf, header, issuedCert, makeCmpEnv, newKey, protect, verifiesWith, type CmpEnv, type Protection } from './client.ts';

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

/** An ir for `cn.example` carrying `spki` with POP raVerified. */
function raVerifiedIr(cn: string, spki: Buffer): PKIBody {
  const certReq: CertRequest = {
    certReqId: 0n,
    certTemplate: {
      subject: encodeName(toEncodedAttributes(parseDn(`CN=${cn}.example`))),
      publicKey: spki,
      extensions: seq(subjectAltName([{ type: 'dns', value: `${cn}.example` }])),
    },
  };
  return { type: 'ir', content: encodeCertReqMessages([{ certReq, popo: { kind: 'raVerified' } }]) };
}

describe.each(drivers)('CMP RA mode (%s)', (driver) => {
  let env: CmpEnv;
  let ra: Protection & { kind: 'signature' };
  let holder: Protection & { kind: 'signature' };
  let raFiles: { cert: string; key: string };
  const f = (n: string) => join(env.dir, n);
  const count = async () => (await env.t.ctx.db.select().from(certificates)).length;
  const verify = (der: Buffer) => opensslOk(['verify', '-CAfile', env.rootFile, '-untrusted', env.issuingFile], { input: new X509Certificate(der).toString() });

  /** A certificate of `profile` issued by the operator, and its key, as signature protection. */
  async function operatorCert(profile: string, cn: string): Promise<Protection & { kind: 'signature' }> {
    const csr = makeCsr({ keyType: 'ec-p256', subject: `/CN=${cn}.example`, sans: [`DNS:${cn}.example`], dir: env.dir });
    const r = await env.t.ctx.pipeline.issue({
      principal: { id: 'operator:test', protocol: 'admin', authenticatedBy: 'bearer-token' },
      profile,
      key: { kind: 'csr', der: csr.der },
    });
    if (r.status !== 'issued') throw new Error(`not issued: ${r.status}`);
    const certDer = Buffer.from(r.certificate.der);
    opensslOk(['pkey', '-in', csr.keyFile, '-out', f(`${cn}.key`)]);
    writeFileSync(f(`${cn}.pem`), toPem(certDer, 'CERTIFICATE'));
    return { kind: 'signature', key: createPrivateKey(csr.keyPem), certDer, algDer: ECDSA_SHA256, hash: 'sha256' };
  }

  beforeAll(async () => {
    env = await makeCmpEnv(driver, {
      aliases: {
        device: { profile: 'device', implicitConfirm: true, raProfiles: ['cmp-ra'] },
        nora: { profile: 'device', implicitConfirm: true, raProfiles: [] },
      },
    });
    const device = (await env.t.ctx.profiles.get('device'))!;
    await env.t.ctx.profiles.create({ ...device, name: 'cmp-ra', audience: 'system', keyUsage: ['digitalSignature'], extendedKeyUsage: ['cmcRA'] });
    ra = await operatorCert('cmp-ra', 'ra-one');
    holder = await operatorCert('device', 'plain-holder');
    raFiles = { cert: f('ra-one.pem'), key: f('ra-one.key') };
  }, 60_000);
  afterAll(async () => env?.close());

  it('openssl cmp as the RA: ir signed by the RA with POP raVerified (-popo 0), for names not its own', async () => {
    opensslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f('ee1.key')]);
    const r = await opensslAsync([
      'cmp', '-server', env.url.replace('http://', ''), '-path', 'cmp', '-cmd', 'ir',
      '-cert', raFiles.cert, '-key', raFiles.key, '-trusted', env.rootFile, '-untrusted', env.issuingFile,
      '-newkey', f('ee1.key'), '-popo', '0', '-subject', '/CN=ee-via-ra.example', '-sans', 'ee-via-ra.example',
      '-implicit_confirm', '-certout', f('ee1.pem'),
    ], { timeoutMs: 60_000 });
    expect(r.status, r.output).toBe(0);
    const der = fromPem(readFileSync(f('ee1.pem'), 'utf8'))[0];
    verify(der);
    expect(new X509Certificate(der).subject).toBe('CN=ee-via-ra.example');
  });

  it('raVerified from anyone else is badPOP: a plain certificate holder, the RA on an alias that does not name it, a MAC', async () => {
    const before = await count();
    const body = () => raVerifiedIr('plain-holder', newKey().spki);
    expect(failInfoOf(decodeAnswer((await env.post(protect(header(), body(), holder))).der))).toContain('badPOP');
    expect(failInfoOf(decodeAnswer((await env.post(protect(header(), raVerifiedIr('ra-one', newKey().spki), ra), '/cmp/nora')).der))).toContain('badPOP');
    const s = await env.secret();
    expect(failInfoOf(decodeAnswer((await env.post(protect(header(), body(), { kind: 'pbm', ref: s.ref, secret: s.secret }))).der))).toContain('badPOP');
    expect(await count()).toBe(before);
  });

  it('nested with one message: processed under its own protection (MAC), answered by its own plain ip', async () => {
    const s = await env.secret();
    const inner = protect(header({ implicit: true }), crmfBody('ir', 'ee-nested', newKey()), { kind: 'pbm', ref: s.ref, secret: s.secret });
    const outer = protect(header(), { type: 'nested', content: encodeNestedMessageContent([inner]) }, ra);
    const m = decodeAnswer((await env.post(outer)).der);
    expect(m.body.type).toBe('ip');
    expect(m.header.senderKID?.toString()).toBe(s.ref); // MAC-protected for the requester, as the RA forwards it
    verify(issuedCert(m));
  });

  it('nested batch: raVerified inside is vouched for by the RA; the answer is nested, signed by Certgate', async () => {
    const s = await env.secret();
    const mac: Protection = { kind: 'pbm', ref: s.ref, secret: s.secret };
    const a = protect(header({ implicit: true }), raVerifiedIr('ee-batch-a', newKey().spki), mac);
    const b = protect(header({ implicit: true }), crmfBody('ir', 'ee-batch-b', newKey()), mac);
    const outer = protect(header({ transactionID: randomBytes(16) }), { type: 'nested', content: encodeNestedMessageContent([a, b]) }, ra);
    const m = decodeAnswer((await env.post(outer)).der);
    expect(m.body.type).toBe('nested');
    expect(verifiesWith(m, m.extraCerts![0])).toBe(true);
    const answers = decodeNestedMessageContent(m.body.content).map(decodeAnswer);
    expect(answers.map((x) => x.body.type)).toEqual(['ip', 'ip']);
    for (const x of answers) verify(issuedCert(x));
  });

  it('nested refused (notAuthorized, nothing issued) unless an authorised RA protects it; nested in nested is badRequest', async () => {
    const before = await count();
    const s = await env.secret();
    const inner = () => protect(header({ implicit: true }), crmfBody('ir', 'ee-refused', newKey()), { kind: 'pbm', ref: s.ref, secret: s.secret });
    const wrap = (p: Protection, msgs: Buffer[], path = '/cmp') => env.post(protect(header(), { type: 'nested', content: encodeNestedMessageContent(msgs) }, p), path);
    expect(failInfoOf(decodeAnswer((await wrap(holder, [inner()])).der))).toContain('notAuthorized');
    expect(failInfoOf(decodeAnswer((await wrap({ kind: 'pbm', ref: s.ref, secret: s.secret }, [inner()])).der))).toContain('notAuthorized');
    expect(failInfoOf(decodeAnswer((await wrap(ra, [inner()], '/cmp/nora')).der))).toContain('notAuthorized');
    const doubly = protect(header(), { type: 'nested', content: encodeNestedMessageContent([inner()]) }, ra);
    expect(failInfoOf(decodeAnswer((await wrap(ra, [doubly])).der))).toContain('badRequest');
    expect(failInfoOf(decodeAnswer((await wrap(ra, [Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00])])).der))).toContain('badDataFormat');
    expect(await count()).toBe(before);
  });
});
