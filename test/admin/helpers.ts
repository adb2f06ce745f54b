/** Shared helpers for the admin API tests: CSRs and CA material from openssl, tokens, requests. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import type { Role } from '../../src/admin/tokens.ts';
import type { Context } from '../../src/context.ts';
import type { AppEnv } from '../../src/http/app-env.ts';

const work = mkdtempSync(join(tmpdir(), 'certgate-admin-'));
let n = 0;

/** A PKCS#10 request made by `openssl req` (P-256 key), PEM. */
export function opensslCsr(subject: string, sans: string[] = []): string {
  const base = join(work, `req${++n}`);
  const args = ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', subject];
  if (sans.length) args.push('-addext', `subjectAltName=${sans.join(',')}`);
  execFileSync('openssl', args, { stdio: 'pipe' });
  return readFileSync(`${base}.csr`, 'utf8');
}

/** A self-signed CA (certificate and PKCS#8 key, PEM) made by openssl, for import. */
export function opensslCa(cn: string): { certificatePem: string; privateKeyPem: string } {
  const base = join(work, `ca${++n}`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.pem`, '-days', '3650', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'],
    { stdio: 'pipe' },
  );
  return { certificatePem: readFileSync(`${base}.pem`, 'utf8'), privateKeyPem: readFileSync(`${base}.key`, 'utf8') };
}

/** Runs openssl with `input` written to a temp file named by `{in}` in args; returns stdout. */
export function openssl(args: string[], input?: Uint8Array | string): string {
  const file = join(work, `in${++n}`);
  if (input !== undefined) writeFileSync(file, input);
  return execFileSync('openssl', args.map((a) => (a === '{in}' ? file : a)), { stdio: 'pipe' }).toString('utf8');
}

export function cleanupWork(): void {
  rmSync(work, { recursive: true, force: true });
}

/** An operator of each role and a bearer token for it. */
export async function roleTokens(ctx: Context): Promise<Record<Role, string>> {
  const out = {} as Record<Role, string>;
  for (const role of ['administrator', 'officer', 'auditor'] as Role[]) {
    out[role] = await ctx.tokens.issue(await ctx.tokens.ensureOperator(`test-${role}`, role), 3600);
  }
  return out;
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

/** One admin API call through the real Hono app (`app.request`). */
export async function call<T = any>(app: Hono<AppEnv>, token: string | undefined, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.Authorization = token.includes(' ') ? token : `Bearer ${token}`;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await app.request(`/api/v1${path}`, { method, headers, body: payload });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* PEM, empty */
  }
  return { status: res.status, body: parsed as T, headers: res.headers, text };
}
