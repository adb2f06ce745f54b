/**
 * A PostgreSQL outage, on a throw-away cluster this test starts (initdb/pg_ctl on a free port of
 * 19500-19599; never the shared one), with every protocol mounted on a real listener. While the
 * cluster is stopped:
 * - a valid admin token gets 503 (never 401: a database error is not bad credentials);
 * - /readyz answers 503 within 2 s;
 * - every request needing the database fails fast with 503 in its protocol's own form: admin API
 *   JSON, ACME `serverInternal` problem + Retry-After, emCA failure JSON + Retry-After, OCSP
 *   `tryLater` for a cache miss while a cached answer keeps being served;
 * and when the cluster comes back the server recovers by itself. Timings are printed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protocols } from '../../protocols/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createLogger } from '../../src/log.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { AcmeClient, newKey } from '../acme/client.ts';
import { makeCsr } from '../support/openssl.ts';
import { postgresBinDir, startThrowawayCluster, type ThrowawayCluster } from '../support/throwaway-postgres.ts';

const FAST_MS = 2_000;

let cluster: ThrowawayCluster;
let dir: string;
let ctx: Context;
let server: RunningServer;
let token: string;
let acme: AcmeClient;
const ocspReq: Record<'cached' | 'miss', Buffer> = {} as never;
const timings: Record<string, number> = {};

async function timed(label: string, f: () => Promise<Response>): Promise<{ res: Response; body: Buffer; ms: number }> {
  const t = performance.now();
  const res = await f();
  const body = Buffer.from(await res.arrayBuffer());
  const ms = Math.round(performance.now() - t);
  timings[label] = ms;
  return { res, body, ms };
}

function admin(path: string, init: RequestInit = {}) {
  return fetch(`${server.httpUrl}/api/v1${path}`, { ...init, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...init.headers } });
}

function ocsp(der: Buffer) {
  return fetch(`${server.httpUrl}/ocsp`, { method: 'POST', headers: { 'Content-Type': 'application/ocsp-request' }, body: der });
}

/** `openssl ocsp -respin` on a response: its status line ("successful", "tryLater"…) and cert status. */
function ocspText(der: Buffer): string {
  const f = join(dir, `resp-${Math.random()}.der`);
  writeFileSync(f, der);
  // A non-successful response makes openssl exit 1 after printing "Responder Error: …".
  const r = spawnSync('openssl', ['ocsp', '-respin', f, '-resp_text', '-noverify'], { encoding: 'utf8' });
  return r.stdout + r.stderr;
}

async function issue(cn: string): Promise<string> {
  const csr = makeCsr({ subject: `/CN=${cn}`, sans: [`DNS:${cn}`] });
  const r = await admin('/certificates', { method: 'POST', body: JSON.stringify({ csr: csr.der.toString('base64'), profile: 'tls-server' }) });
  expect(r.status).toBe(201);
  return ((await r.json()) as { certificate: { pem: string } }).certificate.pem;
}

