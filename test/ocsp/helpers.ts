import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createOcspProtocol, type OcspModule } from '../../protocols/ocsp/index.ts';
import type { ServerSettings } from '../../protocols/ocsp/settings.ts';
import type { Issuer } from '../../src/ca/issuer.ts';
import type { KeySpec } from '../../src/issuance/request.ts';
import { encodeCertId, encodeOcspRequest } from '../../src/pki/ocsp-request.ts';
import { toPem } from '../../src/pki/pem.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTestContext, type Driver, type TestContext } from '../support/context.ts';

const exec = promisify(execFile);

export interface OcspEnv {
  t: TestContext;
  ocsp: OcspModule;
  server: RunningServer;
  url: string;
  dir: string;
  /** Writes a PEM file into the work dir; returns its path. */
  pem(name: string, der: Uint8Array): string;
  issue(issuerId?: string, key?: 'ec' | 'rsa'): Promise<{ serial: string; der: Uint8Array; file: string; issuerFile: string }>;
  issuerFile(issuerId: string): string;
  rootFile: string;
  close(): Promise<void>;
}

type SettingsOverride = Partial<ServerSettings> & { defaults?: Partial<ServerSettings['defaults']> };

export async function makeOcspEnv(driver: Driver, settings: SettingsOverride = {}): Promise<OcspEnv> {
  const t = await makeTestContext(driver);
  const ocsp = createOcspProtocol({ settings: { pollMs: 3_600_000, ...settings } });
  const server = await startServer(t.ctx, [ocsp], { https: false });
  const dir = mkdtempSync(join(tmpdir(), 'certgate-ocsp-'));
  const pem = (name: string, der: Uint8Array) => {
    const f = join(dir, name);
    writeFileSync(f, toPem(der, 'CERTIFICATE'));
    return f;
  };
  const root = (await t.ctx.issuers.get('dev-root'))!;
  const rootFile = pem('root.pem', root.certDer);
  const issuerFile = (id: string) => pem(`${id}.pem`, t.ctx.issuers.peek(id)!.certDer);
  let n = 0;
  return {
    t,
    ocsp,
    server,
    url: `${server.httpUrl}/ocsp`,
    dir,
    pem,
    rootFile,
    issuerFile,
    async issue(issuerId = 'dev-issuing', key = 'ec') {
      const kp = key === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
      const r = await t.ctx.pipeline.issue({
        principal: { id: 'test', protocol: 'internal', authenticatedBy: 'local' },
        profile: 'tls-server',
        issuerId,
        key: { kind: 'spki', der: createPublicKey(kp.privateKey).export({ format: 'der', type: 'spki' }), pop: 'verified-by-protocol' },
        sans: [{ type: 'dns', value: `host${++n}.example` }],
      });
      if (r.status !== 'issued') throw new Error(`not issued: ${r.status}`);
      return { serial: r.certificate.serial, der: r.certificate.der, file: pem(`leaf-${n}.pem`, r.certificate.der), issuerFile: issuerFile(issuerId) };
    },
    async close() {
      await server.stop();
      await ocsp.stop?.();
      await t.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs openssl; resolves with stdout+stderr and the exit code (never throws on a non-zero exit). */
export async function openssl(args: string[], cwd?: string): Promise<{ out: string; code: number }> {
  try {
    const r = await exec('openssl', args, { cwd, maxBuffer: 1 << 24 });
    return { out: r.stdout + r.stderr, code: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; code?: number };
    return { out: (x.stdout ?? '') + (x.stderr ?? ''), code: typeof x.code === 'number' ? x.code : 1 };
  }
}

/** A CertID for a certificate of `issuer` (hash: sha1 or sha256). */
export function certIdFor(issuer: Issuer, serial: string, hash: 'sha1' | 'sha256' = 'sha1'): Buffer {
  const h = issuer.hashes;
  return encodeCertId({
    hash,
    issuerNameHash: Buffer.from(hash === 'sha1' ? h.nameSha1 : h.nameSha256, 'hex'),
    issuerKeyHash: Buffer.from(hash === 'sha1' ? h.keySha1 : h.keySha256, 'hex'),
    serial,
  });
}

export function requestFor(issuer: Issuer, serial: string, opts: { hash?: 'sha1' | 'sha256'; nonce?: Buffer } = {}): Buffer {
  return encodeOcspRequest([certIdFor(issuer, serial, opts.hash)], opts.nonce);
}

export async function post(url: string, body: Uint8Array, contentType = 'application/ocsp-request'): Promise<{ status: number; headers: Headers; der: Buffer }> {
  const r = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': contentType } });
  return { status: r.status, headers: r.headers, der: Buffer.from(await r.arrayBuffer()) };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; der: Buffer }> {
  const r = await fetch(url, { headers });
  return { status: r.status, headers: r.headers, der: Buffer.from(await r.arrayBuffer()) };
}

export const MALFORMED = Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x01]);
export const UNAUTHORIZED = Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x06]);

export const p256: KeySpec = { type: 'EC', curve: 'P-256' };
