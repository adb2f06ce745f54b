/**
 * A small CMP client built on src/pki (for the messages openssl cmp will not send: wrong MACs,
 * replays, tampered POP, certConf with a wrong hash) and the test server harness.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCmpProtocol } from '../../protocols/cmp/index.ts';
import { SecretStore } from '../../protocols/cmp/secrets.ts';
import type { CmpSettings } from '../../protocols/cmp/settings.ts';
import { ocspProtocol } from '../../protocols/ocsp/index.ts';
import { createProtocolContext } from '../../src/protocol-context-impl.ts';
import { decodeAlgorithmIdentifier } from '../../src/pki/algorithm-identifier.ts';
import { encodeCertConfirmContent } from '../../src/pki/cmp-cert-confirm.ts';
import { decodeCertRepMessage } from '../../src/pki/cmp-cert-rep.ts';
import { decodeErrorMsgContent } from '../../src/pki/cmp-error-msg.ts';
import { itOids, type InfoTypeAndValue } from '../../src/pki/cmp-info-type-value.ts';
import { directoryGeneralName, NULL_DN_NAME, type PKIHeader } from '../../src/pki/cmp-header.ts';
import { decodePKIMessage, encodePKIMessage, protectedPartOf, type DecodedPKIMessage } from '../../src/pki/cmp-message.ts';
import type { PKIBody } from '../../src/pki/cmp-body.ts';
import { PASSWORD_BASED_MAC, encodePbmParameter, pbmMac, type PBMParameter } from '../../src/pki/cmp-pbm.ts';
import { PBMAC1, encodePbmac1Parameter, pbmac1Mac, type Pbmac1Parameter } from '../../src/pki/cmp-pbmac1.ts';
import { encodeCertReqMessages, encodeCertRequest, type CertRequest } from '../../src/pki/crmf-cert-req-messages.ts';
import { readTlv, seq } from '../../src/pki/der.ts';
import { subjectAltName } from '../../src/pki/extensions.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../../src/pki/name.ts';
import { toPem } from '../../src/pki/pem.ts';
import { verifySignature } from '../../src/pki/signature.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTestContext, type Driver, type TestContext } from '../support/context.ts';

export interface CmpEnv {
  t: TestContext;
  server: RunningServer;
  url: string;
  dir: string;
  rootFile: string;
  issuingFile: string;
  /** A fresh reference and its secret. */
  secret(alias?: string | null): Promise<{ ref: string; secret: string }>;
  post(der: Uint8Array, path?: string): Promise<{ status: number; der: Buffer; type: string }>;
  close(): Promise<void>;
}

