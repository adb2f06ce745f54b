/**
 * The ACME benchmark's floor: the least work any Node.js server built like Certgate must do per
 * order, as a bare node:https program the benchmark's own client drives. Per order it answers the
 * same 5 requests as Certgate (newOrder, authorization, challenge, finalize, download), each with an
 * ES256 JWS verified and its nonce burnt in PostgreSQL (one statement each); the challenge resolves
 * the name and makes a real http-01 GET on a new connection, and stores its outcome (one statement);
 * finalize checks the CSR's signature (the key loaded by Certgate's own cheapest path), signs a
 * certificate and an OCSP response (P-256) and inserts the certificate (one statement): 7 statements, 6 verifications, 2 signatures, as Certgate on PostgreSQL. Everything
 * else lives in memory and is skipped: no framework, no problem documents, no profile or name checks,
 * no real X.509 (a template is signed), no logs or metrics. Not a server to use: a yardstick for
 * what the benchmark's bar asks of Node.js + PostgreSQL on this machine.
 *
 *   node --import tsx bench/acme-floor-server.ts <cert.pem> <key.pem> <database url> <port> <http-01 port>
 */
import { createHash, createHmac, createPublicKey, generateKeyPairSync, randomBytes, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type ServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import postgres from 'postgres';
import { readTlv } from '../src/pki/der.ts';
import { importSpki } from '../src/pki/keyinfo.ts';

const [certFile, keyFile, dbUrl, portArg, http01Port] = process.argv.slice(2);
const sql = postgres(dbUrl, { max: 4, onnotice: () => {} });
await sql`create table if not exists floor_nonces (nonce text primary key, expires timestamptz not null)`;
await sql`create table if not exists floor_outcomes (id text primary key, status text not null, validated timestamptz not null)`;
await sql`create table if not exists floor_certs (id text primary key, der bytea not null, meta jsonb not null)`;

const caKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const macKey = randomBytes(32);
let base = '';

interface Order { id: string; authz: string; token: string; status: string; cert?: string }
const accounts = new Map<string, { key: KeyObject; thumbprint: string }>();
const orders = new Map<string, Order>();
const byAuthz = new Map<string, Order>();
const certs = new Map<string, string>();

const id = () => randomBytes(12).toString('base64url');
function nonce(): string {
  const b = Buffer.allocUnsafe(32);
  randomBytes(12).copy(b, 0);
  b.writeUInt32BE(Math.floor(Date.now() / 1000) + 3600, 12);
  createHmac('sha256', macKey).update(b.subarray(0, 16)).digest().copy(b, 16, 0, 16);
  return b.toString('base64url');
}
function nonceOk(n: unknown): boolean {
  if (typeof n !== 'string' || n.length !== 43) return false;
  const b = Buffer.from(n, 'base64url');
  return b.length === 32 && timingSafeEqual(createHmac('sha256', macKey).update(b.subarray(0, 16)).digest().subarray(0, 16), b.subarray(16));
}

function send(res: ServerResponse, status: number, body: unknown, location?: string, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string | number> = { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text), 'Replay-Nonce': nonce(), 'Cache-Control': 'no-store', Link: `<${base}/dir>;rel="index"` };
  if (location) headers.Location = location;
  res.writeHead(status, headers).end(text);
}

/** The identifier resolved (as validation must), then a GET on a new connection. */
async function http01(token: string): Promise<string> {
  const [addr] = await lookup('localhost', { all: true, verbatim: true });
  return new Promise((resolve, reject) => {
    const r = request({ host: addr.address, family: addr.family, headers: { Host: 'localhost' }, port: Number(http01Port), path: `/.well-known/acme-challenge/${token}`, agent: false }, (m) => {
      let s = '';
      m.setEncoding('utf8').on('data', (d: string) => (s += d)).on('end', () => resolve(s));
    });
    r.on('error', reject).end();
  });
}

/** The CSR's signature checked with its own key (ecdsa-with-SHA256, as the benchmark sends). */
function checkCsr(csr: Buffer): boolean {
  const outer = readTlv(csr, 0);
  const info = readTlv(csr, outer.start);
  const alg = readTlv(csr, info.end);
  const sig = readTlv(csr, alg.end);
  let p = readTlv(csr, info.start).end; // version
  p = readTlv(csr, p).end; // subject
  const spki = readTlv(csr, p);
  const key = importSpki(csr.subarray(p, spki.end)); // Certgate's own loader: the cheapest node:crypto path
  return verify('sha256', csr.subarray(outer.start, info.end), key, csr.subarray(sig.start + 1, sig.end));
}

const orderJson = (o: Order) => ({
  status: o.status,
  expires: new Date(Date.now() + 7 * 86400_000).toISOString(),
  identifiers: [{ type: 'dns', value: 'localhost' }],
  authorizations: [`${base}/authz/${o.authz}`],
  finalize: `${base}/order/${o.id}/finalize`,
  ...(o.cert ? { certificate: `${base}/cert/${o.cert}` } : {}),
});

