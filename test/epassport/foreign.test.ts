/**
 * RequestForeignCertificate across two Certgate instances: country UT's SPOC checks its domestic
 * DV's request (registered, outer signature by its current certificate) and forwards it to country
 * ZZ's SPOC, whose CVCA issues a dv_foreign certificate after checking the outer signature against
 * UT's imported certificates. cvc-print verifies the result against ZZ's CVCA.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatRole, decodeCvCertificate } from '../../src/pki/cvc/index.ts';
import { drivers } from '../support/context.ts';
import { startEpassport, type EpassportHarness } from './harness.ts';
import { cvcPrint, trustDir } from './openpace.ts';
import { b64, newKey, request, unb64, type TestKey } from './requests.ts';

describe.each(drivers)('RequestForeignCertificate between two SPOCs on %s', (driver) => {
  let zz: EpassportHarness;
  let ut: EpassportHarness;
  let k1: TestKey;
  const dir = mkdtempSync(join(tmpdir(), 'certgate-epassport-foreign-'));
  let zzCvca: Buffer;

  beforeAll(async () => {
    zz = await startEpassport(driver);
    // ZZ's SPOC is reached over JSON, YY's (the same server, another CVCA) over SOAP.
    ut = await startEpassport(driver, { foreignSpocs: { ZZ: `${zz.server.httpUrl}/epassport/v5`, YY: `${zz.server.httpUrl}/epassport/soap` } });
    const utCvca = unb64((await ut.admin('POST', '/cvcas', { chr: 'UTCVCA00001', curve: 'brainpoolP256r1' })).body.certificate as string);
    await ut.admin('PUT', '/profiles/dv', { role: 'dv_domestic', terminalType: 'is', chat: '03', maxValidityDays: 30 });
    await ut.admin('POST', '/holders', { holder: 'UTDVX', role: 'dv_domestic', authority: 'UTCVCA', profile: 'dv', initialAllowed: true });
    k1 = newKey();
    const first = await ut.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', certReq: b64(await request({ chr: 'UTDVX00001', key: k1 })) });
    expect(first.body.returnCode).toBe('ok_cert_available');
    zzCvca = unb64((await zz.admin('POST', '/cvcas', { chr: 'ZZCVCA00001', curve: 'brainpoolP256r1' })).body.certificate as string);
    // ZZ trusts UT's CVCA and knows UT's DV certificate (exchanged between the countries' SPOCs).
    for (const c of [utCvca, unb64(first.body.certificateSeq![0])]) expect((await zz.admin('POST', '/certificates/import', { certificate: b64(c) })).status).toBe(201);
    await zz.admin('PUT', '/profiles/foreign', { role: 'dv_foreign', terminalType: 'is', chat: '01', maxValidityDays: 14 });
    await zz.admin('POST', '/holders', { holder: 'UTDVX', role: 'dv_foreign', authority: 'ZZCVCA', profile: 'foreign' });
  });
  afterAll(async () => {
    await ut?.close();
    await zz?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("UT's SPOC forwards; ZZ's CVCA issues a dv_foreign certificate that cvc-print verifies", async () => {
    const certReq = b64(await request({ chr: 'UTDVX00002', car: 'ZZCVCA00001', key: newKey(), outer: { car: 'UTDVX00001', key: k1 } }));
    const r = await ut.msg('requestForeignCertificate', { callbackIndicator: 'callback_not_possible', messageID: 'f-1', foreignCAR: 'ZZCVCA00001', certReq });
    expect(r.body.returnCode, JSON.stringify(r.body)).toBe('ok_cert_available');
    const der = unb64(r.body.certificateSeq![0]);
    const c = decodeCvCertificate(der);
    expect(c.body.car).toBe('ZZCVCA00001');
    expect(chatRole(c.body.chat!)).toBe('dv_foreign');
    const t = trustDir(join(dir, 'zz'), [{ chr: 'ZZCVCA00001', der: zzCvca }]);
    writeFileSync(join(dir, 'f.cvcert'), der);
    expect(cvcPrint(['--cvc', join(dir, 'f.cvcert'), '--cvc-dir', t]).out).toContain('certificate verified');
    const audit = await ut.t.ctx.database.query<{ n: number }>("select count(*)::int as n from audit_events where action = 'epassport.request.forward'");
    expect(audit[0].n).toBe(1);
  });

  it('over SOAP to YY: the same forwarding, the certificate from YY\'s CVCA', async () => {
    const yyCvca = unb64((await zz.admin('POST', '/cvcas', { chr: 'YYCVCA00001', curve: 'brainpoolP256r1' })).body.certificate as string);
    await ut.admin('POST', '/holders', { holder: 'UTDVY', role: 'dv_domestic', authority: 'UTCVCA', profile: 'dv', initialAllowed: true });
    const ky = newKey();
    const first = await ut.msg('requestCertificate', { callbackIndicator: 'callback_not_possible', certReq: b64(await request({ chr: 'UTDVY00001', key: ky })) });
    expect((await zz.admin('POST', '/certificates/import', { certificate: first.body.certificateSeq![0] })).status).toBe(201);
    await zz.admin('POST', '/holders', { holder: 'UTDVY', role: 'dv_foreign', authority: 'YYCVCA', profile: 'foreign' });
    const certReq = b64(await request({ chr: 'UTDVY00002', car: 'YYCVCA00001', key: newKey(), outer: { car: 'UTDVY00001', key: ky } }));
    const r = await ut.msg('requestForeignCertificate', { callbackIndicator: 'callback_not_possible', foreignCAR: 'YYCVCA00001', certReq });
    expect(r.body.returnCode, JSON.stringify(r.body)).toBe('ok_cert_available');
    const der = unb64(r.body.certificateSeq![0]);
    expect(decodeCvCertificate(der).body.car).toBe('YYCVCA00001');
    const t = trustDir(join(dir, 'yy'), [{ chr: 'YYCVCA00001', der: yyCvca }]);
    writeFileSync(join(dir, 'y.cvcert'), der);
    expect(cvcPrint(['--cvc', join(dir, 'y.cvcert'), '--cvc-dir', t]).out).toContain('certificate verified');
  });

  it('national checks before forwarding: no outer signature, foreignCAR ≠ CAR, a country without SPOC', async () => {
    const bare = b64(await request({ chr: 'UTDVX00003', car: 'ZZCVCA00001', key: newKey() }));
    expect((await ut.msg('requestForeignCertificate', { callbackIndicator: 'callback_not_possible', foreignCAR: 'ZZCVCA00001', certReq: bare })).body.returnCode).toBe('failure_outer_signature');
    const signed = b64(await request({ chr: 'UTDVX00003', car: 'ZZCVCA00001', key: newKey(), outer: { car: 'UTDVX00001', key: k1 } }));
    const mismatch = await ut.msg('requestForeignCertificate', { callbackIndicator: 'callback_not_possible', foreignCAR: 'QQCVCA00001', certReq: signed });
    expect(mismatch.body.returnCode).toBe('failure_syntax');
    const signedQq = b64(await request({ chr: 'UTDVX00003', car: 'QQCVCA00001', key: newKey(), outer: { car: 'UTDVX00001', key: k1 } }));
    expect((await ut.msg('requestForeignCertificate', { callbackIndicator: 'callback_not_possible', foreignCAR: 'QQCVCA00001', certReq: signedQq })).body.returnCode).toBe('failure_request_not_accepted');
    expect((await ut.msg('requestForeignCertificate', { callbackIndicator: 'callback_not_possible', certReq: signed })).body.returnCode).toBe('failure_syntax');
  });
});
