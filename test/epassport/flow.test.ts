/**
 * The ePassport PKI end to end over HTTP: a CVCA, a DV Certgate operates and registered holders;
 * RequestCertificate (initial, renewal with outer signature, asynchronous with callback),
 * GetCACertificates, foreign DVs whose certificates cvc-create made, and each refusal's return
 * code (TR-03129). Every certificate Certgate hands out is chain-verified by OpenPACE's cvc-print.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCvCertificate, chatRole } from '../../src/pki/cvc/index.ts';
import { drivers } from '../support/context.ts';
import { startEpassport, startReceiver, type EpassportHarness } from './harness.ts';
import { cvcCreate, cvcPrint, ecKey, schemeFor, trustDir } from './openpace.ts';
import { b64, flip, newKey, request, unb64, type TestKey } from './requests.ts';

describe.each(drivers)('ePassport PKI on %s', (driver) => {
  let h: EpassportHarness;
  const dir = mkdtempSync(join(tmpdir(), 'certgate-epassport-'));
  const trust = join(dir, 'trust');
  const certs: Record<string, Buffer> = {};
  let dvKey: TestKey;

  /** cvc-print's verdict on `der` with every certificate collected so far as trusted directory. */
  const printVerify = (der: Buffer) => {
    trustDir(trust, Object.entries(certs).map(([chr, d]) => ({ chr, der: d })));
    const f = join(dir, `c${Math.random().toString(36).slice(2)}.cvcert`);
    writeFileSync(f, der);
    return cvcPrint(['--cvc', f, '--cvc-dir', trust]);
  };

  beforeAll(async () => {
    h = await startEpassport(driver);
    const cvca = await h.admin('POST', '/cvcas', { chr: 'UTCVCA00001', curve: 'brainpoolP256r1', terminalType: 'is', validityDays: 1095 });
    expect(cvca.status, JSON.stringify(cvca.body)).toBe(201);
    certs.UTCVCA00001 = unb64(cvca.body.certificate as string);
    for (const [name, role, chat, days] of [['dv-is', 'dv_domestic', '03', 90], ['dv-foreign', 'dv_foreign', '01', 30], ['is-term', 'terminal', '03', 14]] as const) {
      expect((await h.admin('PUT', `/profiles/${name}`, { role, terminalType: 'is', chat, maxValidityDays: days })).status).toBe(200);
    }
    const dv = await h.admin('POST', '/dvs', { chr: 'UTDVIS00001', cvca: 'UTCVCA', role: 'dv_domestic', rights: '02', validityDays: 60 });
    expect(dv.status, JSON.stringify(dv.body)).toBe(201);
    certs.UTDVIS00001 = unb64(dv.body.certificate as string);
    expect((await h.admin('POST', '/holders', { holder: 'UTDVEXT', role: 'dv_domestic', authority: 'UTCVCA', profile: 'dv-is', initialAllowed: true })).status).toBe(201);
    expect((await h.admin('POST', '/holders', { holder: 'UTIST', role: 'terminal', authority: 'UTDVIS', profile: 'is-term', initialAllowed: true })).status).toBe(201);
    dvKey = newKey();
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the CVCA's and the operated DV's certificates verify with cvc-print", () => {
    const r = printVerify(certs.UTCVCA00001);
    expect(r.out).toContain('certificate verified');
    expect(r.out).toContain('CVCA certificate');
    expect(printVerify(certs.UTDVIS00001).out).toContain('certificate verified');
  });

  it('RequestCertificate (initial, synchronous) → ok_cert_available; cvc-print verifies the DV certificate; messageID replays', async () => {
    const certReq = b64(await request({ chr: 'UTDVEXT00001', key: dvKey, car: 'UTCVCA00001' }));
    const r = await h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', messageID: 'm-1', certReq });
    expect(r.body.returnCode, JSON.stringify(r.body)).toBe('ok_cert_available');
    expect(r.body.messageID).toBe('m-1');
    const der = unb64(r.body.certificateSeq![0]);
    const c = decodeCvCertificate(der);
    expect(c.body.car).toBe('UTCVCA00001');
    expect(chatRole(c.body.chat!)).toBe('dv_domestic');
    expect(c.body.publicKey.params).toBeUndefined();
    const p = printVerify(der);
    expect(p.out).toContain('certificate verified');
    expect(p.out).toContain('CHR: UTDVEXT00001');
    certs.UTDVEXT00001 = der;
    const again = await h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', messageID: 'm-1', certReq });
    expect(again.body.certificateSeq).toEqual(r.body.certificateSeq);
    const audit = await h.t.ctx.database.query<{ n: number }>("select count(*)::int as n from audit_events where action = 'epassport.certificate.issue' and target = 'UTDVEXT00001'");
    expect(audit[0].n).toBe(1);
  });

  it('a second request without outer signature → failure_request_not_accepted (the allowance is spent)', async () => {
    const r = await h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', certReq: b64(await request({ chr: 'UTDVEXT00002', key: newKey() })) });
    expect(r.body.returnCode).toBe('failure_request_not_accepted');
  });

  it('renewal with the outer signature of the current certificate → ok_cert_available', async () => {
    const next = newKey();
    const r = await h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', certReq: b64(await request({ chr: 'UTDVEXT00002', key: next, outer: { car: 'UTDVEXT00001', key: dvKey } })) });
    expect(r.body.returnCode, JSON.stringify(r.body)).toBe('ok_cert_available');
    expect(printVerify(unb64(r.body.certificateSeq![0])).out).toContain('certificate verified');
  });

  it('the same CHR requested five times at once: one certificate, the others failure_request_not_accepted', async () => {
    const reqs = await Promise.all([0, 1, 2, 3, 4].map(async () => b64(await request({ chr: 'UTDVEXT00007', key: newKey(), outer: { car: 'UTDVEXT00001', key: dvKey } }))));
    const answers = await Promise.all(reqs.map((certReq, i) => h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', messageID: `race-${i}`, certReq })));
    const codes = answers.map((a) => a.body.returnCode).sort();
    expect(codes).toEqual(['failure_request_not_accepted', 'failure_request_not_accepted', 'failure_request_not_accepted', 'failure_request_not_accepted', 'ok_cert_available']);
    const rows = await h.t.ctx.database.query<{ n: number }>("select count(*)::int as n from epassport_certificates where chr = 'UTDVEXT00007'");
    expect(rows[0].n).toBe(1);
  });

  it('a terminal certificate from the operated DV: rights are the AND of the chain; cvc-print verifies CVCA → DV → IS', async () => {
    const r = await h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', certReq: b64(await request({ chr: 'UTIST00001', key: newKey(), params: false })) });
    expect(r.body.returnCode, JSON.stringify(r.body)).toBe('ok_cert_available');
    const der = unb64(r.body.certificateSeq![0]);
    const c = decodeCvCertificate(der);
    expect(c.body.car).toBe('UTDVIS00001');
    // Profile allows 03, the DV holds 02: the terminal gets 02.
    expect(c.body.chat!.template).toEqual(Buffer.from([0x02]));
    const p = printVerify(der);
    expect(p.out).toContain('certificate verified');
    expect(p.out).toContain('Terminal certificate');
  });

  it('tampered inner signature → failure_inner_signature; tampered outer → failure_outer_signature', async () => {
    const inner = await request({ chr: 'UTDVEXT00003', key: newKey(), outer: { car: 'UTDVEXT00001', key: dvKey } });
    // The inner signature ends 0x43 + 64 bytes before the outer CAR and signature: flip inside it.
    const innerBad = Buffer.from(inner);
    innerBad[innerBad.length - 13 - 67 - 10] ^= 0x01;
    expect((await h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', certReq: b64(innerBad) })).body.returnCode).toBe('failure_inner_signature');
    expect((await h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', certReq: b64(flip(inner)) })).body.returnCode).toBe('failure_outer_signature');
  });

  it('a key on other domain parameters → failure_domain_parameters', async () => {
    const r = await h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', certReq: b64(await request({ chr: 'UTDVEXT00004', key: newKey('P-256'), outer: { car: 'UTDVEXT00001', key: dvKey } })) });
    expect(r.body.returnCode).toBe('failure_domain_parameters');
  });

  it('foreign DVs: cvc-create certificates import; an expired outer certificate → failure_expired; a valid one gets a dv_foreign certificate', async () => {
    const d = join(dir, 'zz');
    trustDir(d, []);
    const s = schemeFor('brainpoolP384r1');
    const cvcaKey = ecKey(d, 'zzcvca', 'brainpoolP384r1');
    const oldKey = ecKey(d, 'zzold', 'brainpoolP384r1');
    const goodKey = ecKey(d, 'zzgood', 'brainpoolP384r1');
    const zzCvca = cvcCreate(d, ['--role=cvca', '--type=is', '--chr=ZZCVCA00001', '--issued=200101', '--expires=351231', `--sign-with=${cvcaKey.file}`, `--scheme=${s}`]);
    const signAs = `--sign-as=${join(d, 'ZZCVCA00001.cvcert')}`;
    const expired = cvcCreate(d, ['--role=dv_foreign', '--chr=ZZDVOLD00001', '--issued=200101', '--expires=200630', `--sign-with=${cvcaKey.file}`, signAs, `--key=${oldKey.file}`, `--scheme=${s}`]);
    const good = cvcCreate(d, ['--role=dv_foreign', '--chr=ZZDVNEW00001', '--expires=341231', `--sign-with=${cvcaKey.file}`, signAs, `--key=${goodKey.file}`, `--scheme=${s}`]);
    // A DV certificate whose CVCA is not yet trusted is refused; after the CVCA, it imports.
    expect((await h.admin('POST', '/certificates/import', { certificate: b64(good) })).status).toBe(400);
    for (const c of [zzCvca, expired, good]) {
      const r = await h.admin('POST', '/certificates/import', { certificate: b64(c) });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    // A tampered foreign DV certificate is refused.
    expect((await h.admin('POST', '/certificates/import', { certificate: b64(flip(good)) })).status).toBe(400);
    for (const holder of ['ZZDVOLD', 'ZZDVNEW']) expect((await h.admin('POST', '/holders', { holder, role: 'dv_foreign', authority: 'UTCVCA', profile: 'dv-foreign' })).status).toBe(201);
    const asKey = (k: ReturnType<typeof ecKey>): TestKey => ({ privateKey: k.privateKey, signer: k.signer, curve: 'brainpoolP384r1' });
    const old = await h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', certReq: b64(await request({ chr: 'ZZDVOLD00002', key: newKey(), outer: { car: 'ZZDVOLD00001', key: asKey(oldKey) } })) });
    expect(old.body.returnCode).toBe('failure_expired');
    const ok = await h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', certReq: b64(await request({ chr: 'ZZDVNEW00002', key: newKey(), car: 'UTCVCA00001', outer: { car: 'ZZDVNEW00001', key: asKey(goodKey) } })) });
    expect(ok.body.returnCode, JSON.stringify(ok.body)).toBe('ok_cert_available');
    const der = unb64(ok.body.certificateSeq![0]);
    expect(chatRole(decodeCvCertificate(der).body.chat!)).toBe('dv_foreign');
    expect(printVerify(der).out).toContain('certificate verified');
  });

  it('GetCACertificates returns the CVCA and DV certificates in force', async () => {
    const r = await h.msg('getCACertificates', { callbackIndicator: 'callback_not_possible' });
    expect(r.body.returnCode).toBe('ok_cert_available');
    const chrs = r.body.certificateSeq!.map((c) => decodeCvCertificate(unb64(c)).body.chr);
    expect(chrs).toEqual(expect.arrayContaining(['UTCVCA00001', 'UTDVIS00001']));
    expect(chrs).not.toContain('ZZCVCA00001');
  });

  it('asynchronous: callback_possible → ok_syntax now, SendCertificates with the same messageID to responseURL later', async () => {
    const rx = await startReceiver();
    try {
      const certReq = b64(await request({ chr: 'UTDVEXT00005', key: newKey(), outer: { car: 'UTDVEXT00001', key: dvKey } }));
      const r = await h.msg('requestCertificate', { callbackIndicator: 'callback_possible', messageID: 'async-7', responseURL: rx.url, certReq });
      expect(r.body.returnCode).toBe('ok_syntax');
      const cb = await rx.next();
      expect(cb.messageID).toBe('async-7');
      expect(cb.statusInfo).toBe('ok_cert_available');
      const der = unb64((cb.certificateSeq as string[])[0]);
      expect(decodeCvCertificate(der).body.chr).toBe('UTDVEXT00005');
      expect(printVerify(der).out).toContain('certificate verified');
      // A refusal goes the same way.
      const bad = b64(flip(await request({ chr: 'UTDVEXT00006', key: newKey(), outer: { car: 'UTDVEXT00001', key: dvKey } })));
      expect((await h.msg('requestCertificate', { callbackIndicator: 'callback_possible', messageID: 'async-8', responseURL: rx.url, certReq: bad })).body.returnCode).toBe('ok_syntax');
      expect(await rx.next()).toMatchObject({ messageID: 'async-8', statusInfo: 'failure_outer_signature' });
    } finally {
      await rx.close();
    }
  });

  it.each([
    ['not JSON', '{', 400],
    ['an array', '[]', 400],
    ['certReq not base64', JSON.stringify({ callbackIndicator: 'callback_not_possible', certReq: '%%%' }), 400],
    ['certReq random bytes', JSON.stringify({ callbackIndicator: 'callback_not_possible', certReq: b64(Buffer.from('7f2182ffff0000', 'hex')) }), 400],
    ['no callbackIndicator', JSON.stringify({ certReq: 'fyE=' }), 400],
    ['callback_possible without responseURL', JSON.stringify({ callbackIndicator: 'callback_possible', certReq: 'fyE=' }), 400],
    ['responseURL with callback_not_possible', JSON.stringify({ callbackIndicator: 'callback_not_possible', responseURL: 'http://x/', certReq: 'fyE=' }), 400],
    ['NUL in messageID', JSON.stringify({ callbackIndicator: 'callback_not_possible', messageID: 'a\u0000b', certReq: 'fyE=' }), 400],
  ])('bad input (%s) → failure_syntax, HTTP 400', async (_n, body, status) => {
    const r = await h.msg('requestCertificate', body);
    expect(r.status).toBe(status);
    expect(r.body.returnCode).toBe('failure_syntax');
  });

  it('an unknown operation is 404 with failure_syntax; a prototype key is not an operation', async () => {
    for (const op of ['nosuch', 'constructor', '__proto__']) {
      const r = await h.raw(`/epassport/v5/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(r.status).toBe(404);
    }
  });

  it('CVCA rollover: the link certificate verifies under the old CVCA with cvc-print; new requests are signed by the new key', async () => {
    const r = await h.admin<{ link: { certificate: string; chr: string; car: string }; self: { certificate: string } }>('POST', '/cvcas/UTCVCA/rollover', { curve: 'brainpoolP384r1', validityDays: 1095 });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.link.car).toBe('UTCVCA00001');
    expect(r.body.link.chr).toBe('UTCVCA00002');
    const link = unb64(r.body.link.certificate);
    const p = printVerify(link);
    expect(p.out).toContain('certificate verified');
    certs.UTCVCA00002 = unb64(r.body.self.certificate);
    // The CVCA moved to brainpoolP384r1: a new DV request on P-256r1 no longer fits.
    const wrong = await h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', certReq: b64(await request({ chr: 'UTDVEXT00009', key: newKey(), outer: { car: 'UTDVEXT00001', key: dvKey } })) });
    expect(wrong.body.returnCode).toBe('failure_domain_parameters');
    const ok = await h.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', certReq: b64(await request({ chr: 'UTDVEXT00010', key: newKey('brainpoolP384r1'), outer: { car: 'UTDVEXT00001', key: dvKey } })) });
    expect(ok.body.returnCode, JSON.stringify(ok.body)).toBe('ok_cert_available');
    const der = unb64(ok.body.certificateSeq![0]);
    expect(decodeCvCertificate(der).body.car).toBe('UTCVCA00002');
    expect(printVerify(der).out).toContain('certificate verified');
  });
});