describe.skipIf(!postgresBinDir())('database outage (throw-away PostgreSQL cluster)', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    cluster = await startThrowawayCluster();
    const a = postgres(cluster.url, { max: 1, onnotice: () => {} });
    await a.unsafe('create database certgate_outage');
    await a.end();
    dir = mkdtempSync(join(tmpdir(), 'certgate-outage-'));
    const config = loadConfig(
      {},
      { dataDir: dir, databaseUrl: cluster.url.replace(/\/postgres$/, '/certgate_outage'), httpPort: 0, host: '127.0.0.1', logLevel: 'silent', metricsEnabled: false },
    );
    ctx = await createContext(config, { logger: createLogger('silent') });
    server = await startServer(ctx, protocols, { https: false });
    token = await ctx.tokens.issue(await ctx.tokens.ensureOperator('outage-admin', 'administrator'), 3600);
    acme = await new AcmeClient(`${server.httpUrl}/acme/directory`, await newKey()).init();
    expect((await acme.newAccount()).status).toBe(201);

    // Two certificates: one whose OCSP answer gets cached before the outage, one never asked about.
    const issuerPem = await (await fetch(`${server.httpUrl}/ca/dev-issuing.pem`)).text();
    writeFileSync(join(dir, 'issuer.pem'), issuerPem.slice(0, issuerPem.indexOf('-----END CERTIFICATE-----') + 25) + '\n');
    writeFileSync(join(dir, 'cached.pem'), await issue('cached.outage.example'));
    const request = (name: string, what: string[]) => {
      execFileSync('openssl', ['ocsp', '-issuer', join(dir, 'issuer.pem'), ...what, '-no_nonce', '-reqout', join(dir, `${name}.req`)], { stdio: 'pipe' });
      return readFileSync(join(dir, `${name}.req`));
    };
    ocspReq.cached = request('cached', ['-cert', join(dir, 'cached.pem')]);
    // A serial the responder has never seen (new certificates are pre-signed into the cache).
    ocspReq.miss = request('miss', ['-serial', `0x${randomBytes(12).toString('hex')}`]);
    const warm = await ocsp(ocspReq.cached);
    expect(ocspText(Buffer.from(await warm.arrayBuffer()))).toMatch(/Cert Status: good/);
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await ctx?.close().catch(() => {});
    cluster?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log('outage timings (ms):', JSON.stringify(timings));
  });

  it('the cluster stops: /readyz 503 within 2 s', async () => {
    const t = performance.now();
    cluster.stop();
    timings['pg_ctl stop'] = Math.round(performance.now() - t);
    const { res, ms } = await timed('readyz (down)', () => fetch(`${server.httpUrl}/readyz`));
    expect(res.status).toBe(503);
    expect(ms).toBeLessThan(FAST_MS);
  });

  it('a valid admin token gets 503 JSON with Retry-After, not 401', async () => {
    for (const path of ['/issuers', '/certificates', '/operators']) {
      const { res, body, ms } = await timed(`admin ${path} (down)`, () => admin(path));
      expect(res.status, body.toString()).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(JSON.parse(body.toString())).toMatchObject({ error: 'Unavailable' });
      expect(ms).toBeLessThan(FAST_MS);
    }
    // A bad token is still refused for what it is (no database needed to see a bad signature).
    const bad = await fetch(`${server.httpUrl}/api/v1/issuers`, { headers: { Authorization: 'Bearer x.y.z' } });
    expect(bad.status).toBe(401);
  });

  it('ACME: serverInternal problem, 503, Retry-After', async () => {
    const t = performance.now();
    const r = await acme.newOrder([{ type: 'dns', value: 'down.outage.example' }]);
    timings['acme newOrder (down)'] = Math.round(performance.now() - t);
    expect(r.status, r.text).toBe(503);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(r.json.type).toBe('urn:ietf:params:acme:error:serverInternal');
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(timings['acme newOrder (down)']).toBeLessThan(FAST_MS);
  });

  it('emCA V5: failure JSON, 503, Retry-After', async () => {
    const { res, body, ms } = await timed('emca v5 token (down)', () =>
      fetch(`${server.httpUrl}/emca/v5/auth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'app', password: 'secret-password', clientId: 'app', validityInMins: 5 }),
      }),
    );
    expect(res.status, body.toString()).toBe(503);
    expect(JSON.parse(body.toString())).toMatchObject({ status: 'failure' });
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(ms).toBeLessThan(FAST_MS);
  });

  it('OCSP: the cached answer is still served; a cache miss gets tryLater', async () => {
    const hit = await timed('ocsp cached (down)', () => ocsp(ocspReq.cached));
    expect(hit.res.status).toBe(200);
    expect(ocspText(hit.body)).toMatch(/OCSP Response Status: successful[\s\S]*Cert Status: good/);
    const miss = await timed('ocsp miss (down)', () => ocsp(ocspReq.miss));
    expect(miss.res.status).toBe(200);
    expect(ocspText(miss.body)).toMatch(/Responder Error: trylater \(3\)/);
    expect(miss.ms).toBeLessThan(FAST_MS);
  });

  it('a sustained outage stays fast: the pool does not back off into multi-second waits', async () => {
    // postgres.js's default reconnect backoff grows to 20 s; each request would wait for it.
    let worst = 0;
    const t = performance.now();
    for (let i = 0; i < 25; i++) {
      const { res, ms } = await timed('admin (sustained)', () => admin('/certificates'));
      expect(res.status).toBe(503);
      worst = Math.max(worst, ms);
      await new Promise((r) => setTimeout(r, 100));
    }
    timings['worst of 25 admin calls over the outage'] = worst;
    timings['sustained outage span'] = Math.round(performance.now() - t);
    expect(worst).toBeLessThan(FAST_MS);
  });

  it('the cluster comes back: the server recovers by itself', async () => {
    const t0 = performance.now();
    cluster.start();
    timings['pg_ctl start'] = Math.round(performance.now() - t0);
    const t = performance.now();
    for (;;) {
      const r = await fetch(`${server.httpUrl}/readyz`);
      if (r.status === 200) break;
      if (performance.now() - t > 30_000) throw new Error('not ready 30 s after the database returned');
      await new Promise((res) => setTimeout(res, 100));
    }
    timings['ready again after pg_ctl start'] = Math.round(performance.now() - t);
    expect(timings['ready again after pg_ctl start']).toBeLessThan(5_000);
    expect((await admin('/issuers')).status).toBe(200);
    expect((await acme.newOrder([{ type: 'dns', value: 'up.outage.example' }])).status).toBe(201);
    const miss = await ocsp(ocspReq.miss);
    expect(ocspText(Buffer.from(await miss.arrayBuffer()))).toMatch(/OCSP Response Status: successful[\s\S]*Cert Status: unknown/);
  });
});
