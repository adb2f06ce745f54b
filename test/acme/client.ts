/**
 * A small ACME client for tests and the benchmark: JWS made with jose, any fetch (real HTTP or
 * Hono's app.request), and a tiny http-01 responder on 127.0.0.1.
 */
import type { webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlattenedSign, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export interface AcmeKey {
  alg: 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'EdDSA';
  privateKey: webcrypto.CryptoKey | Uint8Array;
  publicKey: webcrypto.CryptoKey;
  jwk: JWK;
  thumbprint: string;
}

export async function newKey(alg: AcmeKey['alg'] = 'ES256'): Promise<AcmeKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const full = await exportJWK(publicKey);
  const jwk: JWK =
    full.kty === 'RSA' ? { kty: 'RSA', n: full.n, e: full.e } : full.kty === 'OKP' ? { kty: 'OKP', crv: full.crv, x: full.x } : { kty: 'EC', crv: full.crv, x: full.x, y: full.y };
  return { alg, privateKey, publicKey, jwk, thumbprint: await calculateJwkThumbprint(jwk, 'sha256') };
}

export interface AcmeResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
  location?: string;
}

export interface SignOptions {
  /** Sign with `jwk` instead of `kid`. */
  jwk?: boolean;
  kid?: string;
  nonce?: string;
  url?: string;
  alg?: string;
  /** Extra protected header members. */
  extra?: Record<string, unknown>;
  key?: AcmeKey;
}

export async function signJws(key: AcmeKey, header: Record<string, unknown>, payload: unknown): Promise<Record<string, string>> {
  const bytes = payload === '' ? new Uint8Array(0) : new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return (await new FlattenedSign(bytes).setProtectedHeader(header as never).sign(key.privateKey)) as unknown as Record<string, string>;
}

export class AcmeClient {
  dir!: Record<string, any>;
  kid?: string;
  private nonces: string[] = [];

  constructor(
    readonly directoryUrl: string,
    public key: AcmeKey,
    readonly fetchFn: Fetch = (u, i) => fetch(u, i),
  ) {}

  async init(): Promise<this> {
    const r = await this.fetchFn(this.directoryUrl, { method: 'GET' });
    this.dir = (await r.json()) as Record<string, any>;
    return this;
  }

  async nonce(): Promise<string> {
    const n = this.nonces.pop();
    if (n) return n;
    const r = await this.fetchFn(this.dir.newNonce, { method: 'HEAD' });
    const got = r.headers.get('replay-nonce');
    if (!got) throw new Error('no Replay-Nonce from newNonce');
    return got;
  }

  /** Signs and POSTs; `payload` '' is POST-as-GET. Retries once on badNonce unless `nonce` is forced. */
  async post(url: string, payload: unknown, o: SignOptions = {}): Promise<AcmeResponse> {
    for (let attempt = 0; ; attempt++) {
      const key = o.key ?? this.key;
      const header: Record<string, unknown> = { alg: o.alg ?? key.alg, nonce: o.nonce ?? (await this.nonce()), url: o.url ?? url, ...o.extra };
      if (o.jwk) header.jwk = key.jwk;
      else header.kid = o.kid ?? this.kid;
      const body = await signJws(key, header, payload);
      const r = await this.fetchFn(url, { method: 'POST', headers: { 'Content-Type': 'application/jose+json' }, body: JSON.stringify(body) });
      const res = await toResponse(r);
      const n = r.headers.get('replay-nonce');
      if (n) this.nonces.push(n);
      if (res.status === 400 && res.json?.type === 'urn:ietf:params:acme:error:badNonce' && !o.nonce && attempt === 0) continue;
      return res;
    }
  }

  async newAccount(payload: Record<string, unknown> = { termsOfServiceAgreed: true }): Promise<AcmeResponse> {
    const r = await this.post(this.dir.newAccount, payload, { jwk: true });
    if (r.location && (r.status === 201 || r.status === 200)) this.kid = r.location;
    return r;
  }

  newOrder(identifiers: { type: string; value: string }[], extra: Record<string, unknown> = {}) {
    return this.post(this.dir.newOrder, { identifiers, ...extra });
  }

