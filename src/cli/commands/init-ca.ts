/**
 * `certgate init` for production: the operator's own root and issuing CA (key type, names,
 * validity, path length, the public URL their CRL/OCSP/caIssuers pointers embed), or an
 * existing CA imported from PEM or PKCS#12 (encrypted keys too) — never the development
 * hierarchy. The CAs are made through the admin API in-process, so the same validation and audit
 * entries apply as for `certgate issuer create/import`.
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import type { Context } from '../../context.ts';
import { CliError, EXIT_CLIENT, keyTypes } from './shared.ts';

export interface InitCaOptions {
  dev?: boolean;
  keyType?: string;
  rootId: string;
  rootName?: string;
  rootSubject?: string;
  rootValidityDays: number;
  rootPathLength?: number;
  issuingId: string;
  issuingName?: string;
  issuingSubject?: string;
  issuingValidityDays: number;
  pathLength: number;
  publicUrl?: string;
  importCert?: string;
  importKey?: string;
  importP12?: string;
  importId?: string;
  passwordFile?: string;
}

/** Whether the options ask for a production set-up (anything but plain `init` / `init --dev`). */
export function wantsProductionCa(o: InitCaOptions): boolean {
  return !o.dev && !!(o.rootName || o.rootSubject || o.issuingName || o.issuingSubject || o.importCert || o.importP12);
}

export function validateInitOptions(o: InitCaOptions): void {
  if (o.dev && wantsProductionCa({ ...o, dev: false })) throw new CliError('--dev cannot be combined with CA or import options', EXIT_CLIENT);
  if (o.importCert && !o.importKey) throw new CliError('--import-cert needs --import-key', EXIT_CLIENT);
  if (o.importKey && !o.importCert) throw new CliError('--import-key needs --import-cert', EXIT_CLIENT);
  if (o.importP12 && o.importCert) throw new CliError('give --import-p12 or --import-cert/--import-key, not both', EXIT_CLIENT);
  if ((o.importCert || o.importP12) && (o.rootName || o.rootSubject || o.issuingName || o.issuingSubject)) {
    throw new CliError('import an existing CA or create new ones, not both', EXIT_CLIENT);
  }
  if (o.keyType && !keyTypes.includes(o.keyType)) throw new CliError(`unknown key type "${o.keyType}"; key types: ${keyTypes.join(', ')}`, EXIT_CLIENT);
}

/** Asks for the set-up on a terminal; returns the options as flags would have given them. */
export async function askInitOptions(o: InitCaOptions): Promise<InitCaOptions> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const ask = async (q: string, def?: string) => (await rl.question(`${q}${def ? ` [${def}]` : ''}: `)).trim() || def || '';
  try {
    const mode = await ask('CA set-up: dev (throw-away development CAs), new (your own root and issuing CA) or import (an existing CA)', 'new');
    if (mode === 'dev') return { ...o, dev: true };
    if (mode === 'import') {
      const file = await ask('CA certificate and key: a PKCS#12 file, or a PEM certificate file');
      if (/\.(p12|pfx)$/i.test(file)) return { ...o, importP12: file, importId: await ask('issuer id', 'issuing') };
      return { ...o, importCert: file, importKey: await ask('its private key (PEM)'), importId: await ask('issuer id', 'issuing') };
    }
    if (mode !== 'new') throw new CliError(`unknown set-up "${mode}"; set-ups: dev, new, import`, EXIT_CLIENT);
    const org = await ask('organisation (O) for both CAs', '');
    const dn = (cn: string) => `CN=${cn}${org ? `,O=${org}` : ''}`;
    return {
      ...o,
      keyType: await ask(`key type (${keyTypes.join(', ')})`, o.keyType ?? 'ec-p384'),
      rootSubject: dn(await ask('root CA common name', 'Root CA')),
      rootValidityDays: Number(await ask('root CA validity, days', String(o.rootValidityDays))),
      issuingSubject: dn(await ask('issuing CA common name', 'Issuing CA')),
      issuingValidityDays: Number(await ask('issuing CA validity, days', String(o.issuingValidityDays))),
      pathLength: Number(await ask('issuing CA path length (0: it signs no CA)', String(o.pathLength))),
      publicUrl: (await ask('public URL clients reach Certgate at (CRL, OCSP and CA links)', o.publicUrl ?? '')) || undefined,
    };
  } finally {
    rl.close();
  }
}

