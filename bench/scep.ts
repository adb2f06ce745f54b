/**
 * SCEP PKCSReq enrolments per second (issue: ≥ 10 × micromdm's scepserver), at 4 and 16
 * concurrent clients, against Certgate and against micromdm's `scepserver` (Debian `scep`) on
 * the same machine, driven by the same Node client. Each message is what scepclient sends: a
 * real RSA-2048 requester key, a self-signed signer certificate, a CSR with the challenge,
 * AES-256-CBC envelope, SHA-256; the messages are built before the clock starts, so the
 * figures measure the servers. Every reply is checked: signature, SUCCESS, the transaction echoed.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageType } from '../protocols/scep/attributes.ts';
import { buildCsr } from '../src/pki/csr.ts';
import { subjectAltName } from '../src/pki/extensions.ts';
import { parseSignedData, verifySigner } from '../src/pki/cms.ts';
import { encodeName, toEncodedAttributes } from '../src/pki/name.ts';
import { fromPem } from '../src/pki/pem.ts';
import { decodeCertRepAttributes } from '../protocols/scep/attributes.ts';
import { pkiMessage, rsaKey, selfSigned } from '../test/scep/client.ts';
import { fmt, pgReachable, freshDb, percentile } from './support.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const CHALLENGE = 'bench-challenge';
const BASE_PORT = Number(process.env.BENCH_SCEP_PORT ?? 19290);

interface Peer {
  name: string;
  url: string;
  /** The certificate the envelopes are made for (RA, or the CA without an RA). */
  recipient: Buffer;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

/** Keep-alive connections of one measured run (a fresh pool each run: no socket left idle past the server's keep-alive timeout). */
let agent = new Agent({ keepAlive: true, maxSockets: 64 });
function http(method: 'GET' | 'POST', url: string, body?: Buffer): Promise<{ status: number; body: Buffer; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: body ? { 'content-type': 'application/x-pki-message', 'content-length': String(body.length) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), type: String(res.headers['content-type'] ?? '') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`${url}: no answer within 30 s`)));
    req.end(body);
  });
}

async function waitUp(url: string, child: ChildProcess, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited`);
    try {
      if ((await http('GET', `${url}?operation=GetCACaps`)).status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The RA (first certificate of a CA/RA bundle) or the lone CA certificate. */
async function recipientOf(url: string): Promise<Buffer> {
  const r = await http('GET', `${url}?operation=GetCACert`);
  if (r.status !== 200) throw new Error(`GetCACert: HTTP ${r.status}`);
  return r.type.includes('ca-ra-cert') ? parseSignedData(r.body).certificates[0] : r.body;
}

async function startCertgate(work: string, databaseUrl: string | undefined): Promise<Peer> {
  const port = BASE_PORT;
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  else delete env.DATABASE_URL;
  const child = spawn(process.execPath, [join(repo, 'bin/certgate.mjs'), 'serve'], {
    cwd: repo,
    env: {
      ...env,
      CERTGATE_DATA_DIR: join(work, 'certgate'),
      CERTGATE_HOST: '127.0.0.1',
      CERTGATE_HTTP_PORT: String(port),
      CERTGATE_HTTPS_PORT: String(port + 1),
      CERTGATE_LOG_LEVEL: 'warn',
      CERTGATE_SCEP_CHALLENGE: CHALLENGE,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}/scep`;
  await waitUp(url, child);
  return { name: `Certgate/${databaseUrl ? 'PostgreSQL' : 'PGlite'}`, url, recipient: await recipientOf(url), stop: () => stopChild(child) };
}

export async function startScepserver(work: string): Promise<Peer | undefined> {
  try {
    execFileSync('scepserver', ['-version'], { stdio: 'ignore' });
  } catch {
    console.log('  micromdm scepserver is not installed (apt-get install -y scep): no peer figures');
    return undefined;
  }
  const depot = join(work, 'depot');
  execFileSync('scepserver', ['ca', '-init', '-depot', depot, '-keySize', '2048'], { stdio: 'ignore', cwd: work });
  const port = BASE_PORT + 2;
  const child = spawn('scepserver', ['-depot', depot, '-port', String(port), '-challenge', CHALLENGE], { cwd: work, stdio: ['ignore', 'ignore', process.env.BENCH_SCEP_PEER_LOG ? 'inherit' : 'ignore'] });
  const url = `http://127.0.0.1:${port}/scep`;
  await waitUp(url, child);
  return { name: 'micromdm scepserver', url, recipient: await recipientOf(url), stop: () => stopChild(child) };
}

interface Prepared {
  der: Buffer;
  tid: string;
  signer: Buffer;
}