  get(url: string) {
    return this.post(url, '');
  }

  keyAuthorization(token: string): string {
    return `${token}.${this.key.thumbprint}`;
  }

  /** Polls a resource (POST-as-GET) until its status leaves `pending`/`processing`, backing off from `intervalMs` (doubling, up to 100 ms). */
  async poll(url: string, { intervalMs = 20, timeoutMs = 30_000 } = {}): Promise<AcmeResponse> {
    const end = Date.now() + timeoutMs;
    let wait = intervalMs;
    for (;;) {
      const r = await this.get(url);
      if (r.status !== 200 || !['pending', 'processing'].includes(r.json?.status)) return r;
      if (Date.now() > end) throw new Error(`timed out polling ${url} (status ${r.json?.status})`);
      await new Promise((res) => setTimeout(res, wait));
      wait = Math.min(wait * 2, Math.max(intervalMs, 100));
    }
  }
}

async function toResponse(r: Response): Promise<AcmeResponse> {
  const text = await r.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json, location: r.headers.get('location') ?? undefined };
}

/** An http-01 responder: serves /.well-known/acme-challenge/<token> from a map. */
export class Http01Responder {
  readonly tokens = new Map<string, string>();
  /** Tokens answered only after this many milliseconds (a slow web server). */
  readonly delays = new Map<string, number>();
  server!: Server;
  port = 0;
  requests = 0;

  async start(port = 0, host = '127.0.0.1'): Promise<this> {
    this.server = createServer((req, res) => {
      this.requests++;
      const m = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
      const v = m ? this.tokens.get(m[1]) : undefined;
      if (!v) {
        res.writeHead(404).end('not found');
        return;
      }
      const answer = () => res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(v);
      const delay = this.delays.get(m![1]);
      if (delay) setTimeout(answer, delay);
      else answer();
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A complete order: newOrder, each authorization's http-01 answered by `responder`, finalize
 * with `csrDer`, poll, download. Returns the PEM chain and the order URL.
 */
export async function completeOrder(
  client: AcmeClient,
  responder: Http01Responder,
  identifiers: { type: string; value: string }[],
  csrDer: Uint8Array,
  pollMs = 20,
): Promise<{ pem: string; orderUrl: string; certUrl: string }> {
  const o = await client.newOrder(identifiers);
  if (o.status !== 201) throw new Error(`newOrder: ${o.status} ${o.text}`);
  const orderUrl = o.location!;
  for (const authzUrl of o.json.authorizations as string[]) {
    const a = await client.get(authzUrl);
    if (a.json.status === 'valid') continue;
    const ch = (a.json.challenges as any[]).find((c) => c.type === 'http-01');
    if (!ch) throw new Error('no http-01 challenge');
    responder.tokens.set(ch.token, client.keyAuthorization(ch.token));
    const r = await client.post(ch.url, {});
    if (r.status !== 200) throw new Error(`challenge: ${r.status} ${r.text}`);
    // A server may answer with the validation's outcome (as lego does, no poll then).
    const done = r.json?.status === 'valid' ? { json: { status: 'valid' } } : await client.poll(authzUrl, { intervalMs: pollMs });
    responder.tokens.delete(ch.token);
    if (done.json?.status !== 'valid') throw new Error(`authorization ${done.json?.status}: ${JSON.stringify(done.json)}`);
  }
  const f = await client.post(o.json.finalize, { csr: Buffer.from(csrDer).toString('base64url') });
  if (f.status !== 200) throw new Error(`finalize: ${f.status} ${f.text}`);
  // An order already valid in the finalize answer needs no poll (lego and certbot check this too).
  const fin = f.json?.status === 'valid' ? f : await client.poll(orderUrl, { intervalMs: pollMs });
  if (fin.json?.status !== 'valid') throw new Error(`order ${fin.json?.status}: ${JSON.stringify(fin.json)}`);
  const cert = await client.get(fin.json.certificate);
  if (cert.status !== 200) throw new Error(`certificate: ${cert.status} ${cert.text}`);
  return { pem: cert.text, orderUrl, certUrl: fin.json.certificate };
}
