/**
 * `certgate backup …` as an operator runs it: real processes on a real data directory (and a
 * fresh PostgreSQL database with the postgres driver) — create in-process and through a running
 * server, verify, refuse a wrong passphrase and a changed byte with their exit codes, restore into
 * an empty target, refuse a full one.
 */
import { runCertgate } from '../support/cli.ts';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers, makeTestEnv, type TestEnv } from '../support/context.ts';
import { workDir } from './helpers.ts';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/certgate.mjs');
const w = workDir();
afterAll(() => w.done());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function certgate(env: TestEnv, args: string[]): Promise<Run> {
  const { DATABASE_URL: _pg, ...rest } = process.env;
  const e = { ...rest, CERTGATE_DATA_DIR: env.dataDir, CERTGATE_LOG_LEVEL: 'warn', CERTGATE_HOST: '127.0.0.1', CERTGATE_HTTP_PORT: '0', CERTGATE_HTTPS_PORT: '0', ...(env.databaseUrl ? { DATABASE_URL: env.databaseUrl } : {}) };
  return runCertgate(args, e, undefined, w.dir);
}

async function serve(env: TestEnv): Promise<{ child: ChildProcess; log: () => string }> {
  const { DATABASE_URL: _pg, ...rest } = process.env;
  const e = { ...rest, CERTGATE_DATA_DIR: env.dataDir, CERTGATE_LOG_LEVEL: 'info', CERTGATE_HOST: '127.0.0.1', CERTGATE_HTTP_PORT: '0', CERTGATE_HTTPS_PORT: '0', ...(env.databaseUrl ? { DATABASE_URL: env.databaseUrl } : {}) };
  const child = spawn(process.execPath, [bin, 'serve'], { cwd: w.dir, env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const file = join(env.dataDir, 'server.json');
  const deadline = Date.now() + 150_000;
  for (;;) {
    if (existsSync(file)) {
      try {
        const info = JSON.parse(readFileSync(file, 'utf8'));
        if (info.pid === child.pid && (await fetch(`${info.url}/healthz`)).ok) break;
      } catch {
        /* being written */
      }
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, log: () => out };
}

describe.each(drivers)('certgate backup (%s)', (driver) => {
  let src: TestEnv;
  let dst: TestEnv;
  let serial: string;
  const pass = join(w.dir, `${driver}.pass`);
  const archive = join(w.dir, `${driver}-served.cgbk`);

  beforeAll(async () => {
    src = await makeTestEnv(driver);
    dst = await makeTestEnv(driver);
    writeFileSync(pass, 'a passphrase long enough\n');
  });
  afterAll(async () => {
    await src?.cleanup();
    await dst?.cleanup();
  });

  it('creates an archive in-process (no server), with some history in it', async () => {
    expect((await certgate(src, ['init'])).code).toBe(0);
    const key = join(w.dir, `${driver}.key`);
    const csr = join(w.dir, `${driver}.csr`);
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=backup.cli.example', '-addext', 'subjectAltName=DNS:backup.cli.example'], { stdio: 'pipe' });
    const issued = await certgate(src, ['cert', 'issue', '--csr', csr, '--profile', 'tls-server']);
    expect(issued.code, issued.stderr).toBe(0);
    writeFileSync(join(w.dir, `${driver}.pem`), issued.stdout);
    serial = execFileSync('openssl', ['x509', '-in', join(w.dir, `${driver}.pem`), '-noout', '-serial']).toString().trim().replace(/^serial=/, '').toLowerCase();
    expect((await certgate(src, ['cert', 'revoke', '--serial', serial, '--reason', 'keyCompromise'])).code).toBe(0);
    const r = await certgate(src, ['backup', 'create', '--out', `${driver}-local.cgbk`, '--passphrase-file', pass]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^wrote ${driver}-local\\.cgbk \\(\\d+ bytes, \\d+ rows in \\d+ tables, verified\\)\\n$`));
  }, 240_000);

  it('creates an archive through a running server (POST /api/v1/backups)', async () => {
    const s = await serve(src);
    try {
      const r = await certgate(src, ['backup', 'create', '--out', archive, '--passphrase-file', pass, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.manifest.tables.find((t: { name: string }) => t.name === 'certificates').rows).toBeGreaterThanOrEqual(2);
      expect(s.log()).toMatch(/"method":"POST","path":"\/api\/v1\/backups"/);
      expect(existsSync(`${archive}.partial`)).toBe(false);
    } finally {
      s.child.kill('SIGTERM');
      await new Promise((r) => s.child.once('exit', r));
    }
  }, 240_000);

  it('verifies; refuses a wrong passphrase (exit 2), a changed byte (exit 1), no secret (exit 2)', async () => {
    const ok = await certgate(src, ['backup', 'verify', archive, '--passphrase-file', pass]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/: OK — made .* on (pglite|postgres), \d+ rows in \d+ tables, \d+ sequences, 3 files, key-encryption key included/);
    expect(ok.stdout).toMatch(/^certificates\s+\d+\s+[0-9a-f]{64}$/m);
    const wrong = join(w.dir, 'wrong.pass');
    writeFileSync(wrong, 'a passphrase, but not that one');
    const bad = await certgate(src, ['backup', 'verify', archive, '--passphrase-file', wrong]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('certgate: wrong passphrase for this backup archive (or its header was altered)\n');
    const bytes = readFileSync(archive);
    bytes[bytes.length - 100] ^= 0x20;
    const tampered = join(w.dir, `${driver}-tampered.cgbk`);
    writeFileSync(tampered, bytes);
    const t = await certgate(src, ['backup', 'verify', tampered, '--passphrase-file', pass]);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/^certgate: the backup archive failed its integrity check: chunk \d+ does not authenticate/);
    const none = await certgate(src, ['backup', 'verify', archive]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no backup secret/);
  }, 240_000);

  it('restores into an empty target, which then holds the same CA and data; refuses a full one', async () => {
    const r = await certgate(dst, ['backup', 'restore', archive, '--passphrase-file', pass]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^restored \d+ rows in \d+ tables/);
    expect(readFileSync(join(dst.dataDir, 'root.pem'), 'utf8')).toBe(readFileSync(join(src.dataDir, 'root.pem'), 'utf8'));
    expect(readFileSync(join(dst.dataDir, 'kek'), 'utf8')).toBe(readFileSync(join(src.dataDir, 'kek'), 'utf8'));
    const list = await certgate(dst, ['cert', 'list', '--status', 'revoked', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).items.map((c: { serial: string }) => c.serial)).toContain(serial);
    const again = await certgate(dst, ['backup', 'restore', archive, '--passphrase-file', pass]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^certgate: refusing to restore into .*: the data directory is not empty/);
  }, 240_000);
});
