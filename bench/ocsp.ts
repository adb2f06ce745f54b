import { spawn, spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import pino from 'pino';
import { createOcspProtocol } from '../protocols/ocsp/index.ts';
import { ocspResponders } from '../protocols/ocsp/schema.ts';
import type { Issuer } from '../src/ca/issuer.ts';
import { unseal } from '../src/ca/seal.ts';
import { loadConfig } from '../src/config.ts';
import { createContext, type Context } from '../src/context.ts';
import { encodeCertId, encodeOcspRequest } from '../src/pki/ocsp-request.ts';
import { parseOcspResponse } from '../src/pki/ocsp-response.ts';
import { toPem } from '../src/pki/pem.ts';
import { startServer } from '../src/server.ts';
import { createProtocolContext } from '../src/protocol-context-impl.ts';
import { sealedKeys } from '../src/db/schema.ts';
import { fmt } from './support.ts';

/**
 * OCSP responses per second at concurrency 64 with wrk (a C load tool, one thread, so it leaves
 * the server its core): Certgate cached (pre-signed) and live-signed with a nonce, for a P-256
 * and an RSA-2048 issuer (each with a delegated responder of its own key type), beside
 * `openssl ocsp -index … -port …` (signs every answer) and `cfssl ocspserve` (pre-signed).
 * Bars: cached ≥ 30,000/s, live P-256 with nonce ≥ 8,000/s.
 */
export async function run(opts: { quick: boolean }): Promise<void> {
  const seconds = opts.quick ? 1 : 6;
  const certCount = opts.quick ? 30 : 200;
  console.log(`\n== OCSP responder: responses/s, wrk -t1 -c64 -d${seconds}s, ${certCount} certificates per issuer ==`);
  console.log('  bars: cached >= 30,000/s; live-signed P-256 with nonce >= 8,000/s (2 cores: wrk on one, the server on the other)');
  if (!has('wrk', ['-v'])) {
    console.log('  wrk is not installed (apt-get install -y wrk): OCSP benchmark skipped');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'certgate-ocsp-bench-'));
  const peers: { kill(): void }[] = [];
  let ctx: Context | undefined;
  let stop: (() => Promise<void>) | undefined;
  try {
    const config = loadConfig({}, { dataDir: dir, httpPort: 0, httpsPort: 0, host: '127.0.0.1', logLevel: 'info', metricsEnabled: false });
    // The default request log (info, one JSON line per request) goes to /dev/null, so its cost is measured.
    const logger = pino({ level: 'info', base: { service: 'certgate' } }, pino.destination({ dest: '/dev/null', sync: false }));
    ctx = await createContext(config, { logger });
    const ocsp = createOcspProtocol({ settings: { autoProvision: true, pollMs: 1000 } });
    await ctx.issuers.create({ id: 'bench-rsa', name: 'Bench RSA-2048 Issuing CA', key: { type: 'RSA', bits: 2048 }, parentId: 'dev-root', validityDays: 365, pathLength: 0 });
    const server = await startServer(ctx, [ocsp], { https: false });
    stop = async () => {
      await server.stop();
      await ocsp.stop?.();
    };
    const svc = ocsp.service(ctx)!;
    const url = server.httpUrl;

    const issuers = { p256: ctx.issuers.peek('dev-issuing')!, rsa: ctx.issuers.peek('bench-rsa')! };
    const serials: Record<string, string[]> = { p256: [], rsa: [] };
    for (const [k, issuer] of Object.entries(issuers)) {
      for (let i = 0; i < certCount; i++) serials[k].push(await issueLeaf(ctx, issuer.id, i));
    }
    const bodies = (k: 'p256' | 'rsa', nonce: boolean) =>
      serials[k].map((s) => encodeOcspRequest([certId(issuers[k], s)], nonce ? randomBytes(16) : undefined));

    const results: Record<string, number> = {};
    const loadavg = (await import('node:os')).loadavg;
    const measure = async (label: string, target: string, reqs: Buffer[], warm = true) => {
      if (warm) for (const b of reqs) await fetch(`${target}/ocsp`, { method: 'POST', body: b });
      const inProcess = target === url;
      const c0 = process.cpuUsage();
      const r = await wrk(`${target}/ocsp`, reqs, seconds, dir);
      const c = process.cpuUsage(c0);
      results[label] = r.rate;
      // Server CPU per response (this process): robust when other work shares the cores.
      const cpu = inProcess && r.requests ? (c.user + c.system) / r.requests : undefined;
      if (cpu) cpuPer[label] = cpu;
      console.log(
        `  ${label.padEnd(48)} ${fmt(r.rate).padStart(8)} responses/s` +
          (cpu ? `  (server CPU ${cpu.toFixed(1)} µs/response -> ${fmt(1e6 / cpu)}/s per core)` : '') +
          (r.errors ? `  (${r.errors} non-2xx)` : ''),
      );
      return r.rate;
    };
    const cpuPer: Record<string, number> = {};
    console.log(`  load average before: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (figures below are only comparable on an idle machine)`);

    const checkOne = async (target: string, body: Buffer, wantNonce: boolean) => {
      const res = Buffer.from(await (await fetch(`${target}/ocsp`, { method: 'POST', body })).arrayBuffer());
      const p = parseOcspResponse(res);
      if (p.status !== 'successful' || p.basic!.responses[0].status !== 'good' || (wantNonce && !p.basic!.nonce)) throw new Error(`unexpected OCSP answer from ${target}`);
    };
    await checkOne(url, bodies('p256', true)[0], true);
    await checkOne(url, bodies('rsa', false)[0], false);

    // JIT warm-up (discarded): the first seconds of a fresh process are slower.
    if (!opts.quick) {
      await wrk(`${url}/ocsp`, bodies('p256', false), 1, dir);
      await wrk(`${url}/ocsp`, bodies('p256', true), 1, dir);
    }
    {
      // The floor of this HTTP stack (Hono + @hono/node-server + the core's middleware): GET /healthz.
      const c0 = process.cpuUsage();
      const r = await wrkGet(`${url}/healthz`, seconds);
      const c = process.cpuUsage(c0);
      const cpu = (c.user + c.system) / Math.max(1, r.requests);
      cpuPer.healthz = cpu;
      results.healthz = r.rate;
      console.log(`  ${'baseline: GET /healthz (same stack, no OCSP)'.padEnd(48)} ${fmt(r.rate).padStart(8)} responses/s  (server CPU ${cpu.toFixed(1)} µs/response -> ${fmt(1e6 / cpu)}/s per core)`);
    }
    await measure('certgate cached, P-256 issuer', url, bodies('p256', false));
    await measure('certgate cached, RSA-2048 issuer', url, bodies('rsa', false));
    const liveP = await measure('certgate live + nonce, P-256 responder', url, bodies('p256', true));
    await measure('certgate live + nonce, RSA-2048 responder', url, bodies('rsa', true));
    const hits = svc.stats;

    // Same server with every log at warn. OCSP logs only failed answers by default
    // (CERTGATE_OCSP_ACCESS_LOG=errors), so this pair shows the run-to-run noise more than a cost.
    if (!opts.quick) {
      const level = ctx.log.level;
      ctx.log.level = 'warn';
      await measure('certgate cached, P-256, all logs at warn', url, bodies('p256', false));
      await measure('certgate live + nonce, P-256, all logs at warn', url, bodies('p256', true));
      ctx.log.level = level;
    }

    // The same OCSP routes on a bare Hono app (none of the core's middleware: request id + access log,
    // body limit): what the core's per-request work costs on this path.
    {
      const { Hono } = await import('hono');
      const { serve } = await import('@hono/node-server');
      const bare = new Hono();
      await ocsp.mount(bare as never, createProtocolContext(ctx, 'ocsp'));
      const s = serve({ fetch: bare.fetch, hostname: '127.0.0.1', port: 0 });
      await new Promise<void>((r) => (s.listening ? r() : s.once('listening', () => r())));
      const bareUrl = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
      for (const [key, label, nonce] of [
        ['bare', 'certgate cached, P-256, bare Hono (no core mw)', false],
        ['bareLive', 'certgate live + nonce, P-256, bare Hono', true],
      ] as const) {
        const c0 = process.cpuUsage();
        const r = await wrk(`${bareUrl}/ocsp`, bodies('p256', nonce), seconds, dir);
        const c = process.cpuUsage(c0);
        const cpu = (c.user + c.system) / Math.max(1, r.requests);
        cpuPer[key] = cpu;
        results[key] = r.rate;
        console.log(`  ${label.padEnd(48)} ${fmt(r.rate).padStart(8)} responses/s  (server CPU ${cpu.toFixed(1)} µs/response -> ${fmt(1e6 / cpu)}/s per core)`);
      }
      await new Promise<void>((r2) => s.close(() => r2()));
    }

    // Peers, over the same certificates and the same delegated P-256 responder.
    const issuer = issuers.p256;
    const [resp] = await ctx.db.select().from(ocspResponders).where(eq(ocspResponders.issuerId, issuer.id));
    const [sealed] = await ctx.db.select().from(sealedKeys).where(eq(sealedKeys.keyRef, resp.keyRef!));
    const files = writePeerFiles(dir, unseal(ctx.kek, sealed.sealed, resp.keyRef!), issuer, resp, serials.p256);
    let opensslRate: number | undefined;
    let cfsslRate: number | undefined;
    {
      const port = await freePort();
      const p = spawn('openssl', ['ocsp', '-index', files.index, '-port', String(port), '-rsigner', files.responderCert, '-rkey', files.responderKey, '-CA', files.issuerCert, '-nmin', '60', '-ignore_err'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      // Wait for its banner: a bare TCP probe can leave `openssl ocsp -ignore_err` spinning.
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`openssl ocsp did not start: ${err}`)), 15_000);
        p.stderr!.on('data', (d) => {
          err += d;
          if (err.includes('waiting for OCSP client connections')) {
            clearTimeout(t);
            resolve();
          }
        });
        p.on('exit', () => reject(new Error(`openssl ocsp exited: ${err}`)));
      });
      peers.push(p);
      const target = `http://127.0.0.1:${port}`;
      await checkOne(target, bodies('p256', true)[0], true);
      // wrk gets no answer from `openssl ocsp` (its HTTP/1.0 one-shot server); ApacheBench speaks
      // HTTP/1.0, one request per connection, as that server expects.
      if (has('ab', ['-V'])) {
        const bodyFile = join(dir, 'openssl-req.der');
        writeFileSync(bodyFile, bodies('p256', true)[0]);
        opensslRate = await ab(`${target}/`, bodyFile, seconds);
        results.openssl = opensslRate;
        console.log(`  ${'openssl ocsp -index (signs each; ab -c64, P-256)'.padEnd(48)} ${fmt(opensslRate).padStart(8)} responses/s`);
      } else {
        console.log('  ApacheBench (Debian apache2-utils) is not installed: openssl ocsp peer skipped');
      }
      p.kill();
    }
    if (has('cfssl', ['version'])) {
      // Feed cfssl Certgate's own pre-signed responses (one per certificate).
      const lines: string[] = [];
      for (const e of svc.cache.values()) if (e.issuerId === issuer.id) lines.push(e.der.toString('base64'));
      const respFile = join(dir, 'cfssl-responses.txt');
      writeFileSync(respFile, lines.join('\n') + '\n');
      const port = await freePort();
      const p = spawn('cfssl', ['ocspserve', '-address', '127.0.0.1', '-port', String(port), '-responses', respFile, '-loglevel', '5'], { stdio: 'ignore' });
      peers.push(p);
      await waitPort(port);
      const target = `http://127.0.0.1:${port}`;
      await checkOne(target, bodies('p256', false)[0], false);
      cfsslRate = await measure('cfssl ocspserve (pre-signed)', target, bodies('p256', false), false);
      p.kill();
    } else {
      console.log('  cfssl is not installed (Debian golang-cfssl): cfssl ocspserve peer skipped');
    }

    const cached = results['certgate cached, P-256 issuer'];
    console.log('  ratios:');
    if (cpuPer.healthz) console.log(`    server CPU per cached OCSP answer / per GET /healthz   ${(cpuPer['certgate cached, P-256 issuer'] / cpuPer.healthz).toFixed(2)}x`);
    if (cpuPer.bare) console.log(`    server CPU per cached answer, full app / bare Hono      ${(cpuPer['certgate cached, P-256 issuer'] / cpuPer.bare).toFixed(2)}x  (the core middleware's share)`);
    console.log(`    cached P-256 / bar 30,000             ${(cached / 30000).toFixed(2)}x`);
    console.log(`    live P-256 + nonce / bar 8,000         ${(liveP / 8000).toFixed(2)}x`);
    if (cfsslRate) console.log(`    cached P-256 / cfssl ocspserve         ${(cached / cfsslRate).toFixed(2)}x   (bare Hono: ${(results.bare / cfsslRate).toFixed(2)}x)`);
    if (opensslRate) console.log(`    live P-256 + nonce / openssl ocsp      ${(liveP / opensslRate).toFixed(2)}x   (bare Hono: ${(results.bareLive / opensslRate).toFixed(2)}x)`);
    console.log(`    bare Hono: cached / bar 30,000 ${(results.bare / 30000).toFixed(2)}x, live P-256 + nonce / bar 8,000 ${(results.bareLive / 8000).toFixed(2)}x`);
    console.log(`    live P-256 + nonce / XiPKI (3,600/s on 4 cores, published)  ${(liveP / 3600).toFixed(2)}x`);
    console.log(`  (cache hits ${fmt(hits.hits)}, misses ${fmt(hits.misses)}, live-signed ${fmt(hits.live)})`);
  } finally {
    for (const p of peers) p.kill();
    await stop?.();
    await ctx?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function has(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error;
}

async function issueLeaf(ctx: Context, issuerId: string, i: number): Promise<string> {
  const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const r = await ctx.pipeline.issue({
    principal: { id: 'bench', protocol: 'internal', authenticatedBy: 'local' },
    profile: 'tls-server',
    issuerId,
    key: { kind: 'spki', der: createPublicKey(kp.privateKey).export({ format: 'der', type: 'spki' }), pop: 'verified-by-protocol' },
    sans: [{ type: 'dns', value: `b${i}.${issuerId}.example` }],
  });
  if (r.status !== 'issued') throw new Error('bench: issuance failed');
  return r.certificate.serial;
}

function certId(issuer: Issuer, serial: string): Buffer {
  return encodeCertId({ hash: 'sha1', issuerNameHash: Buffer.from(issuer.hashes.nameSha1, 'hex'), issuerKeyHash: Buffer.from(issuer.hashes.keySha1, 'hex'), serial });
}

async function ab(url: string, bodyFile: string, seconds: number): Promise<number> {
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('ab', ['-q', '-l', '-c', '64', '-t', String(seconds), '-n', '10000000', '-p', bodyFile, '-T', 'application/ocsp-request', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let s = '';
    p.stdout.on('data', (d) => (s += d));
    p.stderr.on('data', (d) => (s += d));
    p.on('error', reject);
    p.on('close', () => resolve(s));
  });
  const rate = Number(/Requests per second:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  if (!Number.isFinite(rate)) throw new Error(`ab output not understood:\n${out}`);
  return rate;
}

async function wrkGet(url: string, seconds: number): Promise<{ rate: number; requests: number }> {
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('wrk', ['-t1', '-c64', `-d${seconds}s`, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let s = '';
    p.stdout.on('data', (d) => (s += d));
    p.on('error', reject);
    p.on('close', () => resolve(s));
  });
  return { rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0) };
}

/** Runs wrk with a Lua script that cycles through the request bodies. */
async function wrk(url: string, bodies: Buffer[], seconds: number, dir: string): Promise<{ rate: number; errors: number; requests: number }> {
  const lua = [
    'local bodies = {',
    ...bodies.map((b) => `  "${[...b].map((x) => '\\' + x).join('')}",`),
    '}',
    'local i = 0',
    'local headers = { ["Content-Type"] = "application/ocsp-request" }',
    'request = function()',
    '  i = i + 1',
    '  if i > #bodies then i = 1 end',
    '  return wrk.format("POST", nil, headers, bodies[i])',
    'end',
  ].join('\n');
  const script = join(dir, `wrk-${randomBytes(4).toString('hex')}.lua`);
  writeFileSync(script, lua);
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('wrk', ['-t1', '-c64', `-d${seconds}s`, '-s', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let s = '';
    p.stdout.on('data', (d) => (s += d));
    p.stderr.on('data', (d) => (s += d));
    p.on('error', reject);
    p.on('close', () => resolve(s));
  });
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  if (!Number.isFinite(rate)) throw new Error(`wrk output not understood:\n${out}`);
  return { rate, errors, requests };
}

/** The responder's files for the comparison responder (the bench reads its key from the key store's table). */
function writePeerFiles(dir: string, key: Buffer, issuer: Issuer, resp: typeof ocspResponders.$inferSelect, serials: string[]) {
  const responderKey = join(dir, 'responder.key');
  writeFileSync(responderKey, toPem(key, 'PRIVATE KEY'), { mode: 0o600 });
  const responderCert = join(dir, 'responder.pem');
  writeFileSync(responderCert, toPem(resp.certDer, 'CERTIFICATE'));
  const issuerCert = join(dir, 'issuer.pem');
  writeFileSync(issuerCert, toPem(issuer.certDer, 'CERTIFICATE'));
  const exp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  const notAfter = exp(new Date(Date.now() + 90 * 86400_000));
  const index = join(dir, 'index.txt');
  writeFileSync(index, serials.map((s, i) => `V\t${notAfter}\t\t${s.toUpperCase()}\tunknown\t/CN=b${i}.example`).join('\n') + '\n');
  writeFileSync(`${index}.attr`, 'unique_subject = no\n');
  return { responderKey, responderCert, issuerCert, index };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitPort(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on port ${port}`);
}
