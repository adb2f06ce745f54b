/**
 * Two Certgate server processes on one PostgreSQL (DESIGN.md "Storage": coordination goes
 * through the database, never through process memory). Both are real `certgate serve` child
 * processes with their own data directory and the same key-encryption key; the test issues,
 * revokes and regenerates CRLs through both admin APIs at once, then checks serial uniqueness,
 * CRL numbering, and that every revocation is in every CRL numbered after it returned.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCrl } from '../../src/pki/crl.ts';
import { makeTestEnv, type TestEnv } from '../support/context.ts';
import { makeCsr, openssl, removeTempDirs, tempDir, writeDer, writePem } from '../support/openssl.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ISSUER = 'dev-issuing';
const ISSUE = 100;
const REVOKE = 30;

interface Instance {
  name: string;
  child: ChildProcess;
  dataDir: string;
  url: string;
  token: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startInstance(name: string, dataDir: string, env: Record<string, string>): Omit<Instance, 'url' | 'token'> {
  const child = spawn(process.execPath, [join(repo, 'bin/certgate.mjs'), 'serve', '--no-https'], {
    cwd: repo,
    env: {
      ...process.env,
      ...env,
      CERTGATE_DATA_DIR: dataDir,
      CERTGATE_HTTP_PORT: '0',
      CERTGATE_HOST: '127.0.0.1',
      CERTGATE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { name, child, dataDir, output: () => out, exited };
}

/** Waits until the process wrote server.json and answers /readyz; fails at once if it exits. */
async function ready(i: Omit<Instance, 'url' | 'token'>): Promise<Instance> {
  let exit: { code: number | null } | undefined;
  void i.exited.then((e) => (exit = e));
  const file = join(i.dataDir, 'server.json');
  for (let n = 0; n < 1200; n++) {
    if (exit) throw new Error(`${i.name} exited (${exit.code}) before it was ready:\n${i.output()}`);
    if (existsSync(file)) {
      try {
        const info = JSON.parse(readFileSync(file, 'utf8')) as { url: string; token: string; pid: number };
        if (info.pid === i.child.pid) {
          const r = await get(`${info.url}/readyz`);
          if (r.status === 200) return { ...i, url: info.url, token: info.token };
        }
      } catch {
        /* written but not complete yet, or not listening yet */
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${i.name} did not become ready:\n${i.output()}`);
}

/**
 * One admin API call on a connection of its own (no keep-alive): a pooled connection that the
 * server's keep-alive timer closes just as a request goes out would fail the request for a
 * reason that has nothing to do with Certgate.
 */
/** GET on a connection of its own. */
function get(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts) }));
    })
      .on('error', reject)
      .end();
  });
}

function api<T>(i: Instance, method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${i.url}/api/v1${path}`,
      {
        method,
        agent: false,
        headers: {
          authorization: `Bearer ${i.token}`,
          'content-type': 'application/json',
          connection: 'close',
          ...(payload ? { 'content-length': String(payload.length) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode!, json: JSON.parse(text) as T });
          } catch {
            reject(new Error(`${i.name} ${method} ${path}: ${res.statusCode} ${text}`));
          }
        });
      },
    );
    req.on('error', (e) => {
      const state = i.child.exitCode !== null || i.child.signalCode !== null ? `exited ${i.child.exitCode ?? i.child.signalCode}` : 'running';
      reject(new Error(`${i.name} ${method} ${path}: ${e.message}; process ${state}; output:\n${i.output().slice(-4000)}`));
    });
    req.end(payload);
  });
}

