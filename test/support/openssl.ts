/**
 * Test helpers around the real `openssl` binary: temporary directories, PEM files, running
 * openssl (capturing the output of failures too) and making CSRs with `openssl req`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toPem } from '../../src/pki/pem.ts';

const dirs: string[] = [];

/** A fresh temporary directory; removed by `removeTempDirs()`. */
export function tempDir(prefix = 'certgate-openssl-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Removes every directory `tempDir()` made in this process. */
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Writes DER (one or several) as PEM blocks with `label`; returns the path. */
export function writePem(dir: string, name: string, der: Uint8Array | Uint8Array[], label = 'CERTIFICATE'): string {
  const list = Array.isArray(der) ? der : [der];
  const path = join(dir, name);
  writeFileSync(path, list.map((d) => toPem(d, label)).join(''));
  return path;
}

export function writeDer(dir: string, name: string, der: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, der);
  return path;
}

export interface OpensslResult {
  status: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for messages that openssl versions print on either. */
  output: string;
}

/** Runs openssl (synchronously, stdout and stderr captured); never throws on a non-zero exit. */
export function openssl(args: string[], opts: { input?: string | Uint8Array; cwd?: string } = {}): OpensslResult {
  const r = spawnSync('openssl', args, { input: opts.input, cwd: opts.cwd, encoding: 'latin1', timeout: 60_000 });
  if (r.error) throw r.error;
  if (r.status === null) throw new Error(`openssl ${args.join(' ')} was killed (${r.signal})`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
}

/**
 * Runs openssl without blocking the event loop: needed when openssl talks to a server in this
 * very process (`s_client` against a test server). Never rejects on a non-zero exit.
 */
export function opensslAsync(args: string[], opts: { input?: string | Uint8Array; timeoutMs?: number } = {}): Promise<OpensslResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('latin1').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('latin1').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === null) reject(new Error(`openssl ${args.join(' ')} was killed (${signal}):\n${stdout}${stderr}`));
      else resolve({ status: code, stdout, stderr, output: stdout + stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs openssl and throws with its output when it fails. */
export function opensslOk(args: string[], opts: { input?: string | Uint8Array; cwd?: string } = {}): string {
  const r = openssl(args, opts);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.status}):\n${r.output}`);
  return r.stdout;
}

export type CsrKeyType = 'ec-p256' | 'ec-p384' | 'rsa-1024' | 'rsa-2048' | 'rsa-3072' | 'ed25519';

const newkey: Record<CsrKeyType, string[]> = {
  'ec-p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  'ec-p384': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  'rsa-1024': ['-newkey', 'rsa:1024'],
  'rsa-2048': ['-newkey', 'rsa:2048'],
  'rsa-3072': ['-newkey', 'rsa:3072'],
  ed25519: ['-newkey', 'ed25519'],
};

export interface CsrOptions {
  /** Key type of a new key (default ec-p256); ignored when `keyFile` is given. */
  keyType?: CsrKeyType;
  /** Re-use this private key (PEM file) instead of generating one. */
  keyFile?: string;
  /** openssl -subj form, e.g. `/C=IN/O=Example/CN=www.example.com`; default empty subject. */
  subject?: string;
  /** subjectAltName entries in openssl form: `DNS:a.example`, `IP:192.0.2.1`, `email:x@y`, `URI:…`. */
  sans?: string[];
  /** A PKCS#9 challengePassword attribute (SCEP/EST style); needs a non-empty `subject`. */
  challengePassword?: string;
  dir?: string;
}

export interface Csr {
  /** DER CertificationRequest. */
  der: Buffer;
  csrFile: string;
  /** PEM PKCS#8 private key file. */
  keyFile: string;
  keyPem: string;
  dir: string;
}

/** A CSR made by `openssl req` (real key, real signature). */
export function makeCsr(o: CsrOptions = {}): Csr {
  const dir = o.dir ?? tempDir('certgate-csr-');
  const n = createHash('sha1').update(String(Math.random())).digest('hex').slice(0, 8);
  const csrFile = join(dir, `req-${n}.der`);
  const keyFile = o.keyFile ?? join(dir, `key-${n}.pem`);
  const args = ['req', '-new', '-outform', 'DER', '-out', csrFile];
  if (o.challengePassword !== undefined) {
    // openssl only writes request attributes from a config file, and then takes the subject from it too.
    const fields = (o.subject ?? '').split('/').filter(Boolean);
    if (fields.length === 0) throw new Error('makeCsr: a challengePassword needs a subject');
    const cnf = join(dir, `req-${n}.cnf`);
    writeFileSync(
      cnf,
      ['[req]', 'distinguished_name = dn', 'attributes = attrs', 'prompt = no', '[dn]', ...fields.map((f) => f.replace('=', ' = ')), '[attrs]', `challengePassword = ${o.challengePassword}`, ''].join('\n'),
    );
    args.push('-config', cnf);
  } else {
    args.push('-subj', o.subject ?? '/');
  }
  if (o.keyFile) args.push('-key', o.keyFile);
  else args.push(...newkey[o.keyType ?? 'ec-p256'], '-nodes', '-keyout', keyFile);
  if (o.sans?.length) args.push('-addext', `subjectAltName=${o.sans.join(',')}`);
  opensslOk(args);
  return { der: readFileSync(csrFile), csrFile, keyFile, keyPem: readFileSync(keyFile, 'utf8'), dir };
}

/** `openssl x509 -noout -text` of a DER certificate. */
export function x509Text(der: Uint8Array): string {
  return opensslOk(['x509', '-inform', 'DER', '-noout', '-text'], { input: der });
}

/** `openssl crl -inform DER -noout -text` of a DER CRL. */
export function crlText(der: Uint8Array): string {
  return opensslOk(['crl', '-inform', 'DER', '-noout', '-text'], { input: der });
}

/** Serial numbers listed in `openssl crl -text` output, as lower-case hex. */
export function crlSerialsFromText(text: string): string[] {
  return [...text.matchAll(/Serial Number:\s*([0-9A-Fa-f]+)/g)].map((m) => m[1].toLowerCase());
}