/** Creates (or imports) the operator's CAs through the in-process admin API; returns what was made. */
export async function createProductionCa(ctx: Context, o: InitCaOptions): Promise<string[]> {
  const { buildApp } = await import('../../server.ts');
  const app = await buildApp(ctx, []);
  const op = await ctx.tokens.ensureOperator('local-cli', 'administrator', 'local');
  const token = await ctx.tokens.issue(op, 300);
  const call = async (path: string, body: unknown) => {
    const res = await app.request(`/api/v1${path}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as { id: string; subject: string; message?: string };
    if (res.status >= 300) throw new CliError(`${path}: ${json.message ?? `HTTP ${res.status}`}`, res.status >= 500 ? 1 : EXIT_CLIENT);
    return json;
  };
  if (o.importCert || o.importP12) {
    const { certificatePem, privateKeyPem } = o.importP12 ? readPkcs12(o.importP12, password(o)) : { certificatePem: readFile(o.importCert!), privateKeyPem: decryptKey(readFile(o.importKey!), o) };
    const i = await call('/issuers/import', { id: o.importId ?? 'issuing', certificatePem: firstCertificate(certificatePem), privateKeyPem, default: true });
    return [`imported issuer ${i.id}: ${i.subject} (default)`];
  }
  const keyType = o.keyType ?? 'ec-p384';
  const root = await call('/issuers', {
    id: o.rootId,
    name: o.rootName ?? cnOf(o.rootSubject) ?? 'Root CA',
    subject: o.rootSubject,
    keyType,
    validityDays: o.rootValidityDays,
    pathLength: o.rootPathLength,
  });
  const issuing = await call('/issuers', {
    id: o.issuingId,
    name: o.issuingName ?? cnOf(o.issuingSubject) ?? 'Issuing CA',
    subject: o.issuingSubject,
    parentId: o.rootId,
    keyType,
    validityDays: o.issuingValidityDays,
    pathLength: o.pathLength,
    default: true,
  });
  return [`created root CA ${root.id}: ${root.subject}`, `created issuing CA ${issuing.id}: ${issuing.subject} (default)`];
}

function cnOf(dn: string | undefined): string | undefined {
  return dn ? /(?:^|,)\s*CN=([^,]+)/i.exec(dn)?.[1]?.trim() : undefined;
}

function readFile(file: string): string {
  return readFileSync(file, 'utf8');
}

function firstCertificate(pem: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new CliError('no PEM certificate in the CA file', EXIT_CLIENT);
  return m[0] + '\n';
}

/** The password for an encrypted key or PKCS#12: --password-file, else CERTGATE_INIT_PASSWORD. */
function password(o: InitCaOptions): string | undefined {
  if (o.passwordFile) return readFileSync(o.passwordFile, 'utf8').replace(/\r?\n$/, '');
  return process.env.CERTGATE_INIT_PASSWORD;
}

/** An encrypted (PKCS#8 or traditional) PEM key decrypted in memory to unencrypted PKCS#8. */
function decryptKey(pem: string, o: InitCaOptions): string {
  if (!/ENCRYPTED/.test(pem)) return pem;
  const passphrase = password(o);
  if (passphrase === undefined) throw new CliError('the private key is encrypted: give --password-file FILE (or CERTGATE_INIT_PASSWORD)', EXIT_CLIENT);
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase }).export({ format: 'pem', type: 'pkcs8' }).toString();
  } catch {
    throw new CliError('the private key could not be decrypted (wrong password?)', EXIT_CLIENT);
  }
}

/**
 * The CA certificate and key out of a PKCS#12 file, by `openssl pkcs12` (legacy RC2/3DES files
 * too). The password goes through an inherited environment variable, never the command line.
 */
function readPkcs12(file: string, pass: string | undefined): { certificatePem: string; privateKeyPem: string } {
  const env = { ...process.env, CERTGATE_P12_PASS: pass ?? '' };
  const run = (extra: string[]) =>
    spawnSync('openssl', ['pkcs12', '-in', file, '-nodes', '-passin', 'env:CERTGATE_P12_PASS', ...extra], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  let r = run([]);
  if (r.error) throw new CliError(`PKCS#12 import needs the openssl command: ${r.error.message}`, 1);
  if (r.status !== 0) r = run(['-legacy']);
  if (r.status !== 0) throw new CliError(`${file}: not a PKCS#12 file this password opens`, EXIT_CLIENT);
  const key = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(r.stdout)?.[0];
  if (!key) throw new CliError(`${file}: holds no private key`, EXIT_CLIENT);
  return { certificatePem: matchingCertificate(r.stdout, key), privateKeyPem: key + '\n' };
}

/** The certificate of the key (a PKCS#12 may also hold the chain above it). */
function matchingCertificate(text: string, keyPem: string): string {
  const spki = createPublicKey(createPrivateKey(keyPem)).export({ format: 'der', type: 'spki' });
  const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  for (const c of certs) {
    if (new X509Certificate(c).publicKey.export({ format: 'der', type: 'spki' }).equals(spki)) return c + '\n';
  }
  throw new CliError('the PKCS#12 file holds no certificate for its key', EXIT_CLIENT);
}