describe.skipIf(!process.env.DATABASE_URL)('two server processes on one PostgreSQL (needs DATABASE_URL)', () => {
  let env: TestEnv | undefined;
  const instances: Omit<Instance, 'url' | 'token'>[] = [];

  afterAll(async () => {
    for (const i of instances) {
      if (i.child.exitCode === null && i.child.signalCode === null) {
        i.child.kill('SIGKILL');
        await i.exited;
      }
    }
    await env?.cleanup();
    removeTempDirs();
  });

  it('issue, revoke and publish CRLs through both at once', { timeout: 240_000 }, async () => {
    env = await makeTestEnv('postgres');
    const kek = randomBytes(32).toString('base64');
    const shared = { DATABASE_URL: env.databaseUrl!, CERTGATE_KEK: kek };
    // Started together: migrations and the CA bootstrap race through advisory locks.
    const a0 = startInstance('A', env.dataDir, shared);
    const b0 = startInstance('B', tempDir('certgate-instance-b-'), shared);
    instances.push(a0, b0);
    const [a, b] = await Promise.all([ready(a0), ready(b0)]);
    const both = [a, b];

    // One hierarchy, seen by both.
    const fp = await Promise.all(both.map((i) => api<{ fingerprintSha256: string }>(i, 'GET', `/issuers/${ISSUER}`)));
    expect(fp[0].json.fingerprintSha256).toBe(fp[1].json.fingerprintSha256);

    const csrs = Array.from({ length: ISSUE }, (_, n) => makeCsr({ subject: `/CN=mp${n}.example.com`, sans: [`DNS:mp${n}.example.com`] }));
    const issue = async (n: number) => {
      const via = both[n % 2];
      const r = await api<{ status: string; certificate: { serial: string } }>(via, 'POST', '/certificates', {
        csr: csrs[n].der.toString('base64'),
        profile: 'tls-server',
        idempotencyKey: `mp-${n}`,
      });
      expect(r.status, `${via.name} issue ${n}: ${JSON.stringify(r.json)}`).toBe(201);
      return r.json.certificate.serial;
    };

    // Phase 1: the first 60 certificates, through both at once.
    const first = await Promise.all(Array.from({ length: 60 }, (_, n) => issue(n)));

    // Phase 2: the other 40, 30 revocations and CRL generations, all interleaved across both.
    const sql = postgres(env.databaseUrl!, { max: 4, onnotice: () => {} });
    try {
      /** The highest CRL number handed out so far, waiting for a CRL transaction that holds the row. */
      const watermark = async () => {
        const [row] = await sql`select crl_number from issuers where id = ${ISSUER} for update`;
        return Number(row.crl_number);
      };
      const revoked: { serial: string; after: number }[] = [];
      const revoke = async (k: number) => {
        const serial = first[k * 2];
        const via = both[k % 2];
        const r = await api<{ status: string; serial: string }>(via, 'POST', `/certificates/${serial}/revoke`, { reason: 'keyCompromise' });
        expect(r.status, `${via.name} revoke ${serial}: ${JSON.stringify(r.json)}`).toBe(200);
        expect(r.json.status).toBe('revoked');
        revoked.push({ serial, after: await watermark() });
      };
      const generated: number[] = [];
      const generate = async (k: number) => {
        const r = await api<{ number: number }>(both[k % 2], 'POST', `/crl/${ISSUER}/generate`);
        expect(r.status).toBe(200);
        generated.push(r.json.number);
      };
      const work: Promise<unknown>[] = [];
      for (let k = 0; k < REVOKE; k++) work.push(revoke(k));
      for (let n = 60; n < ISSUE; n++) work.push(issue(n));
      for (let k = 0; k < 16; k++) work.push(generate(k));
      const results = await Promise.all(work);
      const serials = [...first, ...(results.slice(REVOKE, REVOKE + ISSUE - 60) as string[])];

      // No duplicate serials: in what the clients got, and in the table.
      expect(serials).toHaveLength(ISSUE);
      expect(new Set(serials).size).toBe(ISSUE);
      const dupRows = await sql`select issuer_id, serial, count(*) from certificates group by 1, 2 having count(*) > 1`;
      expect(dupRows).toHaveLength(0);
      const [{ n: stored }] = await sql`select count(*)::int as n from certificates where idempotency_key like ${'admin:%:mp-%'}`;
      expect(stored).toBe(ISSUE);
      // Concurrent generate calls in one process may share one CRL (CrlPublisher coalesces them).
      expect(generated).toHaveLength(16);

      // CRL numbers per issuer: strictly increasing in creation order, no duplicates, matching the DER.
      const rows = await sql`select id, issuer_id, number, der from crls where partition = 0 and base_number is null order by id`;
      const byIssuer = new Map<string, { number: number; der: Buffer }[]>();
      for (const r of rows) {
        const list = byIssuer.get(r.issuer_id) ?? [];
        list.push({ number: Number(r.number), der: Buffer.from(r.der) });
        byIssuer.set(r.issuer_id, list);
      }
      expect([...byIssuer.keys()]).toContain(ISSUER);
      for (const n of generated) expect(byIssuer.get(ISSUER)!.map((c) => c.number)).toContain(n);
      for (const [issuer, list] of byIssuer) {
        const numbers = list.map((c) => c.number);
        expect(new Set(numbers).size, `${issuer}: duplicate CRL numbers`).toBe(numbers.length);
        for (let i = 1; i < numbers.length; i++) expect(numbers[i], `${issuer}: CRL numbers out of order: ${numbers.join(',')}`).toBeGreaterThan(numbers[i - 1]);
        for (const c of list) expect(parseCrl(c.der).number).toBe(BigInt(c.number));
      }

      // Every revocation is in every CRL whose number was handed out after the revocation returned.
      const issuing = byIssuer.get(ISSUER)!;
      const entries = issuing.map((c) => ({ number: c.number, serials: new Set(parseCrl(c.der).entries.map((e) => e.serialHex)) }));
      expect(revoked).toHaveLength(REVOKE);
      for (const r of revoked) {
        const later = entries.filter((e) => e.number > r.after);
        for (const e of later) expect(e.serials.has(r.serial), `CRL ${e.number} lacks ${r.serial} (revoked before CRL ${r.after + 1})`).toBe(true);
        // And the CRL the revoking instance made for it (number ≤ watermark) has it too.
        expect(entries.some((e) => e.number <= r.after && e.serials.has(r.serial)), `no CRL up to ${r.after} lists ${r.serial}`).toBe(true);
      }

      // The published CRL, from either process, lists all 30 and verifies under the issuing CA.
      const dir = tempDir();
      const caFile = writePem(dir, 'issuing.pem', (await get(`${a.url}/ca/${ISSUER}.crt`)).body);
      for (const i of both) {
        const r = await get(`${i.url}/crl/${ISSUER}.crl`);
        expect(r.status).toBe(200);
        const der = r.body;
        const listed = new Set(parseCrl(der).entries.map((e) => e.serialHex));
        for (const x of revoked) expect(listed.has(x.serial), `${i.name}'s CRL lacks ${x.serial}`).toBe(true);
        expect(listed.size).toBe(REVOKE);
        const v = openssl(['crl', '-inform', 'DER', '-in', writeDer(dir, `${i.name}.crl`, der), '-CAfile', caFile, '-noout']);
        expect(v.output).toMatch(/verify OK/);
      }
    } finally {
      await sql.end();
    }

    // Both stop cleanly on SIGTERM.
    for (const i of both) i.child.kill('SIGTERM');
    const exits = await Promise.all(both.map((i) => i.exited));
    for (const [n, e] of exits.entries()) expect(e, `${both[n].name}:\n${both[n].output()}`).toEqual({ code: 0, signal: null });
    for (const i of both) expect(existsSync(join(i.dataDir, 'server.json'))).toBe(false);
  });
});
