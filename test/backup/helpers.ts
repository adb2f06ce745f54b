/**
 * A Certgate with history worth backing up — certificates, a revocation, a suspension, CRLs, an
 * OCSP responder — and the observations a restore must reproduce: certificate rows, CRL bytes and
 * numbers, OCSP answers as openssl reads them.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createOcspProtocol } from '../../protocols/ocsp/index.ts';
import { passphraseSecret, type BackupSecret } from '../../src/backup/secret.ts';
import { restoreBackup } from '../../src/backup/restore.ts';
import type { Config } from '../../src/config.ts';
import { createContext, type Context } from '../../src/context.ts';
import { toPem } from '../../src/pki/pem.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { openssl } from '../ocsp/helpers.ts';

export const secret: BackupSecret = passphraseSecret('correct horse battery staple');

export interface Running {
  ctx: Context;
  server: RunningServer;
  stop(): Promise<void>;
}

/** A server with the OCSP protocol on `config` (a fresh one bootstraps, a restored one does not need to). */
export async function run(config: Config): Promise<Running> {
  const ctx = await createContext(config, { logger: pino({ level: 'silent' }) });
  const ocsp = createOcspProtocol({ settings: { pollMs: 3_600_000 } });
  const server = await startServer(ctx, [ocsp], { https: false });
  return {
    ctx,
    server,
    async stop() {
      await server.stop();
      await ocsp.stop?.();
      await ctx.close();
    },
  };
}

let n = 0;
export async function issue(ctx: Context): Promise<{ serial: string; der: Uint8Array }> {
  const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const r = await ctx.pipeline.issue({
    principal: { id: 'test', protocol: 'internal', authenticatedBy: 'local' },
    profile: 'tls-server',
    key: { kind: 'spki', der: createPublicKey(kp.privateKey).export({ format: 'der', type: 'spki' }), pop: 'verified-by-protocol' },
    sans: [{ type: 'dns', value: `backup${++n}-${Date.now()}.example` }],
  });
  if (r.status !== 'issued') throw new Error(`not issued: ${r.status}`);
  return { serial: r.certificate.serial, der: r.certificate.der };
}

export function workDir(): { dir: string; pem(name: string, der: Uint8Array | Uint8Array[]): string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'certgate-backup-'));
  return {
    dir,
    pem(name, der) {
      const f = join(dir, name);
      writeFileSync(f, (Array.isArray(der) ? der : [der]).map((d) => toPem(d, 'CERTIFICATE')).join(''));
      return f;
    },
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** openssl ocsp's verdict on one certificate: its status lines (status, revocation time, reason), the response verified against the root. */
export async function ocspStatus(url: string, issuerFile: string, certFile: string, rootFile: string): Promise<string> {
  const r = await openssl(['ocsp', '-issuer', issuerFile, '-cert', certFile, '-url', url, '-CAfile', rootFile, '-no_nonce', '-resp_text']);
  if (!/Response verify OK/.test(r.out)) throw new Error(`OCSP response did not verify:\n${r.out}`);
  const keep = r.out.split('\n').filter((l) => /Responder Id|Cert Status|Revocation Time|Revocation Reason|^[^:]+\.pem: /.test(l.trim()));
  return keep.map((l) => l.trim()).join('\n');
}

export function restoreFile(file: string, target: { dataDir: string; databaseUrl?: string }, s: BackupSecret = secret) {
  return restoreBackup(file, s, target);
}