export async function makeCmpEnv(driver: Driver, settings: Partial<CmpSettings> = {}): Promise<CmpEnv> {
  const t = await makeTestContext(driver);
  const cmp = createCmpProtocol({ settings: { sweepMs: 3_600_000, ...settings } });
  const server = await startServer(t.ctx, [ocspProtocol, cmp], { https: false });
  const dir = mkdtempSync(join(tmpdir(), 'certgate-cmp-'));
  const root = (await t.ctx.issuers.get('dev-root'))!;
  const issuing = (await t.ctx.issuers.get('dev-issuing'))!;
  const rootFile = join(dir, 'root.pem');
  const issuingFile = join(dir, 'issuing.pem');
  writeFileSync(rootFile, toPem(root.certDer, 'CERTIFICATE'));
  writeFileSync(issuingFile, toPem(issuing.certDer, 'CERTIFICATE'));
  // Secrets are made through the store the server uses (same KEK purpose), not through HTTP.
  const store = new SecretStore(createProtocolContext(t.ctx, 'cmp'));
  let n = 0;
  return {
    t,
    server,
    url: server.httpUrl,
    dir,
    rootFile,
    issuingFile,
    async secret(alias = null) {
      const s = await store.add(`ref-${++n}-${randomBytes(3).toString('hex')}`, alias, 'test');
      return { ref: s.ref, secret: s.secret };
    },
    async post(der, path = '/cmp') {
      const r = await fetch(`${server.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/pkixcmp' }, body: der });
      return { status: r.status, der: Buffer.from(await r.arrayBuffer()), type: r.headers.get('content-type') ?? '' };
    },
    async close() {
      await server.stop();
      await t.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Protection =
  | { kind: 'pbm'; ref: string; secret: string; iterations?: number }
  | { kind: 'pbmac1'; ref: string; secret: string; iterations?: number }
  | { kind: 'signature'; key: KeyObject; certDer: Buffer; algDer: Buffer; hash: string };

export function header(o: { transactionID?: Buffer; senderNonce?: Buffer; recipNonce?: Buffer; implicit?: boolean; pvno?: number } = {}): PKIHeader {
  const generalInfo: InfoTypeAndValue[] | undefined = o.implicit ? [{ type: itOids.implicitConfirm, value: Buffer.from([5, 0]) }] : undefined;
  return {
    pvno: o.pvno ?? 2,
    sender: directoryGeneralName(encodeName(toEncodedAttributes(parseDn('CN=test-client')))),
    recipient: NULL_DN_NAME,
    messageTime: new Date(),
    transactionID: o.transactionID ?? randomBytes(16),
    senderNonce: o.senderNonce ?? randomBytes(16),
    recipNonce: o.recipNonce,
    generalInfo,
  };
}

const SHA256 = { oid: '2.16.840.1.101.3.4.2.1' };
const HMAC_SHA256 = { oid: '1.2.840.113549.2.9' };

export function protect(h: PKIHeader, body: PKIBody, p: Protection, tamper = false): Buffer {
  let hdr: PKIHeader;
  let mac: Buffer;
  let extraCerts: Buffer[] | undefined;
  if (p.kind === 'pbm') {
    const params: PBMParameter = { salt: randomBytes(16), owf: SHA256, iterationCount: p.iterations ?? 500, mac: { oid: '1.3.6.1.5.5.8.1.2' } };
    hdr = { ...h, senderKID: Buffer.from(p.ref), protectionAlg: { oid: PASSWORD_BASED_MAC, params: encodePbmParameter(params) } };
    mac = pbmMac(params, Buffer.from(p.secret), protectedPartOf(hdr, body));
  } else if (p.kind === 'pbmac1') {
    const params: Pbmac1Parameter = { salt: randomBytes(16), iterationCount: p.iterations ?? 1000, keyLength: 32, prf: HMAC_SHA256, mac: HMAC_SHA256 };
    hdr = { ...h, senderKID: Buffer.from(p.ref), protectionAlg: { oid: PBMAC1, params: encodePbmac1Parameter(params) } };
    mac = pbmac1Mac(params, Buffer.from(p.secret), protectedPartOf(hdr, body));
  } else {
    hdr = { ...h, protectionAlg: decodeAlgorithmIdentifier(p.algDer, readTlv(p.algDer)) };
    mac = sign(p.hash, protectedPartOf(hdr, body), p.key);
    extraCerts = [p.certDer];
  }
  if (tamper) mac[0] ^= 1;
  return encodePKIMessage({ header: hdr, body, protection: mac, extraCerts });
}

export interface NewKey {
  privateKey: KeyObject;
  spki: Buffer;
}

export function newKey(): NewKey {
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey: k.privateKey, spki: k.publicKey.export({ type: 'spki', format: 'der' }) };
}

const ECDSA_SHA256 = { oid: '1.2.840.10045.4.3.2' };

/** An ir/cr/kur body for `cn` with a POP signature by the key (tampered when asked). */
export function crmfBody(type: 'ir' | 'cr' | 'kur', cn: string, key: NewKey, o: { badPop?: boolean; noPop?: boolean; noKey?: boolean } = {}): PKIBody {
  const certReq: CertRequest = {
    certReqId: 0n,
    certTemplate: {
      subject: encodeName(toEncodedAttributes(parseDn(`CN=${cn}.example`))),
      publicKey: o.noKey ? undefined : key.spki,
      extensions: seq(subjectAltName([{ type: 'dns', value: `${cn}.example` }])),
    },
  };
  const sig = sign('sha256', encodeCertRequest(certReq), key.privateKey);
  if (o.badPop) sig[sig.length - 1] ^= 1;
  const popo = o.noPop ? undefined : ({ kind: 'signature', algorithm: ECDSA_SHA256, signature: sig } as const);
  return { type, content: encodeCertReqMessages([{ certReq, popo }]) };
}

export function certConfBody(certDer: Uint8Array, o: { wrongHash?: boolean; reject?: boolean } = {}): PKIBody {
  const h = createHash('sha256').update(certDer).digest();
  if (o.wrongHash) h[0] ^= 1;
  return { type: 'certConf', content: encodeCertConfirmContent([{ certHash: h, certReqId: 0n, statusInfo: o.reject ? { status: 2 } : undefined }]) };
}

export function decodeAnswer(der: Buffer): DecodedPKIMessage {
  return decodePKIMessage(der);
}

/** The failInfo bits of an `error` answer (throws when it is not one). */
export function failInfoOf(m: DecodedPKIMessage): string[] {
  if (m.body.type !== 'error') throw new Error(`expected an error answer, got ${m.body.type}`);
  return decodeErrorMsgContent(m.body.content, readTlv(m.body.content)).status.failInfo ?? [];
}

export function issuedCert(m: DecodedPKIMessage): Buffer {
  if (!['ip', 'cp', 'kup'].includes(m.body.type)) throw new Error(`expected ip/cp/kup, got ${m.body.type}: ${m.body.type === 'error' ? failInfoOf(m) : ''}`);
  const rep = decodeCertRepMessage(m.body.content, readTlv(m.body.content));
  const c = rep.response[0].certificate;
  if (!c) throw new Error(`no certificate: status ${rep.response[0].status.status}`);
  return c;
}

export function verifiesWith(m: DecodedPKIMessage, certDer: Uint8Array): boolean {
  return verifySignature(m.header.protectionAlg!, new X509Certificate(Buffer.from(certDer)).publicKey, m.protectedPart, m.protection!);
}
