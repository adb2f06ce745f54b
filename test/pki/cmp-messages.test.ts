/**
 * The CMP and CRMF structures of src/pki against messages real `openssl cmp` writes: its client
 * talks to its own in-process mock server (-use_mock_srv) and saves every request and response
 * (-reqout/-rspout). Each is decoded, checked field by field, and re-encoded byte for byte.
 */
import { X509Certificate, createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTlv } from '../../src/pki/der.ts';
import { encodeBody } from '../../src/pki/cmp-body.ts';
import { decodeCertConfirmContent, encodeCertConfirmContent } from '../../src/pki/cmp-cert-confirm.ts';
import { decodeCertRepMessage, encodeCertRepMessage } from '../../src/pki/cmp-cert-rep.ts';
import { decodeGenContent, encodeGenContent, itOids } from '../../src/pki/cmp-info-type-value.ts';
import { decodePKIMessage, encodePKIMessage } from '../../src/pki/cmp-message.ts';
import { PASSWORD_BASED_MAC, encodePbmParameter, pbmMac, pbmParameterFromDer } from '../../src/pki/cmp-pbm.ts';
import { decodeRevRepContent, encodeRevRepContent } from '../../src/pki/cmp-rev-rep.ts';
import { decodeRevReqContent, encodeRevReqContent } from '../../src/pki/cmp-rev-req.ts';
import { decodeErrorMsgContent, encodeErrorMsgContent } from '../../src/pki/cmp-error-msg.ts';
import { decodeCertReqMessages, encodeCertReqMessages, regCtrlOids } from '../../src/pki/crmf-cert-req-messages.ts';
import { decodeCertId } from '../../src/pki/crmf-cert-id.ts';
import { verifySignature } from '../../src/pki/signature.ts';
import { encodeStatusInfo, decodeStatusInfo } from '../../src/pki/cmp-status-info.ts';
import { directoryName } from '../../src/pki/cmp-header.ts';
import { opensslOk, removeTempDirs, tempDir } from '../support/openssl.ts';

let dir: string;
const read = (name: string) => readFileSync(join(dir, name));
const mock = (extra: string[]) =>
  opensslOk(['cmp', '-use_mock_srv', '-srv_ref', 'mock', '-srv_secret', 'pass:test', '-srv_cert', 'ca.crt', '-srv_key', 'ca.key',
    '-rsp_cert', 'leaf.crt', '-rsp_capubs', 'ca.crt', '-recipient', '/CN=MockCA', '-srv_trusted', 'leaf.crt', '-certout', 'o.crt', ...extra], { cwd: dir });