/** `n` PKCSReq messages for `peer`, from a pool of RSA-2048 keys (each message its own transaction). */
export async function prepare(peer: Peer, n: number, keys: { key: ReturnType<typeof rsaKey>; cert: Buffer }[]): Promise<Prepared[]> {
  const out: Prepared[] = [];
  for (let i = 0; i < n; i++) {
    const k = keys[i % keys.length];
    const tid = randomBytes(12).toString('hex');
    // A host name as CN and DNS SAN: the `device` profile (serverAuth too) needs both.
    const host = `bench-${tid.slice(0, 12)}.example`;
    const csr = buildCsr({
      subject: encodeName(toEncodedAttributes([{ type: 'CN', value: host }])),
      key: k.key,
      challengePassword: CHALLENGE,
      extensions: [subjectAltName([{ type: 'dns', value: host }])],
    });
    const m = await pkiMessage({ messageType: MessageType.PKCSReq, transactionID: tid, content: csr, recipientCert: peer.recipient, cipher: 'aes-256-cbc', digest: 'sha256', signerCert: k.cert, signerKey: k.key });
    out.push({ der: m.der, tid, signer: k.cert });
  }
  return out;
}

export async function measure(peer: Peer, messages: Prepared[], concurrency: number) {
  agent.destroy();
  agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let next = 0;
  const lat: number[] = [];
  let failures = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < messages.length) {
        const m = messages[next++];
        const s = performance.now();
        const r = await http('POST', `${peer.url}?operation=PKIOperation`, m.der);
        lat.push(performance.now() - s);
        try {
          if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
          const sd = parseSignedData(r.body);
          if (!verifySigner(sd, 0).ok) throw new Error('bad CertRep signature');
          const a = decodeCertRepAttributes(sd.signers[0].signedAttrs);
          if (a.status !== 0 || a.transactionID !== m.tid) throw new Error(`pkiStatus ${a.status} failInfo ${a.failInfo}`);
        } catch (e) {
          if (failures++ === 0) console.log(`  ${peer.name}: first failure: ${(e as Error).message}`);
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  // Enrolments that succeeded per second (micromdm's file depot loses some to a serial-file race under concurrency).
  return { rate: (messages.length - failures) / secs, p50: percentile(lat, 50), p99: percentile(lat, 99), failures };
}

export async function run(opts: { quick: boolean }): Promise<void> {
  console.log('\n## SCEP: PKCSReq enrolments/s (RSA-2048 requester, AES-256-CBC, SHA-256; bar ≥ 10 × micromdm scepserver)');
  const work = mkdtempSync(join(tmpdir(), 'certgate-bench-scep-'));
  const db = (await pgReachable()) ? await freshDb('postgres') : undefined;
  const peers: Peer[] = [];
  try {
    const t = performance.now();
    const keys = Array.from({ length: opts.quick ? 4 : 16 }, () => {
      const key = rsaKey(2048);
      return { key, cert: selfSigned(key) };
    });
    console.log(`  ${keys.length} RSA-2048 requester keys in ${fmt((performance.now() - t) / 1000, 1)} s`);
    const certgate = await startCertgate(work, db?.url);
    peers.push(certgate);
    const micromdm = await startScepserver(work);
    if (micromdm) peers.push(micromdm);
    const counts: Record<string, number> = { Certgate: opts.quick ? 200 : 1500, micromdm: opts.quick ? 100 : 400 };
    const results: Record<string, Record<number, number>> = {};
    for (const concurrency of [4, 16]) {
      for (const peer of peers) {
        const n = peer === certgate ? counts.Certgate : counts.micromdm;
        // Warm-up (JIT, connections, caches), then the measured run.
        await measure(peer, await prepare(peer, Math.min(50, n), keys), concurrency);
        const r = await measure(peer, await prepare(peer, n, keys), concurrency);
        (results[peer.name] ??= {})[concurrency] = r.rate;
        console.log(`  ${peer.name.padEnd(22)} c=${String(concurrency).padStart(2)}: ${fmt(r.rate, 1).padStart(7)} enrolments/s  p50 ${fmt(r.p50, 1)} ms  p99 ${fmt(r.p99, 1)} ms  (${n} requests, ${r.failures} failed)`);
      }
      if (micromdm) {
        const ratio = results[certgate.name][concurrency] / results[micromdm.name][concurrency];
        console.log(`  ratio Certgate / scepserver at c=${concurrency}: ${fmt(ratio, 2)} × (bar 10 ×)`);
      }
    }
  } finally {
    for (const p of peers) await p.stop();
    await db?.drop();
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
}

// `node --import tsx bench/scep.ts [--quick]` runs this part alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run({ quick: process.argv.includes('--quick') }).then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
