/**
 * The `certgate` binary as an operator runs it: real processes on a PGlite data directory,
 * first in-process (no server), then through a running `certgate serve` (PGlite lets one
 * process open the directory, so the CLI must go through the server's admin API), then
 * in-process again after the server stopped on SIGTERM.
 */
import { runCertgate } from '../support/cli.ts';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/certgate.mjs');
const jwt = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;
let dataDir: string;
let env: NodeJS.ProcessEnv;

function certgate(args: string[], input?: string): Promise<Run> {
  return runCertgate(args, env, input);
}

/** stderr without the server's JSON log lines (warnings from protocols starting up): the CLI's own diagnostics. */
function diagnostics(r: Run): string {
  return r.stderr
    .split('\n')
    .filter((l) => !l.startsWith('{"level":'))
    .join('\n');
}

function csrFile(cn: string): string {
  const base = join(dir, cn.replace(/[^a-z0-9]/gi, '_'));
  execFileSync(
    'openssl',
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`],
    { stdio: 'pipe' },
  );
  return `${base}.csr`;
}

/** `openssl x509` parses it; returns its serial in lower-case hex. */
function x509Serial(pem: string): string {
  const f = join(dir, `cert-${Date.now()}-${Math.random()}.pem`);
  writeFileSync(f, pem);
  return execFileSync('openssl', ['x509', '-in', f, '-noout', '-serial'], { stdio: 'pipe' }).toString().trim().replace(/^serial=/, '').toLowerCase();
}

function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-cli-'));
  dataDir = join(dir, 'data');
  const { DATABASE_URL: _pg, ...rest } = process.env;
  env = {
    ...rest,
    CERTGATE_DATA_DIR: dataDir,
    CERTGATE_LOG_LEVEL: 'warn',
    CERTGATE_HOST: '127.0.0.1',
    CERTGATE_HTTP_PORT: '0',
    CERTGATE_HTTPS_PORT: '0',
  };
  writeFileSync(
    join(dir, 'manual.json'),
    JSON.stringify({ name: 'cli-manual', manualApproval: true, san: { dns: { allowed: true } }, extendedKeyUsage: ['serverAuth'], subject: { attributes: [{ type: 'CN', rule: 'optional' }] } }),
  );
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ name: 'cli-bad', validity: { max: -1 } }));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The same operator workflow, whichever way the CLI reaches the data. */
function workflow(label: string) {
  const state: { serial?: string; requestId?: string } = {};

  it(`${label}: token create prints only a JWT`, async () => {
    const r = await certgate(['token', 'create', '--role', 'auditor']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stdout.split('\n')).toHaveLength(2);
    const token = r.stdout.trim();
    expect(token).toMatch(jwt);
    expect(jwtPayload(token)).toMatchObject({ role: 'auditor', aud: 'certgate-admin' });
  });

  it(`${label}: cert issue prints a PEM certificate that openssl parses`, async () => {
    const r = await certgate(['cert', 'issue', '--csr', csrFile(`${label}.cli.example`), '--profile', 'tls-server', '--validity', '30:0:0:0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    expect(r.stdout.match(/BEGIN/g)).toHaveLength(1);
    state.serial = x509Serial(r.stdout);
    expect(state.serial).toMatch(/^[0-9a-f]+$/);
  });

  it(`${label}: cert revoke, then the certificate lists as revoked`, async () => {
    const r = await certgate(['cert', 'revoke', '--serial', state.serial!.toUpperCase(), '--reason', 'superseded']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`revoked dev-issuing:${state.serial}`);
    const list = await certgate(['cert', 'list', '--status', 'revoked', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const found = JSON.parse(list.stdout).items.find((c: any) => c.serial === state.serial);
    expect(found).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });
    const again = await certgate(['cert', 'revoke', '--serial', state.serial!]);
    expect(again.code).toBe(2);
    expect(again.stdout).toBe('');
    expect(diagnostics(again)).toBe(`certgate: certificate ${state.serial} is already revoked\n`);
  });

  it(`${label}: a pending issuance prints the request id on stderr and exits 3; request list shows it`, async () => {
    const r = await certgate(['cert', 'issue', '--csr', csrFile(`${label}.held.example`), '--profile', 'cli-manual']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    const id = /^certgate: request ([0-9a-f-]{36}) is pending/m.exec(diagnostics(r))?.[1];
    expect(id, r.stderr).toBeDefined();
    state.requestId = id;
    const list = await certgate(['request', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+STATUS\s+PROFILE/);
    expect(list.stdout).toContain(id);
    const approve = await certgate(['request', 'approve', id!]);
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toContain(`approved ${id}`);
    const issued = await certgate(['request', 'list', '--status', 'issued', '--json']);
    expect(JSON.parse(issued.stdout).map((x: any) => x.id)).toContain(id);
  });
}

describe('certgate CLI (PGlite)', { timeout: 240_000 }, () => {
  it('init creates the data directory (no other command but serve does)', async () => {
    const r = await certgate(['init']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`initialised ${dataDir}: PGlite in ${join(dataDir, 'db')}, key-encryption key, CA hierarchy, built-in profiles\n`);
    const again = await certgate(['init']);
    expect(again.stdout).toMatch(/is already initialised/);
  });

  it('profile add: a valid file is stored; a bad one is a client error (exit 2) naming the field', async () => {
    const ok = await certgate(['profile', 'add', '--file', join(dir, 'manual.json')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('added profile cli-manual\n');
    const bad = await certgate(['profile', 'add', '--file', join(dir, 'bad.json')]);
    expect(bad.code).toBe(2);
    expect(diagnostics(bad)).toMatch(/^certgate: invalid profile: validity\.max/);
    const missing = await certgate(['profile', 'add', '--file', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(diagnostics(missing)).toMatch(/^certgate: .*nope\.json/);
    const usage = await certgate(['cert', 'issue', '--profile', 'tls-server']);
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');
    expect(usage.stderr).toContain("required option '--csr <file>'");
    const show = await certgate(['profile', 'show', 'cli-manual']);
    expect(JSON.parse(show.stdout)).toMatchObject({ name: 'cli-manual', manualApproval: true });
  });

  workflow('local');

  it('local: issuer list, crl generate for every issuer, operator list', async () => {
    const issuers = await certgate(['issuer', 'list']);
    expect(issuers.code, issuers.stderr).toBe(0);
    expect(issuers.stdout).toMatch(/dev-root/);
    expect(issuers.stdout).toMatch(/dev-issuing .*yes/);
    const crl = await certgate(['crl', 'generate', '--json']);
    expect(crl.code, crl.stderr).toBe(0);
    expect(JSON.parse(crl.stdout).map((c: any) => c.issuerId).sort()).toEqual(['dev-issuing', 'dev-root']);
    expect(JSON.parse(crl.stdout).find((c: any) => c.issuerId === 'dev-issuing').entries).toBeGreaterThanOrEqual(1);
    const ops = await certgate(['operator', 'list']);
    expect(ops.stdout).toMatch(/cli-auditor-[0-9a-f]{8}\s+auditor/);
  });

  describe('with a server running on the same data directory', () => {
    let server: ChildProcess;
    let serverOut = '';
    let exited: Promise<number | null>;
    let info: { url: string; token: string; pid: number };

    beforeAll(async () => {
      server = spawn(process.execPath, [bin, 'serve', '--no-https'], { cwd: root, env: { ...env, CERTGATE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
      server.stdout!.on('data', (d) => (serverOut += d));
      server.stderr!.on('data', (d) => (serverOut += d));
      exited = new Promise((r) => server.on('exit', (code) => r(code)));
      const file = join(dataDir, 'server.json');
      const deadline = Date.now() + 150_000;
      for (;;) {
        if (existsSync(file)) {
          try {
            info = JSON.parse(readFileSync(file, 'utf8'));
            if (info.pid === server.pid && (await fetch(`${info.url}/healthz`)).ok) break;
          } catch {
            /* being written */
          }
        }
        if (server.exitCode !== null) throw new Error(`server exited early:\n${serverOut}`);
        if (Date.now() > deadline) throw new Error(`server did not start:\n${serverOut}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }, 180_000);

    afterAll(async () => {
      if (server && server.exitCode === null) {
        server.kill('SIGKILL');
        await exited;
      }
    });

    it('the server keeps its handle 0600 in the data directory', () => {
      const mode = (statSync(join(dataDir, 'server.json')).mode & 0o777).toString(8);
      expect(mode).toBe('600');
      expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    });

    workflow('remote');

    it('remote: the commands went through the server (its log shows the admin calls; it sees their data)', async () => {
      expect(serverOut).toContain('"path":"/api/v1/tokens"');
      expect(serverOut).toContain('"path":"/api/v1/certificates"');
      expect(serverOut).toMatch(/"path":"\/api\/v1\/certificates\/[0-9a-f]+\/revoke"/);
      const token = (await certgate(['token', 'create', '--role', 'auditor', '--name', 'remote-check', '--ttl', '600'])).stdout.trim();
      const res = await fetch(`${info.url}/api/v1/certificates?status=revoked`, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: { serial: string }[] };
      expect(body.items.length).toBeGreaterThanOrEqual(2);
    });

    it('SIGTERM stops the server with exit code 0 and removes its handle', async () => {
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(join(dataDir, 'server.json'))).toBe(false);
    }, 60_000);
  });

  it('after the server stopped, the CLI opens the data itself and sees everything', async () => {
    const r = await certgate(['cert', 'list', '--status', 'revoked', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).total).toBe(2);
    const audit = await certgate(['audit', '--action', 'certificate.revoke', '--json']);
    expect(JSON.parse(audit.stdout)).toHaveLength(2);
    expect(audit.stdout).not.toMatch(/eyJ[A-Za-z0-9_-]+\./);
  });
});