async function post(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
  const jws = JSON.parse(raw) as { protected: string; payload: string; signature: string };
  const hdr = JSON.parse(Buffer.from(jws.protected, 'base64url').toString()) as { alg: string; nonce: string; url: string; kid?: string; jwk?: Record<string, string> };
  const url = `${base}${req.url}`;
  if (hdr.alg !== 'ES256' || hdr.url !== url || !nonceOk(hdr.nonce)) return send(res, 400, { type: 'urn:ietf:params:acme:error:malformed' });
  const acct = hdr.kid ? accounts.get(hdr.kid) : undefined;
  const key = acct?.key ?? (hdr.jwk && req.url === '/new-acct' ? createPublicKey({ key: hdr.jwk, format: 'jwk' }) : undefined);
  if (!key || !verify('sha256', Buffer.from(`${jws.protected}.${jws.payload}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(jws.signature, 'base64url'))) {
    return send(res, 401, { type: 'urn:ietf:params:acme:error:unauthorized' });
  }
  const burnt = await sql`insert into floor_nonces (nonce, expires) values (${hdr.nonce}, now() + interval '1 hour') on conflict do nothing returning 1`;
  if (burnt.length !== 1) return send(res, 400, { type: 'urn:ietf:params:acme:error:badNonce' });
  const payload = jws.payload ? JSON.parse(Buffer.from(jws.payload, 'base64url').toString()) : undefined;
  const [, kind, ref, action] = req.url!.split('/');
  if (kind === 'new-acct') {
    const kid = `${base}/acct/${id()}`;
    const j = hdr.jwk!; // RFC 7638 thumbprint of an EC key: its required members in order
    const thumbprint = createHash('sha256').update(JSON.stringify({ crv: j.crv, kty: j.kty, x: j.x, y: j.y })).digest('base64url');
    accounts.set(kid, { key, thumbprint });
    return send(res, 201, { status: 'valid' }, kid);
  }
  if (kind === 'new-order') {
    const o: Order = { id: id(), authz: id(), token: id() + id(), status: 'pending' };
    orders.set(o.id, o);
    byAuthz.set(o.authz, o);
    return send(res, 201, orderJson(o), `${base}/order/${o.id}`);
  }
  if (kind === 'authz') {
    const o = byAuthz.get(ref)!;
    const st = o.status === 'pending' || o.status === 'invalid' ? o.status : 'valid';
    return send(res, 200, { status: st, identifier: { type: 'dns', value: 'localhost' }, challenges: [{ type: 'http-01', url: `${base}/chal/${ref}`, token: o.token, status: st }] });
  }
  if (kind === 'chal') {
    const o = byAuthz.get(ref)!;
    const ok = (await http01(o.token)) === `${o.token}.${acct!.thumbprint}`;
    await sql`insert into floor_outcomes (id, status, validated) values (${ref}, ${ok ? 'valid' : 'invalid'}, now())`;
    o.status = ok ? 'ready' : 'invalid';
    return send(res, 200, { type: 'http-01', url, token: o.token, status: ok ? 'valid' : 'invalid' });
  }
  if (kind === 'order' && action === 'finalize') {
    const o = orders.get(ref)!;
    const csr = Buffer.from((payload as { csr: string }).csr, 'base64url');
    if (!checkCsr(csr)) return send(res, 400, { type: 'urn:ietf:params:acme:error:badCSR' });
    const tbs = Buffer.concat([randomBytes(20), csr]); // stands for the TBSCertificate
    const der = Buffer.concat([tbs, sign('sha256', tbs, caKey)]);
    sign('sha256', der.subarray(0, 160), caKey); // the pre-signed OCSP response
    o.cert = id();
    await sql`insert into floor_certs (id, der, meta) values (${o.cert}, ${der}, ${sql.json({ order: o.id })})`;
    certs.set(o.cert, `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`);
    o.status = 'valid';
    return send(res, 200, orderJson(o), `${base}/order/${o.id}`);
  }
  if (kind === 'cert') return send(res, 200, certs.get(ref)!, undefined, 'application/pem-certificate-chain');
  return send(res, 404, { type: 'urn:ietf:params:acme:error:malformed' });
}

const options: ServerOptions = { cert: readFileSync(certFile), key: readFileSync(keyFile), keepAliveTimeout: 30_000 };
const server = createServer(options, (req, res) => {
  if (req.method === 'GET' && req.url === '/dir') {
    return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ newNonce: `${base}/nonce`, newAccount: `${base}/new-acct`, newOrder: `${base}/new-order` }));
  }
  if (req.url === '/nonce') return void res.writeHead(200, { 'Replay-Nonce': nonce(), 'Cache-Control': 'no-store', 'Content-Length': 0 }).end();
  const chunks: Buffer[] = [];
  req.on('data', (d: Buffer) => chunks.push(d)).on('end', () => {
    post(req, res, Buffer.concat(chunks).toString()).catch(() => {
      if (!res.headersSent) send(res, 500, { type: 'urn:ietf:params:acme:error:serverInternal' });
    });
  });
});
server.listen(Number(portArg), '127.0.0.1', () => {
  base = `https://localhost:${portArg}`;
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => server.close(() => void sql.end().then(() => process.exit(0))));
