/** Real artefacts the targets start from: CSRs made by openssl, certificates issued through the admin API. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rng } from './rng.ts';
import type { FuzzServer } from './types.ts';

export function openssl(args: string[], input?: string | Buffer): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A PKCS#10 (DER) with its key file, made by `openssl req`. */
export function makeCsr(dir: string, subject: string, san?: string, key: 'ec' | 'rsa' = 'ec'): { der: Buffer; keyPem: string } {
  const keyPem = join(dir, `k-${Math.random().toString(36).slice(2)}.pem`);
  const out = join(dir, `r-${Math.random().toString(36).slice(2)}.der`);
  const args = ['req', '-new', '-nodes', '-keyout', keyPem, '-subj', subject, '-outform', 'DER', '-out', out];
  if (key === 'rsa') args.push('-newkey', 'rsa:2048');
  else args.push('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256');
  if (san) args.push('-addext', `subjectAltName=${san}`);
  openssl(args);
  return { der: readFileSync(out), keyPem };
}

/** Issues a certificate through the admin API; returns its DER and serial. */
export async function issue(server: FuzzServer, csr: Buffer, profile: string): Promise<{ der: Buffer; serial: string }> {
  const r = await server.fetch('/api/v1/certificates', {
    method: 'POST',
    headers: { Authorization: `Bearer ${server.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ csr: csr.toString('base64'), profile }),
  });
  if (r.status !== 201) throw new Error(`seed issuance: ${r.status} ${await r.text()}`);
  const j = (await r.json()) as { certificate: { serial: string; pem: string } };
  const b64 = j.certificate.pem.replace(/-----[^-]+-----|\s/g, '');
  return { der: Buffer.from(b64, 'base64'), serial: j.certificate.serial };
}

/** Strings that have broken servers: for path segments and query values (already URL-encoded). */
export function oddUrlString(rng: Rng): string {
  return rng.pick([
    '%00',
    'a%00b',
    '%ED%A0%80',
    '%F0%9F%98%80',
    '%ff%fe',
    '%27%20OR%201%3D1--',
    '..%2f..%2f',
    'x'.repeat(3000),
    '-1',
    '1e400',
    '99999999999999999999999999',
    '0',
    '',
    '%20',
    'null',
    '00',
    'ZZ',
    '%E2%80%AE',
    '%25',
    '%',
  ]);
}
