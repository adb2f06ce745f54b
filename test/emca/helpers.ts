/**
 * emCA test client: registers an application through the admin API, then speaks the V4 envelope
 * exactly as an integrating application does — AES-256 over the inner JSON, and CMS signatures made
 * by the real `openssl cms -sign` with the PFX the registration returned.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import type { Context } from '../../src/context.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import { buildApp } from '../../src/server.ts';
import { emcaProtocol } from '../../protocols/emca/index.ts';
import type { ClientSecrets } from '../../protocols/emca/clients.ts';
import { encryptRequestData, type AesMode } from '../../protocols/emca/crypto.ts';

const dirs: string[] = [];
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'certgate-emca-'));
  dirs.push(d);
  return d;
}
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function openssl(args: string[], input?: string | Buffer): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** openssl exit status and combined stdout + stderr, never throwing. */
export function opensslTry(args: string[]): { status: number; out: string } {
  const r = spawnSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export async function makeApp(ctx: Context): Promise<Hono<AppEnv>> {
  return buildApp(ctx, [emcaProtocol]);
}

export async function adminToken(ctx: Context, role: 'administrator' | 'officer' | 'auditor' = 'administrator'): Promise<string> {
  const op = await ctx.tokens.ensureOperator(`test-${role}`, role);
  return ctx.tokens.issue(op, 3600);
}

/** A PKCS#10 made by `openssl req` (DER). */
export function makeCsr(subject = '/CN=alice/O=Acme', opts: { key?: 'ec' | 'rsa'; sanDns?: string } = {}): Buffer {
  const d = tempDir();
  const args = ['req', '-new', '-nodes', '-keyout', join(d, 'k.pem'), '-subj', subject, '-outform', 'DER', '-out', join(d, 'r.der')];
  if (opts.key === 'rsa') args.push('-newkey', 'rsa:2048');
  else args.push('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256');
  if (opts.sanDns) args.push('-addext', `subjectAltName=DNS:${opts.sanDns}`);
  openssl(args);
  return readFileSync(join(d, 'r.der'));
}

export interface Registered extends ClientSecrets {
  /** PEM files extracted from the PFX with `openssl pkcs12`. */
  certPem: string;
  keyPem: string;
}

export async function register(
  app: Hono<AppEnv>,
  token: string,
  body: Record<string, unknown>,
): Promise<Registered> {
  const res = await app.request('/api/v1/emca/clients', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  const s = (await res.json()) as Omit<Registered, 'certPem' | 'keyPem'>;
  const d = tempDir();
  const pfxPath = join(d, 'client.p12');
  writeFileSync(pfxPath, Buffer.from(s.pfx, 'base64'));
  const certPem = join(d, 'client.crt');
  const keyPem = join(d, 'client.key');
  openssl(['pkcs12', '-in', pfxPath, '-passin', `pass:${s.pfxPassword}`, '-nokeys', '-clcerts', '-out', certPem]);
  openssl(['pkcs12', '-in', pfxPath, '-passin', `pass:${s.pfxPassword}`, '-nocerts', '-nodes', '-out', keyPem]);
  return { ...s, certPem, keyPem };
}

/** `openssl cms -sign -binary -nodetach -outform DER` over `content`; base64. `stream` gives BER (indefinite lengths). */
export function cmsSign(content: string | Buffer, signer: { certPem: string; keyPem: string }, opts: { stream?: boolean } = {}): string {
  const d = tempDir();
  const inPath = join(d, 'content.bin');
  writeFileSync(inPath, content);
  const args = ['cms', '-sign', '-binary', '-nodetach', '-outform', 'DER', '-md', 'sha256', '-signer', signer.certPem, '-inkey', signer.keyPem, '-in', inPath];
  if (opts.stream) args.push('-stream');
  return openssl(args).toString('base64');
}

/** A self-signed signer nobody registered. */
export function foreignSigner(): { certPem: string; keyPem: string } {
  const d = tempDir();
  const certPem = join(d, 'f.crt');
  const keyPem = join(d, 'f.key');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPem, '-out', certPem, '-subj', '/CN=foreign', '-days', '1']);
  return { certPem, keyPem };
}

export interface CallOptions {
  ip?: string;
  emKey?: string | null;
  aesKey?: string;
  aesMode?: AesMode;
  userName?: string;
  headers?: Record<string, string>;
  field?: 'requestData' | 'encodedString';
}

export interface EnvelopeJson {
  status: string;
  result: string | null;
  subscriberId: string | null;
  requestId: string | null;
}

/** One V4 call: inner JSON (userName/password added) encrypted with the client's AES key. */
export async function call(
  app: Hono<AppEnv>,
  client: Registered,
  method: string,
  inner: Record<string, unknown>,
  o: CallOptions = {},
): Promise<{ status: number; body: EnvelopeJson }> {
  const full = { userName: client.userName, password: client.password, ...inner };
  const requestData = encryptRequestData(Buffer.from(o.aesKey ?? client.aesKey, 'base64'), o.aesMode ?? client.aesMode, JSON.stringify(full));
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(o.headers ?? {}) };
  if (o.emKey !== null) headers.emKey = o.emKey ?? client.emKey;
  const res = await app.request(
    `/emCAServices/rest/${method}`,
    { method: 'POST', headers, body: JSON.stringify({ [o.field ?? 'requestData']: requestData, userName: o.userName ?? client.userName }) },
    { incoming: { socket: { remoteAddress: o.ip ?? '127.0.0.1' } } },
  );
  return { status: res.status, body: (await res.json()) as EnvelopeJson };
}

/** Writes base64 DER to a file and returns `openssl x509 -text` output. */
export function x509Text(b64: string): string {
  const d = tempDir();
  const p = join(d, 'c.der');
  writeFileSync(p, Buffer.from(b64, 'base64'));
  return openssl(['x509', '-inform', 'DER', '-in', p, '-noout', '-text', '-serial']).toString();
}

export function serialOf(b64: string): string {
  const d = tempDir();
  const p = join(d, 'c.der');
  writeFileSync(p, Buffer.from(b64, 'base64'));
  return openssl(['x509', '-inform', 'DER', '-in', p, '-noout', '-serial']).toString().trim().replace(/^serial=/, '');
}