beforeAll(() => {
  dir = tempDir('certgate-cmp-');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  opensslOk(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=MockCA', '-days', '2'], { cwd: dir });
  opensslOk(['req', '-x509', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.crt', '-subj', '/CN=dev1', '-days', '2'], { cwd: dir });
  opensslOk(['req', '-new', '-key', 'leaf.key', '-subj', '/CN=dev1', '-out', 'p10.csr'], { cwd: dir });
  const mac = ['-ref', '1234', '-secret', 'pass:test'];
  const sig = ['-cert', 'leaf.crt', '-key', 'leaf.key', '-trusted', 'ca.crt'];
  mock(['-cmd', 'ir', ...mac, '-newkey', 'leaf.key', '-subject', '/CN=dev1', '-reqout', 'ir.der,certconf.der', '-rspout', 'ip.der,pkiconf.der']);
  mock(['-cmd', 'ir', ...mac, '-newkey', 'leaf.key', '-subject', '/CN=dev1', '-implicit_confirm', '-reqout', 'ir-ic.der', '-rspout', 'ip-ic.der']);
  mock(['-cmd', 'cr', ...sig, '-newkey', 'leaf.key', '-subject', '/CN=dev1', '-reqout', 'cr.der,cc-cr.der', '-rspout', 'cp.der,pc-cr.der']);
  mock(['-cmd', 'kur', ...sig, '-newkey', 'leaf.key', '-reqout', 'kur.der,cc-kur.der', '-rspout', 'kup.der,pc-kur.der']);
  mock(['-cmd', 'p10cr', ...mac, '-csr', 'p10.csr', '-reqout', 'p10cr.der,cc-p10.der', '-rspout', 'p10cp.der,pc-p10.der']);
  mock(['-cmd', 'rr', ...mac, '-oldcert', 'leaf.crt', '-revreason', '5', '-reqout', 'rr.der', '-rspout', 'rp.der']);
  mock(['-cmd', 'genm', ...mac, '-infotype', 'signKeyPairTypes', '-reqout', 'genm.der', '-rspout', 'genp.der']);
}, 60_000);
afterAll(removeTempDirs);

const all = ['ir', 'certconf', 'ip', 'pkiconf', 'ir-ic', 'ip-ic', 'cr', 'cp', 'cc-cr', 'kur', 'kup', 'p10cr', 'p10cp', 'rr', 'rp', 'genm', 'genp'];

describe('PKIMessage (RFC 9810 §5.1)', () => {
  it.each(all)('%s decodes and re-encodes byte-identically', (name) => {
    const der = read(`${name}.der`);
    const m = decodePKIMessage(der);
    expect(encodePKIMessage(m).equals(der)).toBe(true);
  });

  it('reads the header openssl writes: pvno 2, 16-byte transactionID and nonce, sender and recipient names', () => {
    const ir = decodePKIMessage(read('ir.der'));
    const ip = decodePKIMessage(read('ip.der'));
    expect(ir.body.type).toBe('ir');
    expect(ir.header.pvno).toBe(2);
    expect(ir.header.transactionID).toHaveLength(16);
    expect(ir.header.senderKID?.toString()).toBe('1234');
    expect(directoryName(ir.header.recipient)).toBeDefined();
    expect(ip.header.transactionID).toEqual(ir.header.transactionID);
    expect(ip.header.recipNonce).toEqual(ir.header.senderNonce);
    const ic = decodePKIMessage(read('ir-ic.der'));
    expect(ic.header.generalInfo?.map((i) => i.type)).toContain(itOids.implicitConfirm);
  });
});

describe('PasswordBasedMac (RFC 4211 §4.4)', () => {
  it('verifies the MAC openssl computed with the shared secret, and not with another', () => {
    for (const name of ['ir', 'certconf', 'p10cr', 'rr', 'genm']) {
      const m = decodePKIMessage(read(`${name}.der`));
      expect(m.header.protectionAlg?.oid).toBe(PASSWORD_BASED_MAC);
      const p = pbmParameterFromDer(m.header.protectionAlg!.params!);
      expect(encodePbmParameter(p).equals(m.header.protectionAlg!.params!)).toBe(true);
      expect(pbmMac(p, Buffer.from('test'), m.protectedPart).equals(m.protection!)).toBe(true);
      expect(pbmMac(p, Buffer.from('tesT'), m.protectedPart).equals(m.protection!)).toBe(false);
    }
  });
});

describe('CRMF CertReqMessages (RFC 4211)', () => {
  it('ir: template subject and key, POP signature over CertRequest verifies with the new key', () => {
    const m = decodePKIMessage(read('ir.der'));
    const t = readTlv(m.body.content);
    const [req] = decodeCertReqMessages(m.body.content, t);
    expect(encodeCertReqMessages([req]).equals(m.body.content)).toBe(true);
    expect(req.certReq.certReqId).toBe(0n);
    const leaf = new X509Certificate(read('leaf.crt'));
    expect(req.certReq.certTemplate.publicKey!.equals(leaf.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(req.popo?.kind).toBe('signature');
    if (req.popo?.kind !== 'signature') return;
    const key = createPublicKey({ key: req.certReq.certTemplate.publicKey!, format: 'der', type: 'spki' });
    expect(verifySignature(req.popo.algorithm, key, req.certReqDer, req.popo.signature)).toBe(true);
    const tampered = Buffer.from(req.certReqDer);
    tampered[tampered.length - 1] ^= 1;
    expect(verifySignature(req.popo.algorithm, key, tampered, req.popo.signature)).toBe(false);
  });

  it('kur: the oldCertID control names the certificate being updated', () => {
    const m = decodePKIMessage(read('kur.der'));
    expect(m.body.type).toBe('kur');
    const [req] = decodeCertReqMessages(m.body.content, readTlv(m.body.content));
    expect(encodeCertReqMessages([req]).equals(m.body.content)).toBe(true);
    const ctl = req.certReq.controls?.find((c) => c.type === regCtrlOids.oldCertID);
    expect(ctl).toBeDefined();
    const id = decodeCertId(ctl!.value, readTlv(ctl!.value));
    const leaf = new X509Certificate(read('leaf.crt'));
    expect(id.serialNumber.toString('hex').replace(/^00/, '').toUpperCase()).toBe(leaf.serialNumber.replace(/^00/, ''));
  });

  it('cr: signature protection over ProtectedPart verifies with the signer certificate', () => {
    const m = decodePKIMessage(read('cr.der'));
    const signer = new X509Certificate(read('leaf.crt'));
    expect(verifySignature(m.header.protectionAlg!, signer.publicKey, m.protectedPart, m.protection!)).toBe(true);
  });
});

describe('CertRepMessage, CertConfirmContent (RFC 9810 §5.3.4, §5.3.18)', () => {
  it('ip carries the certificate and caPubs; certConf hashes that certificate with SHA-256', () => {
    const ip = decodePKIMessage(read('ip.der'));
    const rep = decodeCertRepMessage(ip.body.content, readTlv(ip.body.content));
    expect(encodeCertRepMessage(rep).equals(ip.body.content)).toBe(true);
    expect(rep.caPubs).toHaveLength(1);
    expect(rep.response[0].status.status).toBe(0);
    const cc = decodePKIMessage(read('certconf.der'));
    const [st] = decodeCertConfirmContent(cc.body.content, readTlv(cc.body.content));
    expect(encodeCertConfirmContent([st]).equals(cc.body.content)).toBe(true);
    expect(st.certHash.equals(createHash('sha256').update(rep.response[0].certificate!).digest())).toBe(true);
    expect(decodePKIMessage(read('pkiconf.der')).body.type).toBe('pkiconf');
  });
});

describe('RevReqContent, RevRepContent (RFC 9810 §5.3.9, §5.3.10)', () => {
  it('rr names issuer and serial with reason 5; rp accepts', () => {
    const rr = decodePKIMessage(read('rr.der'));
    const [d] = decodeRevReqContent(rr.body.content, readTlv(rr.body.content));
    expect(encodeRevReqContent([d]).equals(rr.body.content)).toBe(true);
    expect(d.reason).toBe(5);
    const leaf = new X509Certificate(read('leaf.crt'));
    expect(d.certDetails.serialNumber!.toString('hex').replace(/^00/, '').toUpperCase()).toBe(leaf.serialNumber.replace(/^00/, ''));
    expect(d.certDetails.issuer).toBeDefined();
    const rp = decodePKIMessage(read('rp.der'));
    const rep = decodeRevRepContent(rp.body.content, readTlv(rp.body.content));
    expect(encodeRevRepContent(rep).equals(rp.body.content)).toBe(true);
    expect(rep.status[0].status).toBe(0);
  });
});

describe('GenMsgContent (RFC 9810 §5.3.19)', () => {
  it('genm asks for signKeyPairTypes; genp answers with it', () => {
    for (const name of ['genm', 'genp']) {
      const m = decodePKIMessage(read(`${name}.der`));
      const items = decodeGenContent(m.body.content, readTlv(m.body.content));
      expect(encodeGenContent(items).equals(m.body.content)).toBe(true);
      expect(items[0].type).toBe(itOids.signKeyPairTypes);
    }
  });
});

describe('PKIStatusInfo and ErrorMsgContent', () => {
  it('failInfo bits round-trip and openssl prints them', () => {
    const s = { status: 2, statusString: ['no'], failInfo: ['badPOP', 'badMessageCheck'] as const };
    const der = encodeStatusInfo({ ...s, failInfo: [...s.failInfo] });
    expect(decodeStatusInfo(der, readTlv(der)).failInfo?.sort()).toEqual(['badMessageCheck', 'badPOP']);
    const e = encodeErrorMsgContent({ status: { status: 2, failInfo: ['badRequest'] }, errorDetails: ['x'] });
    expect(decodeErrorMsgContent(e, readTlv(e)).status.failInfo).toEqual(['badRequest']);
    expect(encodeBody({ type: 'error', content: e })[0]).toBe(0xa0 + 23);
    const parsed = opensslOk(['asn1parse', '-inform', 'DER'], { input: der });
    expect(parsed).toMatch(/BIT STRING/);
  });
});
